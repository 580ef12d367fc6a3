"""carriers (离线载体): the register of offline discs and disks, and their read checks

Revision ID: 0009_carriers
Revises: 0008_replicas
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_carriers"
down_revision = "0008_replicas"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "carriers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(length=64), nullable=False, unique=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("location", sa.String(length=16), nullable=False, index=True),
        sa.Column("written_on", sa.Date(), nullable=False),
        sa.Column("check_interval_days", sa.Integer(), nullable=False),
        sa.Column("next_check_due", sa.Date(), nullable=False, index=True),
        sa.Column("last_checked", sa.Date(), nullable=True),
        sa.Column("last_check_ok", sa.Boolean(), nullable=True),
        sa.Column("volume_label", sa.String(length=128), nullable=False),
        sa.Column("manifest_sm3", sa.String(length=64), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("registered_at", TS, nullable=False),
    )
    op.create_table(
        "carrier_checks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("carrier_id", sa.Integer(), sa.ForeignKey("carriers.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("checked_at", TS, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("carrier_checks")
    op.drop_table("carriers")
