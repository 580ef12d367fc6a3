"""merge the arrangement, check-report and access/security branches into one line

0002, 0003 and 0004 were each written against 0001 (and 0005_security against 0004), so a catalogue
stands at three heads: 0002, 0003 and 0004 from the first release, 0002, 0003 and 0005 since. This
revision changes no table: it joins them, so every later revision has one parent and
``alembic upgrade head`` means one thing.

Revision ID: 0006_merge_heads
Revises: 0002_arrangement, 0003_checks, 0005_security
"""

revision = "0006_merge_heads"
down_revision = ("0002_arrangement", "0003_checks", "0005_security")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
