"""An archived item leaves as a signed EEP and enters another archive through ingest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lantai.settings import Settings
from tests.conftest import cli_env
from tests.sipfactory import SipSpec, real_pdf, real_xlsx, write_item


def _lantai(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lantai.cli.main", *args], env=cli_env(settings),
                          capture_output=True, text=True, timeout=300)


def test_eep_by_record_id_round_trips_into_a_second_archive(settings: Settings, tmp_path: Path) -> None:
    sender = settings
    receiver = Settings(home=tmp_path / "receiver", fsync=False)
    for side in (sender, receiver):
        assert _lantai(side, "init").returncode == 0
    spec = SipSpec("Z-EEP-1", files={"正文.pdf": real_pdf(), "附件/表.xlsx": real_xlsx()})
    assert _lantai(sender, "ingest", str(write_item(tmp_path / "in", spec))).returncode == 0

    package = tmp_path / "Z-EEP-1.eep"
    built = _lantai(sender, "eep", "build", "Z-EEP-1", "-o", str(package), "--json")
    assert built.returncode == 0, built.stdout + built.stderr
    assert _lantai(sender, "eep", "verify", str(package)).returncode == 0
    assert _lantai(sender, "eep", "build", "NO-SUCH-ITEM", "-o", str(tmp_path / "x.eep")).returncode == 2

    # Untrusted until the receiver trusts the sender's CA: nothing is ingested.
    refused = _lantai(receiver, "ingest", str(package), "--json")
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["items"][0]["status"] == "rejected"
    assert _lantai(receiver, "keys", "trust-ca", str(sender.keys_dir / "ca.pem")).returncode == 0
    accepted = _lantai(receiver, "ingest", str(package), "--json")
    assert accepted.returncode == 0, accepted.stdout
    shown = json.loads(_lantai(receiver, "show", "Z-EEP-1", "--json").stdout)
    sent = json.loads(_lantai(sender, "show", "Z-EEP-1", "--json").stdout)
    content = lambda d: {f["logical_path"]: f["sm3"] for f in d["files"] if f["role"] == "content"}  # noqa: E731
    assert content(shown) == content(sent)
