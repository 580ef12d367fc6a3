"""The 检测 button and the API run the DA/T 70 bc profile and record it; a batch is checked from
the web with progress; the 四性检测报告 of a run, an item or a batch downloads as PDF and XLSX,
only for someone who may see every item in it."""

from __future__ import annotations

import io
import time

from tests.api.conftest import INTERNAL_ID, PUBLIC_ID, SECRET_ID, World, make_account

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_api_check_runs_the_bc_profile_and_records_it(world: World) -> None:
    run = world.client("archivist").post(f"/api/v1/items/{INTERNAL_ID}/checks")
    assert run.status_code == 200, run.text
    dat70 = run.json()["dat70"]
    assert dat70["stage"] == "bc" and dat70["ok"] is True and dat70["items"] == 1 and dat70["operator"] == "archivist"
    pdf = world.client("archivist").get(f"/checks/{dat70['run_id']}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = world.client("archivist").get(f"/checks/{dat70['run_id']}/report.xlsx")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"] == XLSX
    from openpyxl import load_workbook

    overview = {r[0].value: r[1].value for r in load_workbook(io.BytesIO(xlsx.content))["检测概况"].iter_rows()}
    assert overview["检测人"].startswith("archivist") and "（北京时间）" in overview["检测时间"]
    actions = [(r.action, r.target) for r in world.archive.audit.iter_journal()]
    assert ("check.run", dat70["run_id"]) in actions


def test_item_page_button_shows_the_dat70_result(world: World) -> None:
    client = world.session_client("archivist")
    shown = client.post(f"/items/{PUBLIC_ID}/checks", headers={"X-CSRF-Token": client.csrf})
    assert shown.status_code == 200 and "四性检测（DA/T 70，长期保存 bc 环节）" in shown.text
    assert "模块尚未安装" not in shown.text and "下载检测报告（PDF）" in shown.text
    page = client.get(f"/items/{PUBLIC_ID}")
    assert "/ingest-report.pdf" in page.text and "bc 检测（archivist）" in page.text


def test_batch_check_from_the_web_with_progress(world: World) -> None:
    client = world.session_client("archivist")
    page = client.get("/checks")
    assert page.status_code == 200 and "开始检测" in page.text
    started = client.post("/checks/run", data={"batch": ""}, headers={"X-CSRF-Token": client.csrf})
    assert started.status_code == 200 and "/checks/jobs/" in started.text, started.text
    job = started.text.split("/checks/jobs/")[1][:32]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/checks/jobs/{job}")
        if "下载检测报告" in status.text or "检测未能完成" in status.text:
            break
        time.sleep(0.5)
    assert "共 3 件，通过 3 件" in status.text, status.text  # archivist (机密) sees all three
    assert world.session_client("clerk").get(f"/checks/jobs/{job}").status_code in (403, 404)


def test_ingest_reports_download_for_item_and_batch(world: World) -> None:
    from lantai.services.ingest import ingest_paths
    from tests.sipfactory import specs, write_batch

    client = world.client("archivist")
    item = client.get(f"/items/{PUBLIC_ID}/ingest-report.pdf")
    assert item.status_code == 200 and item.content.startswith(b"%PDF")
    report = ingest_paths(world.archive, [write_batch(world.tmp / "web-batch", specs(2, prefix="Z109-WS-2025-B"))])
    assert report.counts()["accepted"] == 2
    batch = client.get(f"/batches/{report.batches[0]['batch_id']}/ingest-report.xlsx")
    assert batch.status_code == 200 and batch.headers["content-type"] == XLSX
    from openpyxl import load_workbook

    overview = {r[0].value: r[1].value for r in load_workbook(io.BytesIO(batch.content))["检测概况"].iter_rows()}
    assert "共 2 件" in overview["检测对象"] and "登记 2 件，实有 2 件" in overview["登记表件数"]


def test_reports_respect_clearance(world: World) -> None:
    from lantai.domain.permissions import Role

    token = make_account(world.archive, "lowchecker", [Role.ARCHIVIST.value], "内部")
    low = world.client()
    low.headers["Authorization"] = f"Bearer {token}"
    secret_run = world.client("archivist").post(f"/api/v1/items/{SECRET_ID}/checks").json()["dat70"]["run_id"]
    assert low.get(f"/checks/{secret_run}/report.pdf").status_code == 404
    assert low.get(f"/items/{SECRET_ID}/ingest-report.pdf").status_code == 404
    assert world.client("reader").get("/checks").status_code == 403
