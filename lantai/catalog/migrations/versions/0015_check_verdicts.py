"""check verdicts: a person's recorded verdict on a DA/T 70 target left to people (issue 16 point 5)

Revision ID: 0015_check_verdicts
Revises: 0013_jobs
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_check_verdicts"
down_revision = "0013_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_verdicts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("confirmed_by", sa.String(length=128), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_check_verdicts_scope_id", "check_verdicts", ["scope_id"])


def downgrade() -> None:
    op.drop_index("ix_check_verdicts_scope_id", table_name="check_verdicts")
    op.drop_table("check_verdicts")
