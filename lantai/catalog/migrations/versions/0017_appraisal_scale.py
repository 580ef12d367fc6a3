"""appraisal at scale: covering indexes for what is due (到期 and 开放) and for reading a campaign of
hundreds of thousands of items page by page (its counts and its 档号 order)

Revision ID: 0017_appraisal_scale
Revises: 0016_use_effect
"""
from alembic import op

revision = "0017_appraisal_scale"
down_revision = "0016_use_effect"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_items_due", "items", ["status", "retention", "year", "fonds_code", "record_id"]),
    ("ix_items_opening", "items", ["status", "control_identifier", "year", "category", "fonds_code", "record_id"]),
    ("ix_appraisal_items_page", "appraisal_items", ["campaign_id", "archival_code", "record_id"]),
    ("ix_appraisal_items_states", "appraisal_items", ["campaign_id", "state"]),
    ("ix_appraisal_items_decisions", "appraisal_items", ["campaign_id", "decision"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
