"""A full reindex no longer blocks the archive: it fills shadow tables, catches up the changes
written meanwhile, and swaps them in at the end (lantai.search.online), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from lantai.catalog.models import Item
from lantai.search import GuardedIndex, IndexEntry, SearchQuery, open_index
from lantai.search.online import rebuild
from lantai.services import search_index
from lantai.services.archive import Archive
from lantai.services.ingest import ingest_paths
from tests.api.conftest import pdf_bytes
from tests.integration.test_search_backends import engine, item  # noqa: F401  (module-scoped fixture)
from tests.sipfactory import SipSpec, write_item

TOP = "绝密"
ROOT = Path(__file__).resolve().parents[2]


def found(eng: Engine, query: str) -> list[str]:
    with eng.connect() as conn:
        index = open_index(conn)
        return [h.record_id for h in index.search(conn, SearchQuery(text=query, max_clearance=TOP, limit=500)).hits]


def leftovers(eng: Engine) -> list[str]:
    """Shadow or replaced tables still in the database."""
    with eng.connect() as conn:
        if conn.dialect.name == "sqlite":
            names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars()
        else:
            names = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars()
        return sorted(n for n in names if n.endswith(("_new", "_old")) or "_new_" in n or "_old_" in n)


def fresh(eng: Engine, entries: list[IndexEntry]) -> None:
    with eng.begin() as conn:
        index = open_index(conn)
        index.ensure_schema(conn)
        index.reindex(conn, entries)


def corpus(n: int) -> list[IndexEntry]:
    return [item(f"R{i:05d}", f"关于第{i}号样本的通知", f"常规样本正文{i}。") for i in range(n)]


def test_writes_during_a_rebuild_are_caught_up(engine: Engine) -> None:  # noqa: F811
    """Insert, update and delete while the rebuild loads: all three are in the index after the swap."""
    fresh(engine, corpus(40))
    catalogue = {e.record_id: e for e in corpus(1200)}  # what the rebuild reads: more than the old index
    with engine.connect() as conn:
        index = open_index(conn)

    def entries() -> Iterator[IndexEntry]:
        for n, record_id in enumerate(sorted(catalogue)):
            if n == 600:  # mid-load: an ingest, a correction and a removal, each in its own transaction
                with engine.begin() as conn:
                    catalogue["NEW1"] = item("NEW1", "关于新增白鹭湿地保护的通知", "白鹭湿地")
                    GuardedIndex(open_index(conn)).upsert(conn, [catalogue["NEW1"]])
                with engine.begin() as conn:
                    catalogue["R01100"] = item("R01100", "关于更正后金鱼草样本的通知", "金鱼草")
                    GuardedIndex(open_index(conn)).upsert(conn, [catalogue["R01100"]])
                with engine.begin() as conn:
                    del catalogue["R00010"]
                    GuardedIndex(open_index(conn)).delete(conn, ["R00010"])
                assert found(engine, "白鹭湿地") == ["NEW1"]  # the live index serves meanwhile
            yield catalogue[record_id]

    count = rebuild(engine, index, entries(), lambda ids: [catalogue[i] for i in ids if i in catalogue])
    assert count == 1200
    assert found(engine, "白鹭湿地") == ["NEW1"]
    assert found(engine, "金鱼草") == ["R01100"] and found(engine, "第1100号样本") == []
    assert found(engine, "常规样本正文10") == [] and found(engine, "常规样本正文1199") == ["R01199"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM search_docs")).scalar_one() == 1200
        assert conn.execute(text("SELECT count(*) FROM search_changes")).scalar_one() == 0
        assert not index.is_stale(conn) and not index.rebuilding(conn)
    assert leftovers(engine) == []
    with engine.begin() as conn:  # writes after the swap go to the new tables, and are not logged
        open_index(conn).upsert(conn, [item("NEW2", "关于灰鹤的通知")])
    assert found(engine, "灰鹤") == ["NEW2"]


KILLED = """
import os, sys
sys.path.insert(0, {root!r})
from sqlalchemy import create_engine
from lantai.catalog.db import make_engine
from lantai.search import open_index
from lantai.search.online import rebuild
from tests.integration.test_search_backends import item
url, schema = {url!r}, {schema!r}
engine = make_engine(url) if url.startswith("sqlite") else create_engine(url, connect_args={{"options": "-csearch_path=" + schema}})
def entries():
    for i in range(3000):
        if i == 2000:
            os._exit(3)  # killed mid-way: no clean-up of any kind
        yield item(f"K{{i:05d}}", f"关于第{{i}}号重建样本的通知")
