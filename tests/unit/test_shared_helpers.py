"""The one helper for each repeated job: JSON conversion, Beijing time, CJK font lookup.

Each also has a guard that the job is not done again elsewhere in ``lantai/``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from lantai.domain.clock import BEIJING, beijing_now, in_beijing
from lantai.formats import fonts
from lantai.jsonable import jsonable

LANTAI = Path(__file__).resolve().parents[2] / "lantai"
NOT_YET_MOVED: set[str] = set()  # files whose repeat another change is still moving (none now)


def _sources_with(pattern: str, home: str) -> set[str]:
    found = {str(p.relative_to(LANTAI)) for p in LANTAI.rglob("*.py") if re.search(pattern, p.read_text(encoding="utf-8"))}
    return found - {home} - NOT_YET_MOVED


@dataclass
class _Finding:
    code: str
    where: Path

    def to_dict(self) -> dict:
        return {"code": self.code, "where": self.where, "tags": {"b"}}


def test_jsonable_converts_nested_results_and_leaves_json_alone() -> None:
    value = {1: [_Finding("1-2b", Path("正文.pdf"))], "ok": True, "n": None, "x": 1.5}
    assert jsonable(value) == {"1": [{"code": "1-2b", "where": "正文.pdf", "tags": ["b"]}], "ok": True, "n": None,
                               "x": 1.5}


def test_beijing_time() -> None:
    assert in_beijing(dt.datetime(2025, 12, 31, 16, 30)) == dt.datetime(2026, 1, 1, 0, 30, tzinfo=BEIJING)
    assert in_beijing(dt.datetime(2026, 1, 1, 0, 30, tzinfo=BEIJING)).hour == 0
    now = beijing_now()
    assert now.utcoffset() == dt.timedelta(hours=8) and now.microsecond == 0


def test_the_utc8_zone_is_declared_once() -> None:
    assert _sources_with(r"hours\s*=\s*8", "domain/clock.py") == set()


def test_font_lookup() -> None:
    assert fonts.locate("no-such-font.ttc") is None
    assert fonts.installed([("no-such-font.ttc", 0)]) == []
    assert fonts.pil_font(12, [("no-such-font.ttc", 0)]) is not None  # Pillow's default, never an error
    if fonts.locate("wqy-zenhei.ttc") is None:
        pytest.skip("fonts-wqy-zenhei is not installed")
    face = fonts.pil_font(24, [("no-such-font.ttc", 0), ("wqy-zenhei.ttc", 0)])
    assert face.getbbox("档")[2] > 12  # a CJK glyph, not the default font's empty box


def test_font_directories_are_named_once() -> None:
    assert _sources_with(r"/usr/(local/)?share/fonts", "formats/fonts.py") == set()
