"""security: 三员分立 account fields, token scopes, atomic login throttle

Revision ID: 0005_security
Revises: 0004_access
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_security"
down_revision = "0004_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): recreating ``users`` on SQLite would cascade-delete every
    # session and token that references it.
    op.add_column("users", sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("users", sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("pending_roles", sa.String(length=256), nullable=False, server_default=""))
    op.add_column("users", sa.Column("created_by", sa.String(length=64), nullable=False, server_default=""))
    op.add_column("users", sa.Column("is_service", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("users", sa.Column("service_approved_by", sa.String(length=64), nullable=False, server_default=""))
    op.add_column("api_tokens", sa.Column("scopes", sa.String(length=128), nullable=False, server_default=""))
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("scopes")
    with op.batch_alter_table("users") as batch:
        for column in ("service_approved_by", "is_service", "created_by", "pending_roles", "password_changed_at",
                       "must_change_password"):
            batch.drop_column(column)
