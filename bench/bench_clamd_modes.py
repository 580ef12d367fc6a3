"""clamd CPU per item by protocol: what Lantai does (one IDSESSION of SCANs per item) against a
CONTSCAN or MULTISCAN of the item's directory and an INSTREAM per file, over ``lantai demo
generate`` items. A fresh clamd per mode and round (clamd caches clean files by digest).

Usage: python bench/bench_clamd_modes.py [--items 100] [--rounds 2] [--batch DIR]
       [--json-out bench/results/clamd-modes.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODES = ("session", "contscan", "multiscan", "instream")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _command(path: str, command: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(path)
        sock.sendall(command)
        return b"".join(iter(lambda: sock.recv(65536), b""))


def measure(items: list[Path], mode: str) -> dict[str, float]:
    from lantai.checks.clamav import ClamdServer, Scanner

    files = [[f for f in item.rglob("*") if f.is_file()] for item in items]
    with ClamdServer() as server:
        assert server.process is not None
        scanner = Scanner(server.socket, 100 * 1024 * 1024)
        _command(server.socket, b"zPING\0")
        clamd0, client0, wall0 = _cpu(server.process.pid), time.process_time(), time.perf_counter()
        for item, names in zip(items, files, strict=True):
            if mode == "session":
                scanner.scan_many(names)
            elif mode == "instream":
                for name in names:
                    scanner._scan_stream(name)
            else:
                reply = _command(server.socket, f"z{mode.upper()} ".encode() + os.fsencode(item) + b"\0")
                assert b"OK" in reply, reply
        wall = time.perf_counter() - wall0
        time.sleep(0.2)  # clamd's accounting of the last reply
        n = len(items)
        return {"clamd_cpu_ms_per_item": round((_cpu(server.process.pid) - clamd0) * 1000 / n, 2),
                "client_cpu_ms_per_item": round((time.process_time() - client0) * 1000 / n, 2),
                "wall_ms_per_item": round(wall * 1000 / n, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", help="an existing `lantai demo generate` batch")
    parser.add_argument("--json-out", default=str(ROOT / "bench" / "results" / "clamd-modes.json"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lantai-bench-clamd-"))
    try:
        if args.batch:
            batch = Path(args.batch)
        else:
            from lantai.demo.generate import generate

            batch = work / "batch"
            generate(batch, year=2025, items=args.items, seed=1, defect_rate=0.0, workers=2)
        items = sorted(p for p in batch.iterdir() if p.is_dir())[:args.items]
        rows: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
        for _round in range(args.rounds):
            for mode in MODES:
                rows[mode].append(measure(items, mode))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{len(items)} generated items, load {os.getloadavg()[0]:.1f}; ms per item, per round\n")
    print(f"{'mode':<12}{'clamd CPU':>16}{'client CPU':>16}{'wall':>16}{'× session clamd':>18}")
    base = min(r["clamd_cpu_ms_per_item"] for r in rows["session"])
    for mode, measured in rows.items():
        best = min(r["clamd_cpu_ms_per_item"] for r in measured)
        print(f"{mode:<12}{'/'.join(str(r['clamd_cpu_ms_per_item']) for r in measured):>16}"
              f"{'/'.join(str(r['client_cpu_ms_per_item']) for r in measured):>16}"
              f"{'/'.join(str(r['wall_ms_per_item']) for r in measured):>16}{best / base:>18.2f}")
    out = Path(args.json_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"items": len(items), "load_average": list(os.getloadavg()), "modes": rows},
                              indent=2), encoding="utf-8")
    print(f"\nJSON written to {out}")


if __name__ == "__main__":
    main()
