"""Uptime coverage: monitoring gaps, and daily rollups in the page's local days

monitoring_gap records stretches when no worker ran checks (not monitored: left out of uptime).
component_uptime_day.time_zone says which zone's local day a rollup row covers; existing rows were
computed in UTC days, so they keep 'UTC' and are recomputed by the rollup job when the page's zone
differs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 10:00:00

"""
import sqlalchemy as sa
from alembic import op

import statuspage.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('monitoring_gap',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', statuspage.db.UTCDateTime(), nullable=False),
    sa.Column('ended_at', statuspage.db.UTCDateTime(), nullable=False),
    sa.Column('recorded_at', statuspage.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_gap')),
    sa.UniqueConstraint('started_at', name=op.f('uq_monitoring_gap_started_at'))
    )
    with op.batch_alter_table('monitoring_gap', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monitoring_gap_ended_at'), ['ended_at'], unique=False)
    with op.batch_alter_table('component_uptime_day', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), server_default='UTC', nullable=False))


def downgrade():
    with op.batch_alter_table('component_uptime_day', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
    with op.batch_alter_table('monitoring_gap', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monitoring_gap_ended_at'))
    op.drop_table('monitoring_gap')
