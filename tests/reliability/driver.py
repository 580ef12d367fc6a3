"""Runs one operation on the archive in LANTAI_HOME in a process of its own, for the crash trials.

    python tests/reliability/driver.py KIND [POINT] [BATCH]

KIND: ingest (of the batch folder BATCH) | classify | arrange | publish | correct | transfer |
metadata (著录更正 of 题名) | reindex | rebuild — the changes run over every catalogued item.

POINT (``-`` for none) makes the process SIGKILL itself at that point of its first unit of work:

* ingest and the changes: ``after_intent`` (the intent file exists), ``after_store`` (a version
  was moved in), ``after_journal`` (the audit entries are in the journal, the catalogue
  transaction not committed), ``after_catalogue`` (everything committed, the intent not yet
  cleared); ``pause_after_store`` stops there instead — the file ``$LANTAI_TRIAL_PAUSE`` is
  written, and the process goes on when ``$LANTAI_TRIAL_PAUSE.go`` appears (a live writer
  caught mid-commit);
* reindex: ``after_shadow`` (the shadow index is complete, not swapped in), ``after_swap``;
* rebuild: ``before_swap`` (the scratch catalogue is complete), ``after_swap`` (swapped in, the
  audit table, check runs, arrangements and index not yet restored).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import select

from lantai.catalog.models import Item
from lantai.services import intents
from lantai.services.archive import Archive, open_archive
from lantai.services.audit import AuditLog
from lantai.storage.ocfl import OcflStore

# Each kind imports only what it runs: a trial's process start is most of its cost.
CHANGE_ACTIONS = ("item.classified", "arrange.assigned", "arrange.corrected", "arrange.renumbered", "arrange.filed",
                  "transfer.marked", "item.corrected")
WRITE_ACTIONS = (*CHANGE_ACTIONS, "ingest.accepted")
CHANGE_KINDS = ("classify", "arrange", "publish", "correct", "transfer", "metadata")
CORRECTED = "（更正）"  # what the metadata kind appends to every 题名


def _die(*_args: Any, **_kwargs: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _pause(*_args: Any, **_kwargs: Any) -> None:
    """Stand still mid-commit (intent held, version in the store) until the test says go."""
    marker = Path(os.environ["LANTAI_TRIAL_PAUSE"])
    marker.write_text("paused", encoding="utf-8")
    go = marker.with_name(marker.name + ".go")
    deadline = time.monotonic() + 120
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def _after(owner: Any, name: str, then: Any = _die, when: Any = None) -> None:
    """Make ``owner.name`` run, then call ``then`` once (when ``when(*args)`` says so)."""
    original = getattr(owner, name)
    fired: list[bool] = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if not fired and (when is None or when(*args, **kwargs)):
            fired.append(True)
            then()
        return result

    setattr(owner, name, wrapper)


def _is_write_entry(_self: Any, entries: list[tuple[str, str, str, dict]], **_kw: Any) -> bool:
    return any(action in WRITE_ACTIONS for _a, action, _t, _d in entries)


def aim(point: str) -> None:
    if point == "after_intent":
        _after(intents, "write_record")
    elif point in ("after_store", "pause_after_store"):
        _after(OcflStore, "commit", _die if point == "after_store" else _pause)
    elif point == "after_journal":
        _after(AuditLog, "append_many", when=_is_write_entry)
    elif point == "after_catalogue":  # die instead of clearing an intent
        intents.clear_intent = _die
    elif point in ("before_swap", "after_swap"):
        from lantai.catalog.scratch import ScratchCatalogue

        if point == "before_swap":
            ScratchCatalogue.swap_into_live = _die  # type: ignore[method-assign]
        else:
            _after(ScratchCatalogue, "swap_into_live")
    elif point in ("after_shadow", "after_swap_index"):
        _aim_reindex("finish_shadow" if point == "after_shadow" else "swap")
    else:
        raise SystemExit(f"unknown point {point}")


def _aim_reindex(method: str) -> None:
    """Kill the index rebuild after its backend's ``method`` (the backend is made per call)."""
    from lantai.search import online

    original = online.rebuild

    def rebuild(engine: Any, index: Any, *args: Any, **kwargs: Any) -> int:
        _after(index, method)
        return original(engine, index, *args, **kwargs)

    online.rebuild = rebuild


def run(archive: Archive, kind: str, batch: Path | None = None) -> None:
    """The operation itself (the tests call it in-process too, to finish interrupted work)."""
    if kind == "ingest":
        from lantai.services.ingest import ingest_paths

        assert batch is not None
        ingest_paths(archive, [batch])
    elif kind == "reindex":
        from lantai.services import search_index

        search_index.reindex(archive)
    elif kind == "rebuild":
        from lantai.services.rebuild import rebuild_catalogue

        rebuild_catalogue(archive)
    else:
        _change(archive, kind)


def _change(archive: Archive, kind: str) -> None:
    with archive.sessions() as session:
        ids = list(session.scalars(select(Item.record_id).order_by(Item.record_id)))
    if kind == "classify":
        from lantai.domain.roles import Role
        from lantai.services import classification
        from lantai.services.users import Principal

        secadmin = Principal(1, "secadmin", "secadmin", frozenset({Role.SECADMIN}), "绝密", via="cli")
        for n, record_id in enumerate(ids):
            wanted = ("机密", "秘密")[n % 2]
            if classification_of(archive, record_id) != wanted:  # resubmitted: only what is not done yet
                classification.change_classification(archive, secadmin, record_id, wanted, "定密复核")
    elif kind == "metadata":
        _correct_titles(archive, ids)
    elif kind == "transfer":
        from lantai.services import transfer

        receipt = SimpleNamespace(transfer_id="T1", receiver="市档案馆", received_at="2026-01-01T00:00:00+08:00",
                                  signer="CN=市档案馆")
        transfer.mark_transferred(archive, ids, receipt, actor="archivist")
    else:
        from lantai.services import arrange

        if kind == "arrange":
            arrange.arrange(archive, "Z109", 2025, actor="archivist")
        elif kind == "publish":
            arrange.publish_pending(archive, actor="archivist")
        elif kind == "correct":
            for record_id in ids:
                arrange.correct_arrangement(archive, record_id, reason="保管期限定错", actor="archivist",
                                            retention="D30")


def _correct_titles(archive: Archive, ids: list[str]) -> None:
    from lantai.domain.roles import Role
    from lantai.services.corrections import correct_metadata
    from lantai.services.users import Principal

    archivist = Principal(2, "archivist", "archivist", frozenset({Role.ARCHIVIST}), "绝密", via="cli")
    for record_id in ids:
        with archive.sessions() as session:
            title = session.scalar(select(Item.title).where(Item.record_id == record_id)) or ""
        if not title.endswith(CORRECTED):  # resubmitted: only what is not done yet
            correct_metadata(archive, archivist, record_id, {"题名": title + CORRECTED}, "核对原件")


def classification_of(archive: Archive, record_id: str) -> str:
    with archive.sessions() as session:
        return session.scalar(select(Item.security_classification).where(Item.record_id == record_id)) or ""


def main(kind: str, point: str | None, batch: Path | None) -> None:
    if point:
        aim(point)
    if kind in CHANGE_KINDS:
        from lantai.services import arrange_publish, changes

        arrange_publish.PUBLISH_GROUP = 3  # several units per run, so random kills land between them
        changes.COMMIT_THREADS = 2
    with open_archive() as archive:
        run(archive, kind, batch)


if __name__ == "__main__":
    argv = [*sys.argv[1:], "-", ""]
    main(argv[0], None if argv[1] == "-" else argv[1], Path(argv[2]) if argv[2] else None)
