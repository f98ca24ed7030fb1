"""probe engine (issue 13): the current hour's run figures on each check, p99 and a latency histogram on
rollups, and the check loop's own figures on the worker heartbeat

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 20:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('check_def', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hour_stats', sa.JSON(), nullable=True))
    with op.batch_alter_table('check_rollup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('p99_ms', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('latency_hist', sa.JSON(), nullable=True))
    with op.batch_alter_table('worker_heartbeat', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stats', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('worker_heartbeat', schema=None) as batch_op:
        batch_op.drop_column('stats')
    with op.batch_alter_table('check_rollup', schema=None) as batch_op:
        batch_op.drop_column('latency_hist')
        batch_op.drop_column('p99_ms')
    with op.batch_alter_table('check_def', schema=None) as batch_op:
        batch_op.drop_column('hour_stats')
