"""收集 in the web UI: batches by 单位 · 年度 · 件数 · 状态, every item's findings when the register
refuses the batch, one byte total for web and CLI, a batch sent as an item, and 重新提交."""

from __future__ import annotations

import re
import subprocess
import sys
from urllib.parse import unquote

from tests.api.conftest import World, pdf_bytes
from tests.api.test_web import _login
from tests.conftest import cli_env
from tests.sipfactory import SipSpec, write_batch, zip_item


def _specs(prefix: str, n: int = 2) -> list[SipSpec]:
    return [SipSpec(record_id=f"Z109-WS-2025-{prefix}{i}", title=f"关于{prefix}第{i}项工作的通知",
                    document_number=f"X政办发〔2025〕{prefix}{i}号", files={"正文.pdf": pdf_bytes(f"{prefix}{i}")})
            for i in range(1, n + 1)]


def _upload(world: World, username: str, data: bytes, kind: str, name: str = "批次.zip"):
    client, csrf = _login(world, username)
    response = client.post("/collect/upload", data={"kind": kind, "csrf_token": csrf},
                           files={"package": (name, data, "application/zip")}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client, csrf, int(re.search(r"提交 #(\d+)", unquote(response.headers["location"])).group(1))


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_register_mismatch_still_reports_every_items_findings(world: World) -> None:
    specs = _specs("RM")
    specs[1].declared_sizes = {}
    specs[1].files = {"正文.pdf": specs[1].files["正文.pdf"]}
    batch = write_batch(world.tmp / "rm-src", specs, bytes_delta=7)
    (batch / specs[1].record_id / "正文.pdf").unlink()  # the second item lacks its content file
    client, _csrf, sid = _upload(world, "archivist", zip_item(batch).read_bytes(), "batch")
    body = world.client("archivist").get(f"/api/v1/submissions/{sid}").json()
    assert body["status"] == "rejected"
    batch_row = body["report"]["batches"][0]
    assert batch_row["status"] == "rejected" and "2-1" in batch_row["message"]
    items = {i["record_id"]: i for i in body["report"]["items"]}
    assert set(items) == {s.record_id for s in specs}  # both items were checked, not only the register
    assert any(f["code"] == "gd-2-3a" for f in items[specs[1].record_id]["findings"])
    assert "整批未接收" in items[specs[0].record_id]["message"]
    assert world.client("archivist").get(f"/api/v1/items/{specs[0].record_id}").status_code == 404  # nothing archived
    page = client.get(f"/collect/{sid}")
    text = _text(page.text)
    assert page.status_code == 200 and "X区人民政府办公室 · 2025 · 2 件 · 拒收" in text
    assert "归档登记表与批次内容不符" in text and "逐件检测结果（2 件）" in text
    assert "归档 2-3" in text and specs[1].record_id in text and "整批未接收" in text
    inbox = _text(client.get("/collect").text)
    assert "X区人民政府办公室 · 2025 · 2 件" in inbox and batch_row["batch_id"] not in inbox


def test_the_batch_byte_total_is_the_same_in_the_web_and_the_cli(world: World) -> None:
    """A 计算机文件大小 declared one byte too many is that item's finding, not a register mismatch:
    the web's 实有 bytes and the CLI check's 2-1 figure are both the bytes of the files."""
    specs = _specs("BT")
    actual = sum(len(d) for s in specs for d in s.files.values())
    specs[0].declared_sizes = {"正文.pdf": len(specs[0].files["正文.pdf"]) + 1}
    batch = write_batch(world.tmp / "bt-src", specs)
    csv_path = batch / "归档登记表.csv"
    rows = csv_path.read_text(encoding="utf-8").splitlines()
    rows[1] = re.sub(r",\d+$", f",{actual}", rows[1])  # the register states the files' real total
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    client, _csrf, sid = _upload(world, "archivist", zip_item(batch).read_bytes(), "batch")
    body = world.client("archivist").get(f"/api/v1/submissions/{sid}").json()
    assert body["batch"]["actual_bytes"] == actual and body["batch"]["declared_bytes"] == actual
    assert body["status"] == "partial"  # the item with the wrong size is refused by its own check (1-3)
    assert f"实有 {actual} 字节" in _text(client.get(f"/collect/{sid}").text)
    cli = subprocess.run([sys.executable, "-m", "lantai.cli.main", "check", str(batch), "--stage", "gd", "--json"],
                         capture_output=True, text=True, timeout=300,
                         env={**cli_env(world.archive.settings), "LANTAI_CLAMD_SOCKET": world.archive.settings.clamd_socket})
    assert cli.returncode in (0, 1), cli.stderr
    assert f"{actual} bytes" in cli.stdout or f"{actual} 字节" in cli.stdout
    assert f"实际 {actual + 1}" not in cli.stdout


def test_a_batch_zip_sent_as_one_item_gets_one_clear_message(world: World) -> None:
    batch = write_batch(world.tmp / "bi-src", _specs("BI"))
    client, _csrf, sid = _upload(world, "clerk", zip_item(batch).read_bytes(), "item", name="四月批次.zip")
    body = world.client("clerk").get(f"/api/v1/submissions/{sid}").json()
    assert body["status"] == "rejected" and body["filename"] == "四月批次.zip"
    assert len(body["report"]["findings"]) == 1
    assert "是批次包" in body["report"]["findings"][0]["message"] and f"{sid}.zip" not in str(body["report"])
    row = re.search(rf'<tr id="submission-{sid}">.*?</tr>', client.get("/collect").text, re.S).group(0)
    text = _text(row)
    assert text.count("是批次包") == 1 and "structure" not in text and f"{sid}.zip" not in text
    assert "请按“批次”提交" in text


def test_a_refused_batch_is_resubmitted_corrected_and_rechecked(world: World) -> None:
    specs = _specs("RS")
    wrong = write_batch(world.tmp / "rs-wrong", specs, count_delta=1)
    client, csrf, sid = _upload(world, "archivist", zip_item(wrong).read_bytes(), "batch")
    page = client.get(f"/collect/{sid}")
    assert "重新提交更正后的包" in page.text and "重新检测" in page.text
    again = client.post(f"/collect/{sid}/recheck", data={"csrf_token": csrf}, follow_redirects=False)
    assert again.status_code == 303
    assert world.client("archivist").get(f"/api/v1/submissions/{sid}").json()["status"] == "rejected"
    fixed = write_batch(world.tmp / "rs-fixed", specs)
    answer = client.post(f"/collect/{sid}/resubmit", data={"csrf_token": csrf},
                         files={"package": ("更正.zip", zip_item(fixed).read_bytes(), "application/zip")},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    body = world.client("archivist").get(f"/api/v1/submissions/{sid}").json()
    assert body["status"] == "complete" and body["batch"]["accepted"] == 2 and body["filename"] == "更正.zip"
    detail = client.get(f"/collect/{sid}")
    assert "四性检测报告" in detail.text and f"/batches/{body['batch']['batch_id']}/ingest-report.xlsx" in detail.text
    refused = client.post(f"/collect/{sid}/resubmit", data={"csrf_token": csrf},
                          files={"package": ("x.zip", zip_item(fixed).read_bytes(), "application/zip")})
    assert refused.status_code == 409 and "只有拒收" in refused.text
    actions = [e["action"] for e in world.client("auditor").get("/api/v1/audit", params={"page_size": 50}).json()["entries"]]
    assert "submission.resubmitted" in actions


def _api_batch(world: World, username: str, data: bytes, key: str) -> int:
    response = world.client(username).post("/api/v1/batches", headers={"Idempotency-Key": key},
                                           files={"package": ("批次.zip", data, "application/zip")})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_the_api_resubmits_a_corrected_batch_as_the_web_does(world: World) -> None:
    """POST /api/v1/submissions/{id}/resubmit: the web's 重新提交 over the same service, audited alike."""
    specs = _specs("AR")
    sid = _api_batch(world, "archivist", zip_item(write_batch(world.tmp / "ar-wrong", specs, count_delta=1)).read_bytes(),
                     "api-resubmit-ar")
    archivist = world.client("archivist")
    assert archivist.get(f"/api/v1/submissions/{sid}").json()["status"] == "rejected"
    fixed = zip_item(write_batch(world.tmp / "ar-fixed", specs)).read_bytes()
    files = {"package": ("更正批次.zip", fixed, "application/zip")}

    forbidden = world.client("reader").post(f"/api/v1/submissions/{sid}/resubmit", files=files)
    assert forbidden.status_code == 403, forbidden.text
    hidden = world.client("clerk").post(f"/api/v1/submissions/{sid}/resubmit", files=files)
    assert hidden.status_code == 404, hidden.text  # another's submission: as if it did not exist
    missing = archivist.post("/api/v1/submissions/2147483000/resubmit", files=files)
    assert missing.status_code == 404 and "不存在" in missing.json()["message"], missing.text
    assert archivist.post(f"/api/v1/submissions/{sid}/resubmit").status_code == 422  # no package
    empty = archivist.post(f"/api/v1/submissions/{sid}/resubmit", files={"package": ("空.zip", b"", "application/zip")})
    assert empty.status_code == 400 and "为空" in empty.json()["message"], empty.text
    assert archivist.post("/api/v1/submissions/0/resubmit", files=files).status_code == 422
    assert archivist.get(f"/api/v1/submissions/{sid}").json()["status"] == "rejected"  # nothing half-done

    answer = archivist.post(f"/api/v1/submissions/{sid}/resubmit", files=files)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"] == sid and body["status"] == "complete" and body["filename"] == "更正批次.zip"
    assert body["batch"]["accepted"] == 2
    for spec in specs:
        assert archivist.get(f"/api/v1/items/{spec.record_id}").status_code == 200
    again = archivist.post(f"/api/v1/submissions/{sid}/resubmit", files=files)
    assert again.status_code == 409 and "只有拒收" in again.json()["message"], again.text

    entries = world.client("auditor").get("/api/v1/audit", params={"page_size": 100}).json()["entries"]
    mine = [e for e in entries if e["action"] == "submission.resubmitted" and e["target"] == str(sid)]
    assert len(mine) == 1 and mine[0]["actor"] == "archivist"
    assert mine[0]["details"] == {"kind": "batch", "file": "更正批次.zip"}
