"""merge the arrangement, check-report and access branches into one line

0002, 0003 and 0004 were each written against 0001, so a catalogue of that release stands at three
heads. This revision changes no table: it joins them, so every later revision has one parent and
``alembic upgrade head`` means one thing.

Revision ID: 0005_merge_heads
Revises: 0002_arrangement, 0003_checks, 0004_access
"""

revision = "0005_merge_heads"
down_revision = ("0002_arrangement", "0003_checks", "0004_access")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
