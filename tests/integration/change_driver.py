"""Runs one kind of change in a process of its own, for the crash trials of test_change_crash.py.

    python tests/integration/change_driver.py KIND [POINT]

KIND: classify | arrange | correct | transfer (over every item of the archive in LANTAI_HOME).
POINT, when given, makes the process SIGKILL itself at that point of the first change unit:
after_intent (the intent file exists), after_store (a version was moved in), after_journal (the
audit entries are in the journal, the catalogue transaction not committed), after_catalogue
(everything committed, the intent not yet cleared).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import select

from lantai.catalog.models import Item
from lantai.domain.roles import Role
from lantai.services import arrange, arrange_publish, changes, classification, recovery, transfer
from lantai.services.archive import open_archive
from lantai.services.audit import AuditLog
from lantai.services.users import Principal
from lantai.storage.ocfl import OcflStore

CHANGE_ACTIONS = ("item.classified", "arrange.assigned", "arrange.corrected", "arrange.renumbered", "arrange.filed",
                  "transfer.marked")


def _die(*_args: Any, **_kwargs: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _after(owner: Any, name: str, when: Any = None) -> None:
    """Make ``owner.name`` run, then kill the process (when ``when(*args)`` says so)."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if when is None or when(*args, **kwargs):
            _die()
        return result

    setattr(owner, name, wrapper)


def _is_change_entry(_self: Any, entries: list[tuple[str, str, str, dict]], **_kw: Any) -> bool:
    return any(action in CHANGE_ACTIONS for _a, action, _t, _d in entries)


def aim(point: str) -> None:
    if point == "after_intent":
        _after(changes, "write_intent")
    elif point == "after_store":
        _after(OcflStore, "commit")
    elif point == "after_journal":
        _after(AuditLog, "append_many", _is_change_entry)
    elif point == "after_catalogue":  # die instead of clearing a change intent
        original = recovery.clear_intent
        recovery.clear_intent = lambda path: _die() if path.parent.name == changes.CHANGE_INTENTS else original(path)


def main(kind: str, point: str | None) -> None:
    if point:
        aim(point)
    arrange_publish.PUBLISH_GROUP = 3  # several units per run, so random kills land between them
    with open_archive() as archive:
        with archive.sessions() as session:
            ids = list(session.scalars(select(Item.record_id).order_by(Item.record_id)))
        if kind == "classify":
            secadmin = Principal(1, "secadmin", "secadmin", frozenset({Role.SECADMIN}), "绝密", via="cli")
            for n, record_id in enumerate(ids):
                classification.change_classification(archive, secadmin, record_id, ("机密", "秘密")[n % 2], "定密复核")
        elif kind == "arrange":
            arrange.arrange(archive, "Z109", 2025, actor="archivist")
        elif kind == "correct":
            for record_id in ids:
                arrange.correct_arrangement(archive, record_id, reason="保管期限定错", actor="archivist", retention="D30")
        elif kind == "transfer":
            receipt = SimpleNamespace(transfer_id="T1", receiver="市档案馆", received_at="2026-01-01T00:00:00+08:00",
                                      signer="CN=市档案馆")
            transfer.mark_transferred(archive, ids, receipt, actor="archivist")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
