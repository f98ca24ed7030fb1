"""Probe locations with quorum: where each check is probed from, per-location states, probe agents,
results keyed by (check, slot, location), probe tokens bound to a location, account locations,
stretches when a component's quorum could not be decided (not monitored)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 04:30:00

"""
import sqlalchemy as sa
from alembic import op

import statuspage.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'probe_location',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('slug', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=True),
        sa.Column('stale_after_seconds', sa.Float(), nullable=True),
        sa.Column('last_report_at', statuspage.db.UTCDateTime(), nullable=True),
        sa.Column('agent_version', sa.String(length=50), nullable=True),
        sa.Column('agent_host', sa.String(length=200), nullable=True),
        sa.Column('agent_address', sa.String(length=64), nullable=True),
        sa.Column('buffer_depth', sa.Integer(), nullable=True),
        sa.Column('oldest_buffered_at', statuspage.db.UTCDateTime(), nullable=True),
        sa.Column('dropped', sa.Integer(), nullable=True),
        sa.Column('last_lag_seconds', sa.Float(), nullable=True),
        sa.Column('results_received', sa.Integer(), nullable=False),
        sa.Column('stale_since', statuspage.db.UTCDateTime(), nullable=True),
        sa.Column('created_at', statuspage.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_probe_location')),
        sa.UniqueConstraint('slug', name=op.f('uq_probe_location_slug')),
    )
    op.create_table(
        'check_location',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('check_id', sa.Integer(), nullable=False),
        sa.Column('location', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('status_since', statuspage.db.UTCDateTime(), nullable=True),
        sa.Column('state', sa.JSON(), nullable=False),
        sa.Column('last_slot', statuspage.db.UTCDateTime(), nullable=True),
        sa.Column('last_run_at', statuspage.db.UTCDateTime(), nullable=True),
        sa.Column('last_result', sa.JSON(), nullable=True),
        sa.Column('recent_latency', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['check_id'], ['check_def.id'], name=op.f('fk_check_location_check_id_check_def'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_check_location')),
        sa.UniqueConstraint('check_id', 'location', name=op.f('uq_check_location_check_id_location')),
    )
    op.create_table(
        'component_monitoring_delay',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('component_id', sa.Integer(), nullable=False),
        sa.Column('started_at', statuspage.db.UTCDateTime(), nullable=False),
        sa.Column('ended_at', statuspage.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['component_id'], ['component.id'],
                                name=op.f('fk_component_monitoring_delay_component_id_component'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_component_monitoring_delay')),
        sa.UniqueConstraint('component_id', 'started_at',
                            name=op.f('uq_component_monitoring_delay_component_id_started_at')),
    )
    with op.batch_alter_table('check_def', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locations', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('quorum', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('on_partial', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('probe_local', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('status_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('monitoring_delayed', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('partial_failures', sa.JSON(), nullable=True))
    with op.batch_alter_table('check_result', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location', sa.String(length=64), nullable=False, server_default='local'))
        batch_op.drop_constraint('uq_check_result_check_id_scheduled_for', type_='unique')
        batch_op.create_unique_constraint(op.f('uq_check_result_check_id_scheduled_for_location'),
                                          ['check_id', 'scheduled_for', 'location'])
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location', sa.String(length=64), nullable=True))
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locations', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('locations')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('location')
    with op.batch_alter_table('check_result', schema=None) as batch_op:
        batch_op.drop_constraint('uq_check_result_check_id_scheduled_for_location', type_='unique')
        batch_op.create_unique_constraint('uq_check_result_check_id_scheduled_for', ['check_id', 'scheduled_for'])
        batch_op.drop_column('location')
    with op.batch_alter_table('check_def', schema=None) as batch_op:
        for column in ('partial_failures', 'monitoring_delayed', 'status_reason', 'probe_local', 'on_partial',
                       'quorum', 'locations'):
            batch_op.drop_column(column)
    op.drop_table('component_monitoring_delay')
    op.drop_table('check_location')
    op.drop_table('probe_location')
