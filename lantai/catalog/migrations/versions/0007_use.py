"""use (利用): access requests, decisions, grants, the use register; items.control_identifier (控制标识)

Revision ID: 0007_use
Revises: 0006_merge_heads
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_use"
down_revision = "0006_merge_heads"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Plain ADD COLUMN (a batch copy of ``items`` on SQLite would cascade-delete its files and events).
    op.add_column("items", sa.Column("control_identifier", sa.String(length=16), nullable=False, server_default=""))
    op.create_index("ix_items_control_identifier", "items", ["control_identifier"])
    op.create_table(
        "use_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("requester", sa.String(length=64), nullable=False, index=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("purpose_detail", sa.Text(), nullable=False),
        sa.Column("methods", sa.String(length=64), nullable=False),
        sa.Column("valid_until", TS, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False, index=True),
        sa.Column("two_step", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("decided_at", TS, nullable=True),
    )
    op.create_table(
        "use_request_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("use_requests.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=True),
    )
    op.create_table(
        "use_decisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("use_requests.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("approve", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_at", TS, nullable=False),
    )
    op.create_table(
        "use_grants",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("use_requests.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("grantee", sa.String(length=64), nullable=False, index=True),
        sa.Column("methods", sa.String(length=64), nullable=False),
        sa.Column("valid_until", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=False),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
    )
    op.create_table(
        "use_grant_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("grant_id", sa.Integer(), sa.ForeignKey("use_grants.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("record_id", sa.String(length=128), nullable=False, index=True),
    )
    op.create_table(
        "use_register",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("time", TS, nullable=False, index=True),
        sa.Column("username", sa.String(length=64), nullable=False, index=True),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False, index=True),
        sa.Column("archival_code", sa.String(length=128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("fonds_code", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("security_classification", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in ("use_register", "use_grant_items", "use_grants", "use_decisions", "use_request_items",
                  "use_requests"):
        op.drop_table(table)
    op.drop_index("ix_items_control_identifier", table_name="items")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("control_identifier")
