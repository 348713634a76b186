"""the network's contacts: people's contact details and what they show, focal points,
what a community publishes in the public directory

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 15:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_focal_point', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('position', sa.String(length=160), server_default='', nullable=False))
        batch_op.add_column(sa.Column('phone', sa.String(length=40), server_default='', nullable=False))
        batch_op.add_column(sa.Column('show_email', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('show_phone', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('show_position', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_users_focal_point'), 'NOT is_focal_point OR community_id IS NOT NULL'
        )
    with op.batch_alter_table('communities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), server_default='', nullable=False))
        batch_op.add_column(sa.Column('publish_focal_points', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_communities_contact_email'), "contact_email = '' OR contact_email LIKE '%_@_%'"
        )


def downgrade():
    with op.batch_alter_table('communities', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_communities_contact_email'), type_='check')
        batch_op.drop_column('publish_focal_points')
        batch_op.drop_column('contact_email')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_focal_point'), type_='check')
        batch_op.drop_column('show_position')
        batch_op.drop_column('show_phone')
        batch_op.drop_column('show_email')
        batch_op.drop_column('phone')
        batch_op.drop_column('position')
        batch_op.drop_column('is_focal_point')
