"""use effect: the reader's 利用效果 on an approved request (issue 19 point 2)

Revision ID: 0016_use_effect
Revises: 0015_check_verdicts
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_use_effect"
down_revision = "0015_check_verdicts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("use_requests") as batch:
        batch.add_column(sa.Column("effect", sa.String(length=16), nullable=False, server_default=""))
        batch.add_column(sa.Column("effect_note", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("effect_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("use_requests") as batch:
        batch.drop_column("effect_at")
        batch.drop_column("effect_note")
        batch.drop_column("effect")
