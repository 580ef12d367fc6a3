"""arrangement: reference-data versions, arrangements (档号/件号), locks, corrections

Revision ID: 0002_arrangement
Revises: 0001_core
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_arrangement"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("sm3", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "arrangements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("fonds_code", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("class_key", sa.String(length=200), nullable=False),
        sa.Column("item_number", sa.Integer(), nullable=False),
        sa.Column("archival_code", sa.String(length=128), nullable=False),
        sa.Column("retention", sa.String(length=16), nullable=False),
        sa.Column("retention_source", sa.String(length=64), nullable=False),
        sa.Column("organisation", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reference_version", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("change", sa.String(length=32), nullable=False),
        sa.Column("previous_code", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_id"),
        sa.UniqueConstraint("archival_code"),
        sa.UniqueConstraint("class_key", "item_number", name="uq_arrangements_class_item"),
    )
    op.create_index("ix_arrangements_scope", "arrangements", ["fonds_code", "category", "year"])
    op.create_index("ix_arrangements_pending", "arrangements", ["pending"])
    op.create_table(
        "arrangement_locks",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "arrangement_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("old_code", sa.String(length=128), nullable=False),
        sa.Column("new_code", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_arrangement_corrections_record_id", "arrangement_corrections", ["record_id"])


def downgrade() -> None:
    op.drop_index("ix_arrangement_corrections_record_id", table_name="arrangement_corrections")
    op.drop_table("arrangement_corrections")
    op.drop_table("arrangement_locks")
    op.drop_index("ix_arrangements_pending", table_name="arrangements")
    op.drop_index("ix_arrangements_scope", table_name="arrangements")
    op.drop_table("arrangements")
    op.drop_table("reference_versions")
