"""Benchmark: DA/T 48 EEP build and verify against the floor — base64 plus SM3 over the same bytes.

Usage: ``.venv/bin/python bench/bench_eep.py [--size-mib 100] [--big-mib 1024] [--skip-big]``

* throughput: one item holding a ``--size-mib`` file; ``lantai`` EEP build (SIP → signed EEP) and
  verify (streaming parse, exc-C14N + SM3, base64 decode, SM2, certificate chain) in MB/s of file
  data, beside base64-encoding the file and SM3-hashing it in the same run (the ratio is the goal,
  ≥ 50 %);
* memory: peak RSS (``resource.getrusage`` in a fresh subprocess) while building and while
  verifying an item of ``--big-mib`` (goal ≤ 200 MiB for 1 GiB).

Prints a table and writes bench/results/eep.json.
"""

from __future__ import annotations

import argparse
import binascii
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NS = "http://www.saac.gov.cn/standards/ERM/encapsulation"
MIB = 1024 * 1024
CHUNK = 3 * MIB


def make_sip(directory: Path, size: int) -> Path:
    directory.mkdir(parents=True)
    with open(directory / "正文.pdf", "wb") as fh:
        remaining = size
        block = os.urandom(8 * MIB)
        while remaining > 0:
            fh.write(block[: min(remaining, len(block))])
            remaining -= len(block)
    (directory / "元数据.xml").write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<文件实体 xmlns="{NS}"><聚合层次>文件</聚合层次><来源><立档单位名称>某局</立档单位名称></来源>
<电子文件号>BENCH-1</电子文件号><档号><年度>2025</年度><保管期限>永久</保管期限><室编件号>1</室编件号></档号>
<内容描述><题名>基准测试</题名><责任者>某局</责任者><日期>2025-01-01</日期><密级>公开</密级></内容描述>
<形式特征><文件组合类型>单件</文件组合类型></形式特征><存储位置><脱机载体编号>X</脱机载体编号></存储位置><权限管理/>
<文件数据><文档><文档标识符>修改0-文档1</文档标识符><文档数据 文档数据ID="DD1"><编码 编码ID="E1"><电子属性>
<计算机文件名>正文.pdf</计算机文件名><计算机文件大小>{size}</计算机文件大小></电子属性></编码></文档数据></文档></文件数据>
</文件实体>
""",
        encoding="utf-8",
    )
    return directory


def baseline(path: Path) -> float:
    """Seconds to base64-encode the file and SM3-hash it, chunk by chunk, in one read."""
    start = time.perf_counter()
    digest = hashlib.new("sm3")
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            binascii.b2a_base64(chunk, newline=False)
            digest.update(chunk)
    return time.perf_counter() - start


def child(action: str, home: Path, sip: Path, package: Path) -> None:
    """Run in a fresh process: build or verify, then report peak RSS and seconds as JSON."""
    from lantai.crypto.keystore import open_keystore
    from lantai.packages.eep import Signer, build_eep, verify_eep

    store = open_keystore(home / "keys", "基准档案馆")
    start = time.perf_counter()
    if action == "build":
        build_eep(sip, package, Signer.from_keystore(store))
        findings: list = []
    else:
        findings = verify_eep(package, store)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mib": rss, "findings": len(findings)}))


def run_child(action: str, home: Path, sip: Path, package: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", action, str(home), str(sip), str(package)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(work: Path, home: Path, size_mib: int, label: str) -> dict:
    size = size_mib * MIB
    sip = make_sip(work / f"sip-{label}", size)
    package = work / f"{label}.eep"
    base_seconds = baseline(sip / "正文.pdf")
    build = run_child("build", home, sip, package)
    verify = run_child("verify", home, sip, package)
    mb = size / 1e6
    result = {
        "file_mib": size_mib,
        "package_bytes": package.stat().st_size,
        "baseline_mb_s": mb / base_seconds,
        "build_mb_s": mb / build["seconds"],
        "verify_mb_s": mb / verify["seconds"],
        "build_peak_rss_mib": build["peak_rss_mib"],
        "verify_peak_rss_mib": verify["peak_rss_mib"],
        "verify_findings": verify["findings"],
    }
    result["build_ratio"] = result["build_mb_s"] / result["baseline_mb_s"]
    result["verify_ratio"] = result["verify_mb_s"] / result["baseline_mb_s"]
    package.unlink()
    (sip / "正文.pdf").unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=100)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--child", nargs=4, metavar=("ACTION", "HOME", "SIP", "EEP"))
    args = parser.parse_args()
    if args.child:
        action, home, sip, package = args.child
        child(action, Path(home), Path(sip), Path(package))
        return

    from lantai.crypto.keystore import init_keystore

    with tempfile.TemporaryDirectory(prefix="lantai-bench-eep-", dir=ROOT / "bench") as tmp:
        work = Path(tmp)
        init_keystore(work / "keys", "基准档案馆")
        results = {"throughput": measure(work, work, args.size_mib, "throughput")}
        if not args.skip_big:
            results["memory"] = measure(work, work, args.big_mib, "memory")
    results["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
    print_table(results)
    out = ROOT / "bench" / "results" / "eep.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten {out.relative_to(ROOT)}")


def print_table(results: dict) -> None:
    print(
        f"{'run':<12}{'file MiB':>9}{'floor MB/s':>12}{'build MB/s':>12}{'ratio':>7}{'verify MB/s':>13}"
        f"{'ratio':>7}{'build RSS':>11}{'verify RSS':>12}"
    )
    for label in ("throughput", "memory"):
        r = results.get(label)
        if r:
            print(
                f"{label:<12}{r['file_mib']:>9}{r['baseline_mb_s']:>12.0f}{r['build_mb_s']:>12.0f}"
                f"{r['build_ratio']:>7.0%}{r['verify_mb_s']:>13.0f}{r['verify_ratio']:>7.0%}"
                f"{r['build_peak_rss_mib']:>9.0f}Mi{r['verify_peak_rss_mib']:>10.0f}Mi"
            )


if __name__ == "__main__":
    main()
