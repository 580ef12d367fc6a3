"""The 接收 side of /transfers: a transfer package built by another archive with the project's own
``export_transfer``, received here with the default check profile and the session's clamd, listed
on the page, and its 接收登记表 downloaded as XLSX and PDF stating only what the receipt recorded."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from lantai.crypto.keystore import open_keystore
from lantai.services.archive import init_archive
from lantai.services.arrange import arrange, file_arrangement
from lantai.services.ingest import ingest_paths
from lantai.services.transfer import TransferReceipt, export_transfer, receive_transfer
from lantai.settings import Settings
from tests.api.conftest import World, pdf_bytes
from tests.api.test_printing_and_statistics import _printed
from tests.api.test_web import _login
from tests.sipfactory import SipSpec, write_item

SENDER = "Y区人民政府办公室档案室"


@pytest.fixture(scope="module")
def received(world: World) -> tuple[TransferReceipt, dict]:
    return receive_a_transfer(world)


def receive_a_transfer(world: World) -> tuple[TransferReceipt, dict]:
    """Two items ingested by a sending archive (default profile, the world's clamd), numbered and filed,
    exported as a transfer package with ``export_transfer`` and received by the world."""
    tmp = world.tmp / "sender"
    settings = Settings(home=tmp / "archive", database_url=None, fsync=False, workers=1, archive_name=SENDER,
                        clamd_socket=world.archive.settings.clamd_socket)
    specs = [SipSpec(record_id=f"Z109-WS-2025-TR00{i}", title=f"关于移交第{i}批文件的通知", author="Y区人民政府办公室",
                     document_number=f"Y政办发〔2025〕{i}号", files={"正文.pdf": pdf_bytes(f"移交{i}")})
             for i in (1, 2)]
    with init_archive(settings) as sender:
        report = ingest_paths(sender, [write_item(tmp / "sips", s) for s in specs], actor="test")
        assert report.counts()["accepted"] == 2, report.to_dict()
        arrange(sender, "Z109", 2025, actor="test")  # a sender numbers (档号) and files the year before it transfers
        file_arrangement(sender, "Z109", 2025, actor="test")
        exported = export_transfer(sender, 2025, tmp / "carrier", actor="test")
    sender_keys = open_keystore(settings.keys_dir, SENDER)
    ours = open_keystore(world.archive.settings.keys_dir, world.archive.settings.archive_name)
    ours.trust_ca(sender_keys.ca_certificate_path)
    receipt = receive_transfer(world.archive, exported.directory, actor="archivist")
    return receipt, exported.to_dict()


def test_the_page_lists_a_received_transfer(world: World, received: tuple[TransferReceipt, dict]) -> None:
    receipt, exported = received
    assert receipt.receipt.conclusion == "全部接收", [(i.result, i.note) for i in receipt.receipt.items] + receipt.receipt.checks
    transfer_id = exported["transfer_id"]
    client, _ = _login(world, "archivist")
    page = client.get("/transfers")
    assert page.status_code == 200
    row = re.search(r"<h2>本馆接收</h2>.*?</tbody>", page.text, re.S).group(0)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))
    assert receipt.receipt.received_at[:16].replace("T", " ") in text
    assert f" {exported['register']['unit_name']} 2 2 全部接收 " in text and "暂无接收记录" not in text
    assert f"/transfers/in/{transfer_id}/register.xlsx" in row and f"/transfers/in/{transfer_id}/register.pdf" in row


def _expected(receipt: TransferReceipt, exported: dict) -> list[tuple[str, str]]:
    """What the receipt recorded, from the sender's export and the receipt (not the page's own code)."""
    r = receipt.receipt
    return [("单位名称（移交单位）", exported["register"]["unit_name"]), ("移交标识", exported["transfer_id"]),
            ("接收单位", r.receiver), ("接收时间", r.received_at), ("件数", "2"), ("接收件数", "2"),
            ("重复件数", "0"), ("拒收件数", "0"), ("接收结论", "全部接收")]


def test_the_receiving_register_states_only_what_was_recorded(world: World, received: tuple[TransferReceipt, dict]) -> None:
    receipt, exported = received
    transfer_id = exported["transfer_id"]
    assert receipt.receipt.receiver == world.archive.settings.archive_name
    client, _ = _login(world, "archivist")
    xlsx = client.get(f"/transfers/in/{transfer_id}/register.xlsx")
    assert xlsx.status_code == 200, xlsx.text
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    _printed(sheet)
    assert sheet["A3"].font.name == "宋体" and sheet["B3"].alignment.wrap_text
    rows = [tuple("" if c.value is None else str(c.value) for c in row) for row in sheet.iter_rows()]
    assert rows[0][0] == "电子档案移交与接收登记表" and rows[1] == ("项目", "内容")
    body = [r for r in rows[2:] if any(r)]
    assert body[:9] == _expected(receipt, exported)
    checks = body[9:-3]
    assert len(checks) == len(receipt.receipt.checks) and checks
    for (label, value), line in zip(checks, receipt.receipt.checks, strict=True):
        assert label.startswith("检测：") and not re.search(r"[a-z]{2}-\d", label), label  # 移交 1-1, not yj-1-1
        assert value == f"{line['result']}　{line['message']}"
    assert body[-3:] == [("清单 SM3", exported["manifest_sm3"]), ("移交单位（签章）", ""), ("接收单位（签章）", "")]
    assert all("载体" not in v or "载体" in k for k, v in body[:9])

    pdf = client.get(f"/transfers/in/{transfer_id}/register.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf.content))
    text = "".join(page.extract_text() for page in reader.pages)
    flat = re.sub(r"\s+", "", text)
    assert "电子档案移交与接收登记表" in flat
    for label, value in [*body[:9], ("清单 SM3", exported["manifest_sm3"])]:
        assert re.sub(r"\s+", "", label) in flat and re.sub(r"\s+", "", value) in flat, (label, value)
    assert "部分接收" not in flat and "拒收件数0" in flat.replace("：", "")


def test_the_receiving_register_is_not_for_everyone(world: World, received: tuple[TransferReceipt, dict]) -> None:
    transfer_id = received[1]["transfer_id"]
    reader, _ = _login(world, "reader")
    assert reader.get(f"/transfers/in/{transfer_id}/register.pdf").status_code == 403
    archivist, _ = _login(world, "archivist")
    assert archivist.get("/transfers/in/no-such-transfer/register.xlsx").status_code == 404
    assert archivist.get(f"/transfers/in/{transfer_id}/register.docx").status_code in (404, 422)
    assert archivist.get(f"/transfers/sideways/{transfer_id}/register.pdf").status_code in (404, 422)
    assert archivist.get(f"/transfers/in/{transfer_id}/register.pdf").status_code == 200
    actions = [(e["action"], e["target"]) for e in
               world.client("auditor").get("/api/v1/audit", params={"page_size": 100}).json()["entries"]]
    assert ("transfer.received", transfer_id) in actions and ("transfer.register_exported", transfer_id) in actions
