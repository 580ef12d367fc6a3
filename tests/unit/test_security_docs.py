"""The README's role table is the permission table the code enforces (settings: test_settings_documented)."""

from __future__ import annotations

from pathlib import Path

from lantai.domain.permissions import role_table_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_role_table_is_the_permission_table() -> None:
    assert role_table_markdown() in README.read_text(encoding="utf-8")
