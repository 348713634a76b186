"""items: an index for a group's newest changed items of one kind

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 15:20:00

"""
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index(
            'ix_items_workspace_id_kind_updated_at',
            ['workspace_id', 'kind', 'updated_at', 'id'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_workspace_id_kind_updated_at')
