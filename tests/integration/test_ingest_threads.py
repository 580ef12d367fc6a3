"""Two ingests in one process at once (the two job threads of a ``lantai worker``, or two requests
of a web process): both items are accepted. They share the process's incremental audit-chain
verification (DA/T 70 4-3); when two threads advanced it together, one checked a journal line
against a position the other had not finished moving, took it for an entry out of sequence and
rejected a sound item — its job still ended ``done``, the item never catalogued (issue #22: the
scale-out test's "34 of 36")."""

from __future__ import annotations

import threading
from pathlib import Path

from lantai.services import audit_incremental, ingest
from lantai.services.ingest import ACCEPTED, ingest_paths
from tests.sipfactory import SipSpec, real_pdf, write_item


def test_two_threads_ingesting_at_once_both_pass_the_audit_chain_check(archive, tmp_path: Path,
                                                                      monkeypatch) -> None:
    paths = [write_item(tmp_path / "sips",
                        SipSpec(record_id=f"Z109-WS-2025-{n:05d}", document_number=f"X政办发〔2025〕{n}号",
                                files={"正文.pdf": real_pdf(8 * 1024)}))
             for n in (1, 2)]
    journal = Path(archive.settings.audit_journal)
    audit_incremental.verify_incremental(journal)  # this process has verified the chain so far
    for n in (1, 2):  # … and two entries more are waiting
        archive.audit.append("clerk", "test.mark", f"new line {n}")

    # Hold the first thread inside the verification of the first new line until the second thread
    # has started its own verification and, unless that waits its turn, reached a line too.
    first_inside, second_called, second_inside = threading.Event(), threading.Event(), threading.Event()
    verify_line, verify = audit_incremental._verify_line, ingest.verify_incremental

    def held_line(state, line, entry_hash):
        if not first_inside.is_set():
            first_inside.set()
            assert second_called.wait(timeout=120)
            second_inside.wait(timeout=2.0)  # never set when the second waits for the first
        else:
            second_inside.set()
        return verify_line(state, line, entry_hash)

    def noted(path):
        if first_inside.is_set():
            second_called.set()
        return verify(path)

    monkeypatch.setattr(audit_incremental, "_verify_line", held_line)
    monkeypatch.setattr(ingest, "verify_incremental", noted)
    outcomes: dict[int, object] = {}

    def run(index: int) -> None:
        outcomes[index] = ingest_paths(archive, [paths[index]], actor="clerk").items[0]

    threads = [threading.Thread(target=run, args=(0,))]
    threads[0].start()
    assert first_inside.wait(timeout=120)
    threads.append(threading.Thread(target=run, args=(1,)))
    threads[1].start()
    for thread in threads:
        thread.join(timeout=120)
    assert [outcomes[i].status for i in (0, 1)] == [ACCEPTED, ACCEPTED], [  # type: ignore[attr-defined]
        (o.status, o.message) for o in outcomes.values()]  # type: ignore[attr-defined]
