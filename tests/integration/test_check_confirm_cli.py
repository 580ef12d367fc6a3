"""``lantai check confirm``: an archivist records the verdict on a target DA/T 70 leaves to people;
``lantai check PATH`` still runs the checks (the group's default command)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lantai.cli.main import app
from lantai.domain.roles import Role
from lantai.services import users
from lantai.services.check_verdicts import verdicts
from lantai.services.ingest import ingest_paths
from tests.conftest import cli_env
from tests.sipfactory import SipSpec, write_item

RECORD = "Z109-WS-2025-00001"


def _lantai(settings, *args: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, list(args), env=cli_env(settings))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def test_confirm_records_the_verdict_with_the_actor(archive, settings, tmp_path: Path) -> None:
    item = write_item(tmp_path, SipSpec(RECORD))
    assert ingest_paths(archive, [item]).counts()["accepted"] == 1
    users.create_user(archive, "cli", "zhangwei", "Lantai#Test2025", display_name="张伟", roles=[Role.ARCHIVIST.value],
                      clearance="机密", bootstrap=True)

    code, out = _lantai(settings, "check", "confirm", "4-2", "符合", "--item", RECORD, "--actor", "zhangwei",
                        "--note", "载体完好", "--json")
    assert code == 0, out
    assert json.loads(out)["confirmed_by"] == "zhangwei" and json.loads(out)["verdict_zh"] == "符合"
    assert verdicts(archive, "item", RECORD, "gd")["4-2"]["note"] == "载体完好"

    assert _lantai(settings, "check", "confirm", "4-2", "也许", "--item", RECORD, "--actor", "zhangwei")[0] == 2
    assert _lantai(settings, "check", "confirm", "4-2", "符合", "--item", RECORD, "--actor", "nobody")[0] != 0
    assert _lantai(settings, "check", "confirm", "4-2", "符合", "--actor", "zhangwei")[0] == 2  # no report named

    other = write_item(tmp_path / "new", SipSpec("Z109-WS-2025-00002", document_number="X政办发〔2025〕13号"))
    code, out = _lantai(settings, "check", str(other), "--json", "--actor", "zhangwei")
    assert code == 0, out
    assert json.loads(out)["meta"]["operator"] == "zhangwei"
