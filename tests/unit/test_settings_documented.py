"""Every setting is documented in the README's configuration table, and nothing else is.

Settings are declared once (name, default, description) in ``lantai.settings``; the README
table is what operators read, so the two must agree in both directions (as Datasette checks).
"""

from __future__ import annotations

import re
from pathlib import Path

from lantai.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `(LANTAI_[A-Z0-9_]+)` \| (?P<default>[^|]*) \| (?P<meaning>[^|]+) \|$")


def _readme_rows() -> dict[str, tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = ROW.match(line.strip())
        if match:
            rows[match.group(1)] = (match.group("default").strip(), match.group("meaning").strip())
    return rows


def _env_name(field: str) -> str:
    return f"LANTAI_{field.upper()}"


def test_every_setting_has_a_readme_row() -> None:
    rows = _readme_rows()
    missing = sorted(_env_name(name) for name in Settings.model_fields if _env_name(name) not in rows)
    assert not missing, f"settings missing from README's Configuration table: {missing}"


def test_every_readme_row_is_a_setting() -> None:
    declared = {_env_name(name) for name in Settings.model_fields}
    extra = sorted(set(_readme_rows()) - declared)
    assert not extra, f"README documents settings that do not exist: {extra}"


def test_every_setting_has_a_description_and_a_meaning() -> None:
    rows = _readme_rows()
    for name, field in Settings.model_fields.items():
        assert (field.description or "").strip(), f"{name} has no description"
        assert rows[_env_name(name)][1], f"{_env_name(name)} has no meaning in README"


def _readme_default_matches(documented: str, default: object) -> bool:
    documented = documented.strip("`")
    if default is None:
        return documented in {"—", "-", ""} or not documented.startswith(("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"))
    if isinstance(default, bool):
        return documented.lower() == str(default).lower()
    if isinstance(default, int):
        units = {"KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
        match = re.fullmatch(r"([\d,]+)\s*(KiB|MiB|GiB)?", documented)
        return bool(match) and int(match.group(1).replace(",", "")) * units.get(match.group(2) or "", 1) == default
    return documented == str(default) or str(default).endswith(documented.lstrip("./"))


def test_readme_defaults_match_the_declared_defaults() -> None:
    rows = _readme_rows()
    wrong = {}
    for name, field in Settings.model_fields.items():
        documented = rows[_env_name(name)][0]
        if not _readme_default_matches(documented, field.default):
            wrong[_env_name(name)] = (documented, field.default)
    assert not wrong, f"README defaults differ from lantai.settings: {wrong}"
