"""Benchmark: transfer (移交) export and receive in items/s, two archives on one machine.

Usage: ``.venv/bin/python bench/bench_transfer.py [--items 1000] [--workers 2]``

Setup (not timed): two archives in a temporary directory that trust each other's CA, a private
clamd, a profile that downgrades the judgements random test bytes cannot pass (format, 档号,
duplicate 文件编号), and ``--items`` small items (≈6 KiB in two files) ingested into the sender.

Timed:

* **export** — ``export_transfer``: fixity-checked copy out of the store, EEP build and SM2 sign,
  self-verification of every package, 文件目录.XML, 移交登记表 (XLSX + PDF), SM3 manifest;
* **receive** — ``receive_transfer``: carrier checks (layout, catalogue, register, SM3 of every
  file), verification and extraction of every EEP, DA/T 70 yj item checks, ingest (with its gd
  checks) and the signed receipt;
* **verify-receipt** — signature, trust, digests against the export record, and the new OCFL
  version that marks each item transferred.

Prints a table and writes bench/results/transfer.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROFILE = """name = "bench"
[severity]
content_usable = "warning"
metadata_complete = "warning"
metadata_unique = "warning"
environment_metadata = "warning"
"""


def make_archive(home: Path, name: str, clamd: str, workers: int):  # type: ignore[no-untyped-def]
    from lantai.crypto.keystore import init_keystore
    from lantai.services.archive import init_archive
    from lantai.settings import Settings

    (home / "profiles").mkdir(parents=True)
    (home / "profiles" / "bench.toml").write_text(PROFILE, encoding="utf-8")
    settings = Settings(home=home, fsync=False, workers=workers, archive_name=name, clamd_socket=clamd)
    return init_archive(settings), init_keystore(settings.keys_dir, name)


def timed(fn):  # type: ignore[no-untyped-def]
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - started_wall, time.process_time() - started_cpu


def run(items: int, workers: int) -> dict[str, object]:
    from lantai.checks.clamav import ClamdServer
    from lantai.services.ingest import ingest_paths
    from lantai.services.transfer import export_transfer, receive_transfer, verify_receipt
    from tests.sipfactory import specs, write_item

    os.environ["LANTAI_INGEST_PROFILE"] = "bench"
    with tempfile.TemporaryDirectory(prefix="lantai-bench-transfer-") as tmp, ClamdServer() as clamd:
        base = Path(tmp)
        sender, sender_keys = make_archive(base / "sender", "X区档案室", clamd.socket, workers)
        receiver, receiver_keys = make_archive(base / "receiver", "X区档案馆", clamd.socket, workers)
        sender_keys.trust_ca(receiver_keys.ca_certificate_path)
        receiver_keys.trust_ca(sender_keys.ca_certificate_path)
        sips = [write_item(base / "sips", s) for s in specs(items, size=4096)]
        report, setup_s, _ = timed(lambda: ingest_paths(sender, sips))
        assert report.counts()["accepted"] == items, report.counts()
        _exported, export_s, export_cpu = timed(lambda: export_transfer(sender, 2025, base / "carrier"))
        received, receive_s, receive_cpu = timed(lambda: receive_transfer(receiver, base / "carrier"))
        assert received.ok, received.to_dict()["findings"]
        verified, verify_s, verify_cpu = timed(lambda: verify_receipt(sender, received.path))
        assert verified.ok and len(verified.marked) == items
        carrier_bytes = sum(p.stat().st_size for p in (base / "carrier").rglob("*") if p.is_file())
        sender.close()
        receiver.close()
    return {
        "items": items, "workers": workers, "setup_ingest_s": round(setup_s, 2), "carrier_bytes": carrier_bytes,
        "export": {"seconds": round(export_s, 2), "items_per_s": round(items / export_s, 1),
                   "main_process_cpu_s": round(export_cpu, 2)},
        "receive": {"seconds": round(receive_s, 2), "items_per_s": round(items / receive_s, 1),
                    "main_process_cpu_s": round(receive_cpu, 2)},
        "verify_receipt": {"seconds": round(verify_s, 2), "items_per_s": round(items / verify_s, 1),
                           "main_process_cpu_s": round(verify_cpu, 2)},
        "receipt_counts": received.receipt.counts(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    result = run(args.items, args.workers)
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(), "load_avg": os.getloadavg()}
    print(f"{'step':<16}{'seconds':>10}{'items/s':>10}{'cpu s (main)':>14}")
    for step in ("export", "receive", "verify_receipt"):
        row = result[step]
        print(f"{step:<16}{row['seconds']:>10}{row['items_per_s']:>10}{row['main_process_cpu_s']:>14}")  # type: ignore[index]
    print(f"{args.items} items, carrier {result['carrier_bytes']:,} bytes, load {result['machine']['load_avg']}")  # type: ignore[index]
    out = ROOT / "bench" / "results" / "transfer.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
