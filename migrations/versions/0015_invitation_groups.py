"""invitations: several working groups, and the focal point of a community

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 16:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('invitation_groups',
    sa.Column('invitation_id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitations.id'], name=op.f('fk_invitation_groups_invitation_id_invitations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_invitation_groups_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('invitation_id', 'workspace_id', name=op.f('pk_invitation_groups'))
    )
    with op.batch_alter_table('invitation_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_groups_workspace_id'), ['workspace_id'], unique=False)
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_focal_point', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_column('is_focal_point')
    with op.batch_alter_table('invitation_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_groups_workspace_id'))
    op.drop_table('invitation_groups')
