"""Every command area is registered: a broken import fails ``lantai`` loudly instead of hiding the
command (``lantai check`` once disappeared that way)."""

from __future__ import annotations

from lantai.cli.main import app

EXPECTED = {"init", "ingest", "show", "verify", "rebuild", "audit", "check", "serve", "watch", "keys", "eep",
            "formats", "search", "arrange", "retention", "export", "stamp", "fonds", "schedule", "transfer",
            "bag", "users", "demo", "version", "use", "jobs", "worker", "doctor", "appraise", "hold", "destroy"}


def test_every_area_is_a_command() -> None:
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    names |= {g.name for g in app.registered_groups}
    missing = EXPECTED - names
    assert not missing, f"commands not registered: {sorted(missing)}"
