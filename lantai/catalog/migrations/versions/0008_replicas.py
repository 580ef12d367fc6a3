"""replicas: storage roots, the durable replication queue, each object's copy and verification per root

Revision ID: 0008_replicas
Revises: 0007_use
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_replicas"
down_revision = "0007_use"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "storage_roots",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.Column("added_by", sa.String(length=128), nullable=False),
    )
    op.create_table(
        "replication_queue",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("enqueued_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.UniqueConstraint("root", "object_id", name="uq_replication_queue_root_object"),
    )
    op.create_index("ix_replication_queue_root", "replication_queue", ["root"])
    op.create_index("ix_replication_queue_next_attempt_at", "replication_queue", ["next_attempt_at"])
    op.create_table(
        "root_objects",
        sa.Column("root", sa.String(length=64), primary_key=True),
        sa.Column("object_id", sa.String(length=128), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("replicated_at", TS, nullable=True),
        sa.Column("verified_at", TS, nullable=True),
        sa.Column("verified_ok", sa.Boolean(), nullable=True),
        sa.Column("unrecoverable", sa.Boolean(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
    )
    op.create_index("ix_root_objects_verified_at", "root_objects", ["verified_at"])
    op.create_index("ix_root_objects_unrecoverable", "root_objects", ["unrecoverable"])


def downgrade() -> None:
    op.drop_table("root_objects")
    op.drop_table("replication_queue")
    op.drop_table("storage_roots")
