"""Profiles are parsed once per process, yet every caller gets its own copy and edits are seen."""

from __future__ import annotations

from pathlib import Path

from lantai.checks.profiles import BUILTIN_DIR, load_profile


def test_a_changed_profile_copy_changes_no_other_caller() -> None:
    first = load_profile("default")
    first.data["time_limit_seconds"] = 1
    first.data.setdefault("virus", {})["socket"] = "/nowhere"
    second = load_profile("default")
    assert second.time_limit != 1 and second.section("virus").get("socket") != "/nowhere"


def test_an_edited_profile_file_is_read_anew(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "profiles").mkdir(parents=True)
    target = home / "profiles" / "mine.toml"
    base = (BUILTIN_DIR / "default.toml").read_text(encoding="utf-8")
    assert "\ntime_limit_seconds = 60\n" in base
    target.write_text(base.replace("\ntime_limit_seconds = 60\n", "\ntime_limit_seconds = 7\n"), encoding="utf-8")
    assert load_profile("mine", home).time_limit == 7
    target.write_text(base.replace("\ntime_limit_seconds = 60\n", "\ntime_limit_seconds = 9\n"), encoding="utf-8")
    assert load_profile("mine", home).time_limit == 9
