"""收集 over the API: SIP zip and multipart items, batches, idempotency, status, 重新检测."""

from __future__ import annotations

import concurrent.futures
import io
import zipfile

from tests.api.conftest import World, make_account, pdf_bytes, sip_zip
from tests.sipfactory import SipSpec, metadata_xml, process_xml, write_batch, zip_item


def _post(client, data: bytes, key: str | None = None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/submissions", headers=headers, files={"package": ("sip.zip", data, "application/zip")})


def test_zip_submission_then_replay_with_same_key(world: World) -> None:
    clerk = world.client("clerk")
    data = sip_zip(world.tmp, "Z109-WS-2025-S0001")
    first = _post(clerk, data, "oa-42")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "accepted" and body["record_id"] == "Z109-WS-2025-S0001" and body["replayed"] is False
    again = _post(clerk, data, "oa-42")
    assert again.status_code == 200 and again.json()["replayed"] is True and again.json()["id"] == body["id"]
    assert _post(clerk, sip_zip(world.tmp, "Z109-WS-2025-S0002"), "oa-42").status_code == 409
    status = clerk.get(f"/api/v1/submissions/{body['id']}").json()
    assert status["status"] == "accepted" and status["submitted_by"] == "clerk"
    resubmitted = _post(clerk, data, "oa-43")
    assert resubmitted.json()["status"] == "duplicate"


def test_concurrent_retries_with_one_key_ingest_once(world: World) -> None:
    data = sip_zip(world.tmp, "Z109-WS-2025-S0100")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _post(world.client("clerk"), data, "race-1"), range(4)))
    codes = sorted(a.status_code for a in answers)
    assert all(c in (200, 201, 409) for c in codes) and codes.count(201) == 1
    ids = {a.json()["id"] for a in answers if a.status_code in (200, 201)}
    assert len(ids) == 1


def test_multipart_item_submission(world: World) -> None:
    spec = SipSpec(record_id="Z109-WS-2025-S0003", files={"正文.pdf": pdf_bytes("多部件提交")}, manifest=None)
    response = world.client("clerk").post(
        "/api/v1/submissions", headers={"Idempotency-Key": "mp-1"},
        files=[("metadata", ("元数据.xml", metadata_xml(spec), "application/xml")),
               ("process", ("过程信息.xml", process_xml(spec), "application/xml")),
               ("files", ("正文.pdf", spec.files["正文.pdf"], "application/pdf"))])
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "accepted"


def test_rejected_submission_reports_why_and_can_be_rechecked(world: World) -> None:
    spec = SipSpec(record_id="Z109-WS-2025-S0004", files={"正文.pdf": pdf_bytes("缺文件")}, manifest=None)
    response = world.client("clerk").post(
        "/api/v1/submissions",
        files=[("metadata", ("元数据.xml", metadata_xml(spec), "application/xml"))])
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "rejected" and body["recheck_available"] is True
    assert any(f["code"] == "gd-2-3a" for f in body["report"]["findings"])  # reported once, by DA/T 70
    assert world.client("clerk").post(f"/api/v1/submissions/{body['id']}/recheck").status_code == 403
    again = world.client("archivist").post(f"/api/v1/submissions/{body['id']}/recheck")
    assert again.status_code == 200 and again.json()["status"] == "rejected"
    accepted = _post(world.client("clerk"), sip_zip(world.tmp, "Z109-WS-2025-S0005"))
    assert world.client("archivist").post(f"/api/v1/submissions/{accepted.json()['id']}/recheck").status_code == 409


def test_garbage_is_rejected_not_a_500(world: World) -> None:
    clerk = world.client("clerk")
    garbage = _post(clerk, b"this is not a zip")
    assert garbage.status_code == 201 and garbage.json()["status"] == "rejected"
    assert clerk.post("/api/v1/submissions").status_code == 400
    assert _post(clerk, b"").status_code == 400
    assert _post(clerk, b"x", key="bad key with spaces").status_code == 400
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../etc/passwd", "x")
    assert _post(clerk, evil.getvalue()).json()["status"] == "rejected"


def test_batch_submission(world: World) -> None:
    specs = [SipSpec(record_id=f"Z109-WS-2025-B{i:04d}", files={"正文.pdf": pdf_bytes(f"批次{i}")}) for i in range(1, 4)]
    batch = write_batch(world.tmp / "batch-src", specs)
    response = world.client("archivist").post("/api/v1/batches", headers={"Idempotency-Key": "batch-1"},
                                              files={"package": ("batch.zip", zip_item(batch).read_bytes(), "application/zip")})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "complete" and body["kind"] == "batch"
    assert body["report"]["counts"]["accepted"] == 3
    not_a_batch = world.client("archivist").post("/api/v1/batches", files={"package": ("b.zip", sip_zip(world.tmp, "Z109-WS-2025-B0099"), "application/zip")})
    assert not_a_batch.status_code == 400 and "归档登记表" in not_a_batch.json()["message"]


def test_submission_visibility(world: World) -> None:
    created = _post(world.client("clerk"), sip_zip(world.tmp, "Z109-WS-2025-S0006")).json()
    assert world.client("archivist").get(f"/api/v1/submissions/{created['id']}").status_code == 200
    assert world.client("reader").get(f"/api/v1/submissions/{created['id']}").status_code == 403  # no submission rights at all
    mine = world.client("clerk").get("/api/v1/submissions").json()
    assert mine["total"] >= 1 and {s["submitted_by"] for s in mine["items"]} == {"clerk"}
    assert world.client("reader").get("/api/v1/submissions").status_code == 403
    rejected = world.client("archivist").get("/api/v1/submissions", params={"status": "rejected"}).json()
    assert all(s["status"] == "rejected" for s in rejected["items"])


def test_secret_submission_hidden_from_under_cleared_archivist(world: World) -> None:

    created = _post(world.client("clerk"), sip_zip(world.tmp, "Z109-WS-2025-S0007", security="秘密")).json()
    assert created["security"] == "秘密"
    token = make_account(world.archive, "inboxlow", ["档案管理员"], "内部")
    low = world.client()
    low.headers["Authorization"] = f"Bearer {token}"
    assert low.get(f"/api/v1/submissions/{created['id']}").status_code == 404
    assert created["id"] not in {s["id"] for s in low.get("/api/v1/submissions", params={"page_size": 100}).json()["items"]}
