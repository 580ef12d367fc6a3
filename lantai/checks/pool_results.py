"""Results for items and checks the pool had to stop from outside (timeout or a dead worker)."""

from __future__ import annotations

from typing import Any

from lantai.checks.engine import generic, item_checks
from lantai.checks.model import ItemReport, Result
from lantai.checks.registry import load_registry


def failed_check(task: Any, check: str, letter: str, limit: float, error: str = "") -> list[Result]:
    for code, prop, name in item_checks(task.stage):
        if name == check:
            return [generic(task.stage, code, prop, name, letter, check=name, limit=limit, error=error or "timeout")]
    return []


def failed_item(task: Any, letter: str, limit: float, error: str = "") -> ItemReport:
    """The item could not even be loaded in time: 1-5 fails, every other item-level check cannot run."""
    registry = load_registry()
    report = ItemReport(_label(task.work.path), task.work.path, task.work.kind)
    for code, prop, name in item_checks(task.stage):
        if registry.checks[name].level == "run":
            continue
        if name in ("package_authentic", "package_unchanged"):
            report.results.append(generic(task.stage, code, prop, name, letter, check="读取信息包", limit=limit,
                                          error=error or "timeout"))
        else:
            report.results.append(generic(task.stage, code, prop, name, "nopkg"))
    report.keys = {"has_metadata": False, "batch": task.work.batch, "archived": False}
    return report


def _label(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]
