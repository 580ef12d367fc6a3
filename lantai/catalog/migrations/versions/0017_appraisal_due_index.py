"""appraisal due index: items (status, retention, year), so proposing a 到期鉴定 reads ranges, not the table

Revision ID: 0017_appraisal_due_index
Revises: 0016_use_effect
"""
from alembic import op

revision = "0017_appraisal_due_index"
down_revision = "0016_use_effect"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_due", "items", ["status", "retention", "year"])


def downgrade() -> None:
    op.drop_index("ix_items_due", table_name="items")
