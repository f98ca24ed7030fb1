"""Statuspage compatibility: a stable random page id, page.created_at, who owns each component and
group (config | api | import), and the import mapping table

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 10:00:00

"""
import secrets
import string

import sqlalchemy as sa
from alembic import op

import statuspage.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_ALPHABET = string.ascii_lowercase + string.digits


def upgrade():
    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_at', statuspage.db.UTCDateTime(), nullable=True))
    page = sa.table('page', sa.column('id', sa.Integer), sa.column('public_id', sa.String),
                    sa.column('created_at', statuspage.db.UTCDateTime()), sa.column('updated_at',
                                                                              statuspage.db.UTCDateTime()))
    conn = op.get_bind()
    for row in conn.execute(sa.select(page.c.id, page.c.public_id, page.c.updated_at)).all():
        values = {'created_at': row.updated_at or sa.func.current_timestamp()}
        # The old default was the placeholder "page": give the page a stable id of its own, once.
        if not row.public_id or row.public_id == 'page':
            values['public_id'] = ''.join(secrets.choice(_ALPHABET) for _ in range(12))
        conn.execute(page.update().where(page.c.id == row.id).values(**values))
    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.alter_column('created_at', existing_type=statuspage.db.UTCDateTime(), nullable=False)

    for table in ('component', 'component_group'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('source', sa.String(length=20), nullable=False,
                                          server_default='config'))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('source', existing_type=sa.String(length=20), server_default=None)

    op.create_table(
        'import_mapping',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('source_page_id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('source_id', sa.String(length=64), nullable=False),
        sa.Column('local_id', sa.String(length=64), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('created_at', statuspage.db.UTCDateTime(), nullable=False),
        sa.Column('updated_at', statuspage.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_mapping')),
        sa.UniqueConstraint('source_id', 'kind', 'source_page_id', 'source',
                            name=op.f('uq_import_mapping_source_id_kind_source_page_id_source')),
    )


def downgrade():
    op.drop_table('import_mapping')
    for table in ('component_group', 'component'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('source')
    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.drop_column('created_at')
