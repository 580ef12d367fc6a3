"""The README says what the code enforces: the role table and every setting."""

from __future__ import annotations

from pathlib import Path

from lantai.domain.permissions import role_table_markdown
from lantai.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_role_table_is_the_permission_table() -> None:
    assert role_table_markdown() in README.read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`LANTAI_{name.upper()}`" not in text]
    assert not missing, f"settings missing from the README table: {missing}"
