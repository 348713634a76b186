"""users: language and timezone unset until the person, an invitation or the browser says

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 06:48:31.011765

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # Existing accounts keep their values: nothing tells a default from a choice.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('locale',
               existing_type=sa.VARCHAR(length=8),
               nullable=True)
        batch_op.alter_column('timezone',
               existing_type=sa.VARCHAR(length=64),
               nullable=True)


def downgrade():
    # The defaults these columns had before.
    op.execute("UPDATE users SET locale = 'es' WHERE locale IS NULL")
    op.execute("UPDATE users SET timezone = 'America/Panama' WHERE timezone IS NULL")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('timezone',
               existing_type=sa.VARCHAR(length=64),
               nullable=False)
        batch_op.alter_column('locale',
               existing_type=sa.VARCHAR(length=8),
               nullable=False)
