"""``lantai appraise``, ``lantai destroy`` and ``lantai hold`` as a user runs them: --json, --actor,
exit codes 0/1/2 and the one error shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from lantai.settings import Settings
from tests.conftest import cli_env
from tests.integration.appraisal_world import seed
from tests.integration.test_appraisal_flow import DESTROY, EXTEND, KEEP


def lantai(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**cli_env(settings), "LANTAI_CLAMD_SOCKET": os.environ.get("LANTAI_CLAMD_SOCKET", "")}
    return subprocess.run([sys.executable, "-m", "lantai.cli.main", *args, "--json"], env=env, capture_output=True,
                          text=True, timeout=300)


def ok(settings: Settings, *args: str) -> dict:  # type: ignore[type-arg]
    result = lantai(settings, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_appraisal_from_the_command_line(archive, settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    seed(archive, tmp_path)
    archive.close()
    due = ok(settings, "appraise", "due", "--year", "2025", "--actor", "zhang")
    assert {(r["label"], r["year"], r["count"]) for r in due} >= {("到期鉴定", 2010, 2), ("到期鉴定", 2014, 1)}
    campaign = ok(settings, "appraise", "open", "--type", "到期", "--year", "2025", "--actor", "zhang")
    cid = str(campaign["id"])
    assert campaign["items"] == 3
    ok(settings, "appraise", "decide", cid, DESTROY, "--decision", "销毁", "--reason", "到期无保存价值", "--actor", "zhang")
    ok(settings, "appraise", "decide", cid, EXTEND, KEEP, "--decision", "延长", "--retention", "永久", "--reason", "仍有价值",
       "--actor", "zhang")
    refused = lantai(settings, "appraise", "approve", cid, "--actor", "zhang")  # not submitted, and one's own
    assert refused.returncode == 2 and json.loads(refused.stdout)["code"] == "permission_denied"
    own = lantai(settings, "appraise", "submit", cid, "--approver", "zhang", "--approver", "li", "--actor", "zhang")
    assert own.returncode == 2 and "提出人" in json.loads(own.stdout)["message"]
    ok(settings, "appraise", "submit", cid, "--approver", "li", "--approver", "wang", "--actor", "zhang")
    ok(settings, "appraise", "approve", cid, "--comment", "同意", "--actor", "li")
    assert ok(settings, "appraise", "approve", cid, "--actor", "wang")["status"] == "已批准"
    executed = ok(settings, "appraise", "execute", cid, "--actor", "zhang")
    assert executed["states"] == {"已执行": 2, "待销毁": 1}
    target = tmp_path / "清册.xlsx"
    ok(settings, "appraise", "register", cid, "-o", str(target), "--actor", "zhao")
    assert target.read_bytes().startswith(b"PK")

    hold = ok(settings, "hold", "add", "--record", DESTROY, "--reason", "审计检查", "--actor", "secadmin")
    waiting = lantai(settings, "destroy", cid, "--now", "--actor", "zhao")
    assert waiting.returncode == 1 and json.loads(waiting.stdout)["destruction"]["waiting"] == [DESTROY]
    assert [h["state"] for h in ok(settings, "hold", "list", "--actor", "zhao")] == ["冻结中"]
    ok(settings, "hold", "lift", str(hold["id"]), "--reason", "检查结束", "--actor", "zhao")
    by_proposer = lantai(settings, "destroy", cid, "--now", "--actor", "zhang")
    assert by_proposer.returncode == 2 and json.loads(by_proposer.stdout)["code"] == "permission_denied"
    destroyed = ok(settings, "destroy", cid, "--now", "--actor", "zhao")
    assert destroyed["status"] == "已销毁" and destroyed["destruction"]["destroyed"] == 1
    assert lantai(settings, "verify").returncode == 0
    unknown = lantai(settings, "appraise", "show", "999", "--actor", "zhang")
    assert unknown.returncode == 2 and json.loads(unknown.stdout)["code"] == "not_found"
