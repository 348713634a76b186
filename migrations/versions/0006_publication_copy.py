"""publication requests record the public copy submitted

A request pending before this migration has no recorded copy: approval refuses it
(409) until its coordinator submits the item again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 06:07:48.856632

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('publication_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_copy', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('publication_requests', schema=None) as batch_op:
        batch_op.drop_column('public_copy')
