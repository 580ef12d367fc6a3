"""The transfer carrier's own checks (DA/T 70 yj 4-2, 3-1, 2-4, 2-1, 1-5, 1-1) as batch-level
results of the yj check report.

:mod:`lantai.packages.transfer.reader` and the receiving service report carrier problems as
findings under these codes, their text rendered from the registry (``findings.yj-*``); here each
code becomes one or more results of the run as a whole — stated once in the 四性检测报告, not
under every item — with a pass when the carrier showed no problem of that kind.
"""

from __future__ import annotations

from typing import Any

from lantai.checks.model import Result, Status
from lantai.checks.registry import finding, load_registry

CARRIER_CODES = ("yj-4-2", "yj-3-1", "yj-2-4", "yj-2-1", "yj-1-5", "yj-1-1")
CHECK = "transfer_carrier"


def carrier_results(findings: list[Any]) -> list[Result]:
    """Results for every carrier code: its findings, or one pass."""
    registry = load_registry()
    results = []
    for code in CARRIER_CODES:
        target = code.removeprefix("yj-")
        prop = registry.targets[("yj", target)].property
        found = [f for f in findings if f.code == code]
        for item in found:
            status = Status.FAIL if item.is_error else Status.WARN
            results.append(Result(target, prop, CHECK, str(status), item.message, item.message_en,
                                  f"{target}/carrier", item.element, {"finding": code, **_plain(item.params)}))
        if not found:
            clean = finding(code, "", "pass")
            results.append(Result(target, prop, CHECK, str(Status.PASS), clean.message, clean.message_en,
                                  target, None, {"finding": code}))
    return results


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for k, v in params.items()}
