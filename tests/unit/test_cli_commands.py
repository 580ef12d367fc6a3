"""Every command area is registered: a broken import fails ``lantai`` loudly instead of hiding the
command (``lantai check`` once disappeared that way)."""

from __future__ import annotations

from lantai.cli.main import _AREAS, app


def test_every_area_is_a_command() -> None:
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert {name for name, *_ in _AREAS} | {"demo", "audit"} <= names
