"""users: how notifications reach them by e-mail

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 11:00:37.434572

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_notifications', sa.String(length=16), server_default='immediate', nullable=False))
        batch_op.add_column(sa.Column('digest_sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_users_email_notifications'),
            "email_notifications IN ('immediate', 'daily', 'off')",
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_email_notifications'), type_='check')
        batch_op.drop_column('digest_sent_at')
        batch_op.drop_column('email_notifications')

