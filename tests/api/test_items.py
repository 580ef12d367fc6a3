"""Items: list, facets, detail, files/versions/events/checks, content access copies, exports, checks."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pikepdf

from tests.api.conftest import INTERNAL_ID, PUBLIC_ID, World

CONTENT = "content/正文.pdf"


def test_list_is_paged_and_bounded(world: World) -> None:
    client = world.client("archivist")
    first = client.get("/api/v1/items", params={"page_size": 1})
    assert first.status_code == 200
    body = first.json()
    assert len(body["items"]) == 1 and body["page_size"] == 1 and body["pages"] == body["total"]
    assert client.get("/api/v1/items", params={"page_size": 1000}).status_code == 422
    assert client.get("/api/v1/items", params={"fonds_code": "NOPE"}).json()["total"] == 0


def test_facets_walk_fonds_year_retention_organisation(world: World) -> None:
    client = world.client("archivist")
    fonds = client.get("/api/v1/items/facets").json()
    assert fonds["level"] == "fonds_code" and fonds["values"][0]["value"] == "Z109"
    year = client.get("/api/v1/items/facets", params={"fonds_code": "Z109"}).json()
    assert year["level"] == "year" and year["values"][0]["value"] == 2025
    last = client.get("/api/v1/items/facets", params={"fonds_code": "Z109", "year": 2025, "retention": "永久",
                                                        "organisation": "BGS"}).json()
    assert last["level"] is None


def test_detail_has_metadata_groups_files_versions_events_checks(world: World) -> None:
    detail = world.client("reader").get(f"/api/v1/items/{PUBLIC_ID}")
    assert detail.status_code == 200
    item = detail.json()
    groups = {g["group"] for g in item["metadata"]}
    assert {"来源", "档号", "内容描述", "形式特征"} <= groups
    assert any(f["logical_path"] == CONTENT and f["preview"] == "pdf" for f in item["files"])
    assert item["versions"][0]["version"] == 1
    assert [e["activity"] for e in item["events"]] == ["拟稿", "核稿", "签发"]
    assert item["checks"][0]["name"] == "接收检测" and item["checks"][0]["passed"] is True
    client = world.client("reader")
    assert client.get(f"/api/v1/items/{PUBLIC_ID}/files").json() == item["files"]
    assert client.get(f"/api/v1/items/{PUBLIC_ID}/versions").json() == item["versions"]
    assert client.get(f"/api/v1/items/{PUBLIC_ID}/events").json() == item["events"]
    assert client.get(f"/api/v1/items/{PUBLIC_ID}/checks").json() == item["checks"]
    assert client.get("/api/v1/items/NO-SUCH-ITEM").status_code == 404


def test_views_are_audited(world: World) -> None:
    world.client("reader").get(f"/api/v1/items/{INTERNAL_ID}")
    entries = world.client("auditor").get("/api/v1/audit", params={"action": "item.viewed", "actor": "reader"}).json()
    assert any(e["target"] == INTERNAL_ID for e in entries["entries"])


def test_download_is_a_watermarked_copy_and_the_original_is_untouched(world: World) -> None:
    original = world.archive.store.read_bytes(PUBLIC_ID, CONTENT)
    response = world.client("reader").get(f"/api/v1/items/{PUBLIC_ID}/content", params={"path": CONTENT})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["x-lantai-watermark"] == "yes"
    assert response.content != original
    with pikepdf.open(io.BytesIO(response.content)) as pdf:
        mark = str(pdf.docinfo["/LantaiWatermark"])
        assert "测试reader" in mark and "reader" in mark and "利用副本" in mark
        assert len(pdf.pages) == 2
    stored = next(f for f in world.archive.store.files(PUBLIC_ID) if f.logical_path == CONTENT)
    assert hashlib.sha512(world.archive.store.read_bytes(PUBLIC_ID, CONTENT)).hexdigest() == stored.sha512
    entries = world.client("auditor").get("/api/v1/audit", params={"action": "item.downloaded"}).json()["entries"]
    assert any(e["actor"] == "reader" and e["details"]["path"] == CONTENT for e in entries)


def test_content_errors_are_clean(world: World) -> None:
    client = world.client("reader")
    assert client.get(f"/api/v1/items/{PUBLIC_ID}/content", params={"path": "content/nothing.pdf"}).status_code == 404
    assert client.get(f"/api/v1/items/{PUBLIC_ID}/content", params={"path": "metadata/元数据.xml"}).status_code == 404
    assert client.get(f"/api/v1/items/{PUBLIC_ID}/content").status_code == 422


def test_page_png_preview(world: World) -> None:
    response = world.client("reader").get(f"/api/v1/items/{PUBLIC_ID}/pages/1", params={"path": CONTENT})
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
    assert world.client("reader").get(f"/api/v1/items/{PUBLIC_ID}/pages/9", params={"path": CONTENT}).status_code == 404


def test_run_checks_records_fixity(world: World) -> None:
    run = world.client("archivist").post(f"/api/v1/items/{INTERNAL_ID}/checks")
    assert run.status_code == 200 and run.json()["fixity"]["ok"] is True
    fixity = world.client("archivist").get(f"/api/v1/items/{INTERNAL_ID}").json()["fixity"]
    assert fixity["ok"] is True and fixity["actor"] == "archivist"


def test_package_export_holds_originals(world: World) -> None:
    response = world.client("archivist").get(f"/api/v1/items/{PUBLIC_ID}/package")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        assert zf.read(CONTENT) == world.archive.store.read_bytes(PUBLIC_ID, CONTENT)
        assert "metadata/元数据.xml" in zf.namelist() and "inventory.json" in zf.namelist()


def test_catalogue_export_csv(world: World) -> None:
    response = world.client("archivist").get("/api/v1/export/catalogue.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("档号,电子文件号,题名")
    assert any(PUBLIC_ID in line for line in lines[1:])


def test_statistics_and_search(world: World) -> None:
    stats = world.client("archivist").get("/api/v1/statistics").json()
    assert stats["items"] >= 3 and stats["facets"]["year"]["values"]
    assert stats["growth"][-1]["cumulative_items"] == stats["items"]
    assert stats["checks"] and stats["checks"][-1]["accepted"] >= 3
    found = world.client("reader").get("/api/v1/search", params={"q": "内部工作"}).json()
    assert [i["record_id"] for i in found["items"]] == [INTERNAL_ID]
    assert world.client("reader").get("/api/v1/search", params={"q": ""}).status_code == 422
    assert world.client("reader").get("/api/v1/search", params={"q": "%_\\"}).status_code == 200


def test_classification_change_is_a_new_version(world: World) -> None:
    sec = world.client("secadmin")
    changed = sec.put(f"/api/v1/items/{INTERNAL_ID}/classification", json={"level": "限制", "reason": "定密复核"})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["from"] == "内部" and body["to"] == "限制" and body["version"] >= 2
    detail = sec.get(f"/api/v1/items/{INTERNAL_ID}").json()
    assert detail["security_classification"] == "限制" and detail["versions"][-1]["message"].startswith("密级变更")
    assert sec.put(f"/api/v1/items/{INTERNAL_ID}/classification", json={"level": "内部", "reason": "恢复"}).status_code == 200
    assert sec.put(f"/api/v1/items/{INTERNAL_ID}/classification", json={"level": "无", "reason": "x"}).status_code == 400
