"""appraisal (鉴定与处置): campaigns, campaign items, approvals, holds; items.secrecy_period (保密期限)

Revision ID: 0010_appraisal
Revises: 0009_carriers
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_appraisal"
down_revision = "0009_carriers"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _campaign_fk() -> sa.Column:
    return sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("appraisal_campaigns.id", ondelete="CASCADE"),
                     nullable=False, index=True)


def upgrade() -> None:
    # Plain ADD COLUMN (a batch copy of ``items`` on SQLite would cascade-delete its files and events).
    # Items catalogued before this release get their 保密期限 at ``lantai rebuild``.
    op.add_column("items", sa.Column("secrecy_period", sa.String(length=32), nullable=False, server_default=""))
    op.create_table(
        "appraisal_campaigns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=8), nullable=False, index=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("fonds_code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False, index=True),
        sa.Column("proposer", sa.String(length=64), nullable=False),
        sa.Column("committee", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("submitted_at", TS, nullable=True),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("executed_at", TS, nullable=True),
        sa.Column("executed_by", sa.String(length=64), nullable=False),
        sa.Column("register_path", sa.Text(), nullable=False),
        sa.Column("register_sm3", sa.String(length=64), nullable=False),
        sa.Column("register_record_id", sa.String(length=128), nullable=False),
        sa.Column("destroyed_at", TS, nullable=True),
        sa.Column("destroyed_by", sa.String(length=64), nullable=False),
    )
    op.create_table(
        "appraisal_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        _campaign_fk(),
        sa.Column("record_id", sa.String(length=128), nullable=False, index=True),
        sa.Column("archival_code", sa.String(length=128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("document_number", sa.String(length=128), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column("retention", sa.String(length=16), nullable=False),
        sa.Column("security_classification", sa.String(length=16), nullable=False),
        sa.Column("fonds_code", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("new_value", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False, index=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.UniqueConstraint("campaign_id", "record_id"),
    )
    op.create_table(
        "appraisal_approvals",
        sa.Column("id", sa.Integer(), primary_key=True),
        _campaign_fk(),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("approver", sa.String(length=64), nullable=False),
        sa.Column("approve", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("fonds_code", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(length=64), nullable=False),
        sa.Column("placed_at", TS, nullable=False),
        sa.Column("until", TS, nullable=True),
        sa.Column("lifted_at", TS, nullable=True),
        sa.Column("lifted_by", sa.String(length=64), nullable=False),
        sa.Column("lift_reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_holds_scope", "holds", ["record_id", "fonds_code", "year"])


def downgrade() -> None:
    op.drop_index("ix_holds_scope", table_name="holds")
    for table in ("holds", "appraisal_approvals", "appraisal_items", "appraisal_campaigns"):
        op.drop_table(table)
    with op.batch_alter_table("items") as batch:
        batch.drop_column("secrecy_period")