with engine.connect() as conn:
    index = open_index(conn)
rebuild(engine, index, entries(), lambda ids: [])
"""


def test_a_killed_rebuild_leaves_the_old_index_working(engine: Engine, tmp_path: Path) -> None:  # noqa: F811
    fresh(engine, corpus(30))
    url = engine.url.render_as_string(hide_password=False)
    schema = None
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    script = tmp_path / "killed.py"
    script.write_text(KILLED.format(root=str(ROOT), url=url, schema=schema), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 3, done.stderr
    assert found(engine, "重建样本") == []  # the shadow tables are not searched
    assert found(engine, "常规样本正文7") == ["R00007"]
    with engine.begin() as conn:  # the old index takes writes
        GuardedIndex(open_index(conn)).upsert(conn, [item("N1", "关于红隼的通知")])
    assert found(engine, "红隼") == ["N1"]
    with engine.connect() as conn:
        index = open_index(conn)
        assert index.rebuilding(conn)  # the dead rebuild's mark: writers still log their changes
    rebuild(engine, index, iter([*corpus(30), item("N1", "关于红隼的通知")]), lambda ids: [])
    assert leftovers(engine) == []
    assert found(engine, "红隼") == ["N1"] and len(found(engine, "常规样本")) == 30


# --- the archive: a real ingest while `lantai search reindex` runs -----------------------------------
BULK = 3000


def _catalogue_many(archive: Archive) -> None:
    """BULK catalogue rows without stored text (fast to add; the rebuild reads them all)."""
    with Session(archive.engine) as session, session.begin():
        session.add_all(Item(record_id=f"B-{n:05d}", title=f"关于第{n}号批量样本的通知", year=2024, date="2024-05-01",
                             retention="永久", organisation="办公室", document_type="通知",
                             security_classification="公开", archival_code=f"Q001-WS·2024-Y-{n:05d}",
                             fonds_code="Q001") for n in range(BULK))


def test_ingest_during_a_reindex_succeeds_and_both_are_indexed(archive: Archive, tmp_path: Path,
                                                               monkeypatch) -> None:
    _catalogue_many(archive)
    reading = search_index.iter_entries

    def slow_entries(arch: Archive) -> Iterator[IndexEntry]:
        for n, entry in enumerate(reading(arch)):
            if n % 100 == 0:
                time.sleep(0.2)  # a reindex of a large archive: still loading when the ingest comes
            yield entry

    monkeypatch.setattr(search_index, "iter_entries", slow_entries)
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["count"] = search_index.reindex(archive, workers=1)
        except Exception as exc:  # reported by the assertions below
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    try:
        _wait_for_rebuild(archive)
        spec = SipSpec("S-ONLINE", title="关于湿地候鸟监测的通知", files={"正文.pdf": pdf_bytes("候鸟监测样线调查记录")})
        started = time.monotonic()
        report = ingest_paths(archive, [write_item(tmp_path / "S-ONLINE", spec)])
        took = time.monotonic() - started
        assert report.items[0].status == "accepted", report.to_dict()
        assert worker.is_alive(), "the reindex ended before the ingest: nothing was tested"
        assert took < 20, took  # an ingest of one item; it waited for one chunk of the reindex at most
        print(f"ingest during a reindex ({archive.engine.dialect.name}): {took:.2f} s")
    finally:
        worker.join(timeout=600)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["count"] >= BULK
    hits = search_index.search(archive, "候鸟监测", clearance="公开")
    assert [h.record_id for h in hits.hits] == ["S-ONLINE"]  # ingested during the rebuild: caught up
    assert search_index.search(archive, "批量样本", clearance="公开").total == BULK  # the reindexed entries
    with archive.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM search_docs")).scalar_one() == BULK + 1
        assert not open_index(conn).is_stale(conn)


def _wait_for_rebuild(archive: Archive) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with archive.engine.connect() as conn:
            try:
                if open_index(conn).rebuilding(conn):
                    time.sleep(0.5)  # into the load
                    return
            except Exception:  # the tables may be being created
                pass
        time.sleep(0.05)
    raise AssertionError("the reindex never started")
