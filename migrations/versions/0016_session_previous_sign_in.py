"""each session keeps when its user signed in before it began (My work's "since")

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 09:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_sign_in_at', sa.DateTime(timezone=True), nullable=True))
    # The sessions open now: their user's newest sign-in before each began, from the
    # audit log, as My work read it until now.
    op.execute(
        "UPDATE user_sessions SET previous_sign_in_at = ("
        " SELECT max(events.at) FROM events"
        " WHERE events.actor_id = user_sessions.user_id AND events.verb = 'auth.login'"
        " AND events.at < user_sessions.created_at)"
    )


def downgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_column('previous_sign_in_at')
