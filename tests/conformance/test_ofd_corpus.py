"""Agreement of ``validate_ofd`` with ../shared/corpus/ofd-ofdrw/manifest.csv (goal: 100 %).

Stated outcomes checked per file: DocType, Version, signed or not, signature count, types and
providers; the curator's recomputed reference digests (ok / mismatch / missing per signature);
"valid ..." outcomes must validate; the testImageNotFound case must flag its missing resource.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from lantai.formats.ofd import OfdResult, validate_ofd

OBS = re.compile(r"(?P<type>\w+)/(?P<provider>[^:]+): refs ok=(?P<ok>\d+) mismatch=(?P<mismatch>\d+) missing=(?P<missing>\d+)")


def _checks(row: dict[str, str], result: OfdResult) -> list[tuple[str, object, object]]:
    sigs = result.signatures
    checks: list[tuple[str, object, object]] = [
        ("DocType", row["DocType"], result.doc_type),
        ("Version", row["OFD_Version"], result.version),
        ("signed", row["signed"] == "yes", bool(sigs)),
        ("signature_count", int(row["signature_count"] or 0), len(sigs)),
    ]
    if row["signature_types"]:
        checks.append(("types", sorted(row["signature_types"].split(";")), sorted({s.type for s in sigs})))
        checks.append(("providers", row["providers"], ";".join(sorted({str(s.provider) for s in sigs}))))
    observed = [m.groupdict() for m in OBS.finditer(row["curator_observation_reference_digests"])]
    for sig, obs in zip(sigs, observed, strict=False):
        reasons = [f["reason"] for f in sig.references_failed]
        checks.append((f"refs[{sig.id}]", (int(obs["ok"]), int(obs["mismatch"]), int(obs["missing"])),
                       (sig.references_ok, reasons.count("mismatch"), reasons.count("missing"))))
    outcome = row["expected_outcome"].lower()
    if outcome.startswith("valid"):
        checks.append(("valid", True, result.valid))
    if "missing referenced resource" in outcome:
        flagged = any(f.code == "ofd-5" and f.is_error and "image_135" in f.message_en for f in result.findings)
        checks.append(("missing resource flagged", True, flagged))
    return checks


def test_ofd_agrees_with_manifest(corpus_dir: Path) -> None:
    base = corpus_dir / "ofd-ofdrw"
    with open(base / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    total = agreed = 0
    misses = []
    for row in rows:
        result = validate_ofd(base / row["path"])
        for name, expected, got in _checks(row, result):
            total += 1
            if expected == got:
                agreed += 1
            else:
                misses.append((Path(row["path"]).name, name, expected, got))
    print(f"\nOFD: {agreed}/{total} stated outcomes agree ({agreed / total:.1%}) over {len(rows)} files")
    for miss in misses:
        print("  miss:", *miss)
    assert not misses


def test_seals_in_corpus_verify(corpus_dir: Path) -> None:
    """Every seal whose references are intact also verifies cryptographically (SM2 over TBS_Sign)."""
    base = corpus_dir / "ofd-ofdrw"
    verified = 0
    for path in sorted(base.rglob("*.ofd")):
        for sig in validate_ofd(path).signatures:
            if not sig.references_failed:
                assert sig.seal_signature_valid is True, (path.name, sig.seal)
                verified += 1
    print(f"\nOFD seals/signatures verified: {verified}")
    assert verified > 0
