"""check reports (DA/T 70 四性检测): one row per item per check run

Revision ID: 0003_checks
Revises: 0001_core
Create Date: 2026-11-25 10:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_checks"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("profile", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failed_codes", sa.String(length=200), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
        sa.Column("report_location", sa.Text(), nullable=False),
        sa.Column("report_sm3", sa.String(length=64), nullable=False),
        sa.Column("operator", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("check_reports", schema=None) as batch_op:
        batch_op.create_index("ix_check_reports_run_id", ["run_id"], unique=False)
        batch_op.create_index("ix_check_reports_item_id", ["item_id"], unique=False)
        batch_op.create_index("ix_check_reports_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("check_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_check_reports_created_at")
        batch_op.drop_index("ix_check_reports_item_id")
        batch_op.drop_index("ix_check_reports_run_id")
    op.drop_table("check_reports")
