"""The search index follows the archive: ingest indexes body text in the same unit of work,
clearance filters results, rebuild reindexes from stored text, a broken index never blocks ingest."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from lantai.services import search_index
from lantai.services.archive import Archive
from lantai.services.ingest import ingest_paths
from lantai.services.rebuild import rebuild_catalogue
from tests.api.conftest import pdf_bytes
from tests.sipfactory import SipSpec, write_item


def _ingest(archive: Archive, tmp: Path, record_id: str, title: str, body: str, security: str = "公开") -> None:
    spec = SipSpec(record_id, title=title, security=security, files={"正文.pdf": pdf_bytes(body)})
    report = ingest_paths(archive, [write_item(tmp / record_id, spec)])
    assert report.items[0].status == "accepted", report.to_dict()


def _found(archive: Archive, query: str, clearance: str = "公开") -> list[str]:
    return [h.record_id for h in search_index.search(archive, query, clearance=clearance).hits]


def test_ingest_indexes_body_text_and_clearance_filters(archive: Archive, tmp_path: Path) -> None:
    _ingest(archive, tmp_path, "S-1", "关于开展档案数字化工作的通知", "全区机关档案数字化加工验收办法")
    _ingest(archive, tmp_path, "S-2", "关于保密工作的通知", "涉密载体管理与档案数字化安全要求", security="秘密")
    assert archive.store.read_bytes("S-1", search_index.TEXT_PATH).decode().startswith("全区机关")
    assert _found(archive, "验收办法") == ["S-1"]  # body text only, not in the title
    assert _found(archive, "档案数字化") == ["S-1"]
    assert sorted(_found(archive, "档案数字化", clearance="机密")) == ["S-1", "S-2"]
    assert _found(archive, "涉密载体") == []  # above the clearance: not even a count
    assert search_index.search(archive, "涉密载体", clearance="公开").total == 0


def test_rebuild_reindexes_from_stored_text(archive: Archive, tmp_path: Path) -> None:
    _ingest(archive, tmp_path, "S-3", "关于统计报表报送的通知", "年度统计报表报送时间安排")
    before = _found(archive, "报表报送")
    rebuild_catalogue(archive)
    assert _found(archive, "报表报送") == before == ["S-3"]


def test_broken_index_never_blocks_ingest_and_reindex_repairs_it(archive: Archive, tmp_path: Path) -> None:
    with archive.engine.begin() as conn:
        table = "search_docs"
        conn.execute(text(f"DROP TABLE {table}" + (" CASCADE" if conn.dialect.name == "postgresql" else "")))
    _ingest(archive, tmp_path, "S-4", "关于防汛抗旱工作的通知", "汛期值班与应急值守安排")  # still accepted
    with archive.engine.connect() as conn:
        assert search_index._guarded(archive.home, conn).is_stale(conn)
    assert search_index.reindex(archive) == 1
    assert _found(archive, "应急值守") == ["S-4"]
