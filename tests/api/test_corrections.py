"""著录更正 (issue 17): a resubmission with changed metadata is a ``conflict`` naming the elements;
the change then goes through the explicit correction path (API and CLI), which writes a new
version naming the corrector and the reason, updates catalogue and index, and is journalled."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from lantai.services.catalogue import METADATA_PATH
from lantai.services.ingest import BatchContext, commit_item, prepare_item
from tests.api.conftest import PUBLIC_ID, SECRET_ID, World
from tests.conftest import cli_env
from tests.sipfactory import SipSpec, write_item

CORRECTED_TITLE = "关于做好2025年度电子文件归档工作的补充通知"


def _resubmit(world: World, record_id: str, title: str) -> dict:
    """The item again, with its archived content bytes and another 题名."""
    store = world.archive.store
    body = store.read_bytes(record_id, "content/正文.pdf", version=1)
    spec = SipSpec(record_id=record_id, title=title, security="公开", files={"正文.pdf": body},
                   document_number=f"X政办发〔2025〕{record_id[-3:]}号")
    item = write_item(world.tmp / f"again-{os.urandom(4).hex()}", spec)
    context = BatchContext(submitted_by="clerk")
    return commit_item(world.archive, prepare_item(world.archive.settings, item, context), context).to_dict()


def _journal(world: World, action: str, target: str) -> list:
    return [r for r in world.archive.audit.iter_journal()
            if not isinstance(r, Exception) and r.action == action and r.target == target]


def test_changed_metadata_is_a_conflict_then_an_explicit_correction_makes_a_new_version(world: World) -> None:
    refused = _resubmit(world, PUBLIC_ID, CORRECTED_TITLE)
    assert refused["status"] == "conflict", refused
    named = [f["element"] for f in refused["findings"] if f["code"] == "metadata_conflict"]
    assert named == ["内容描述/题名"]  # the differing element, named
    assert "lantai correct" in refused["message"]
    archivist = world.client("archivist")
    before = archivist.get(f"/api/v1/items/{PUBLIC_ID}").json()
    assert before["title"] != CORRECTED_TITLE  # the conflict changed nothing

    done = archivist.post(f"/api/v1/items/{PUBLIC_ID}/corrections",
                          json={"values": {"题名": CORRECTED_TITLE}, "reason": "核对发文稿纸，题名漏“补充”二字"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["version"] == before["versions"][-1]["version"] + 1 and body["corrected_by"] == "archivist"
    assert body["changed"] == [{"element": "内容描述/题名", "from": before["title"], "to": CORRECTED_TITLE}]
    after = archivist.get(f"/api/v1/items/{PUBLIC_ID}").json()
    assert after["title"] == CORRECTED_TITLE
    newest = after["versions"][-1]
    assert newest["user"] == "archivist" and "核对发文稿纸" in newest["message"] and "著录更正" in newest["message"]
    stored = world.archive.store.read_bytes(PUBLIC_ID, METADATA_PATH).decode()
    assert CORRECTED_TITLE in stored and "<密级>公开</密级>" in stored  # only the title changed
    hits = archivist.get("/api/v1/search", params={"q": "补充通知"}).json()
    assert PUBLIC_ID in [h["record_id"] for h in hits["items"]]  # the index follows in the same unit
    entry = _journal(world, "item.corrected", PUBLIC_ID)[-1]
    assert entry.actor == "archivist" and entry.details["reason"].startswith("核对发文稿纸")
    assert entry.details["elements"] == ["内容描述/题名"] and entry.details["to"] == [CORRECTED_TITLE]
    # the submission now says what the archive says: a duplicate, no longer a conflict
    assert _resubmit(world, PUBLIC_ID, CORRECTED_TITLE)["status"] == "duplicate"


def test_a_correction_refuses_other_paths_bad_values_and_other_roles(world: World) -> None:
    archivist = world.client("archivist")

    def post(values: dict, reason: str = "更正", who: str = "archivist") -> object:
        return world.client(who).post(f"/api/v1/items/{PUBLIC_ID}/corrections", json={"values": values, "reason": reason})

    classification = post({"密级": "内部"})
    assert classification.status_code == 400 and "安全保密管理员" in classification.json()["message"]
    assert post({"电子文件号": "X-1"}).status_code == 400
    assert post({"档号/件号": "9"}).status_code == 400
    bad_date = post({"日期": "2025-13-45"})
    assert bad_date.status_code == 422 and "日期" in bad_date.json()["message"]
    current = archivist.get(f"/api/v1/items/{PUBLIC_ID}").json()["title"]
    assert post({"题名": current}).status_code == 400  # nothing would change
    assert post({"题名": "新题名"}, reason="").status_code == 422
    assert post({"题名": "新题名"}, who="reader").status_code == 403
    assert post({"题名": "新题名"}, who="clerk").status_code == 403
    assert post({"题名": "新题名"}, who="secadmin").status_code == 403
    hidden = world.client("reader").post(f"/api/v1/items/{SECRET_ID}/corrections",
                                         json={"values": {"题名": "x"}, "reason": "x"})
    assert hidden.status_code == 403
    assert archivist.get(f"/api/v1/items/{PUBLIC_ID}").json()["title"] == current  # none of them wrote


def test_cli_correction_adds_an_absent_element_in_schema_order(world: World) -> None:
    settings = world.archive.settings
    result = subprocess.run([sys.executable, "-m", "lantai.cli.main", "correct", PUBLIC_ID, "--set", "抄送=各委办局",
                             "--set", "内容描述/主送=各街道办事处、各委办局", "--reason", "补录抄送", "--user", "archivist",
                             "--json"], env=cli_env(settings), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = json.loads(result.stdout)
    assert out["corrected_by"] == "archivist" and {c["element"] for c in out["changed"]} == {"内容描述/抄送", "内容描述/主送"}
    stored = world.archive.store.read_bytes(PUBLIC_ID, METADATA_PATH).decode()
    assert stored.index("<主送>") < stored.index("<抄送>各委办局</抄送>") < stored.index("<密级>")
    refused = subprocess.run([sys.executable, "-m", "lantai.cli.main", "correct", PUBLIC_ID, "--set", "密级=秘密",
                              "--reason", "x", "--user", "archivist"], env=cli_env(settings), capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stdout + refused.stderr
