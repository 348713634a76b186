"""public download and search counters

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('public_counts',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('metric', sa.String(length=16), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.CheckConstraint("metric IN ('download', 'search')", name=op.f('ck_public_counts_metric')),
    sa.PrimaryKeyConstraint('day', 'metric', 'community_id', name=op.f('pk_public_counts'))
    )


def downgrade():
    op.drop_table('public_counts')
