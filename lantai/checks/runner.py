"""Running a stage's checks over paths, archived items or one staged ingest item.

Item-level checks run on all cores (:mod:`lantai.checks.pool`), one item per task, files streamed;
run-level checks (duplicates, register totals, 件号 continuity, the audit chain) run afterwards
in this process over what the items reported. Nothing here raises for bad input.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from lantai.checks import engine, loaders
from lantai.checks.archive_facts import ArchiveFacts, ObjectFixity
from lantai.checks.model import ItemReport
from lantai.checks.pool import CheckPool, Task, execute
from lantai.checks.profiles import Profile, load_profile
from lantai.checks.properties.run_level import RunContext
from lantai.checks.registry import STAGES, implementations, load_registry
from lantai.checks.report import CheckReport, new_meta
from lantai.errors import BadInput
from lantai.settings import load_settings

Progress = Callable[[ItemReport], None]


def _stage(stage: str) -> str:
    if stage not in STAGES:
        raise BadInput(f"未知的检测环节 {stage}（gd 归档 / yj 移交与接收 / bc 长期保存）",
                       f"unknown stage {stage} (gd, yj or bc)")
    return stage


def resolve_profile(profile: str | Profile, settings: Any) -> Profile:
    if isinstance(profile, Profile):
        return profile
    home = getattr(settings, "home", None)
    return load_profile(profile, Path(home) if home else None)


def check_paths(paths: list[Path], *, stage: str = "gd", profile: str | Profile = "default", settings: Any = None,
                facts: ArchiveFacts | None = None, workers: int | None = None, operator: str = "system",
                progress: Progress | None = None) -> CheckReport:
    """Check files, SIP items and batches. ``facts`` (optional) enables catalogue and audit checks.

    Without ``settings`` the configured ones are used (``load_settings``: the environment and
    ``lantai.toml``), so the clamd socket and profile directory come from one place."""
    stage = _stage(stage)
    if settings is None:
        settings = load_settings()
    resolved = resolve_profile(profile, settings)
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise BadInput(f"找不到 {path}", f"{path} does not exist")
    work, batches = loaders.expand_paths(paths)
    reference = facts.reference() if facts is not None else None
    if reference is not None:
        work = [replace(w, reference=reference) for w in work]
    tasks = [Task(i, w, stage, resolved, settings) for i, w in enumerate(work)]
    items = run_tasks(tasks, resolved, workers, progress)
    run = RunContext(stage, batches, facts, tuple(resolved.section("metadata").get("unique_elements", [])))
    return finish(items, run, resolved, operator)


def check_archived(record_ids: list[str], fixity: dict[str, ObjectFixity], facts: ArchiveFacts | None, *,
                   settings: Any, stage: str = "bc", profile: str | Profile = "default", workers: int | None = None,
                   operator: str = "system", progress: Progress | None = None) -> CheckReport:
    """Check stored items. The caller verified each object's fixity (``fixity``, read by bc 1-5)
    and supplies what the run-level checks need to know of the archive (``facts``)."""
    stage = _stage(stage)
    resolved = resolve_profile(profile, settings)
    reference = facts.reference() if facts is not None else None
    tasks = [Task(i, loaders.WorkItem("archived", rid, reference=reference, fixity=fixity.get(rid)), stage, resolved,
                  settings) for i, rid in enumerate(record_ids)]
    items = run_tasks(tasks, resolved, workers, progress)
    if facts is not None:
        batches = facts.batches_of([item.id for item in items])
        for item in items:
            if batches.get(item.id):
                item.keys["archived_batch"] = batches[item.id]
    run = RunContext(stage, {}, facts, tuple(resolved.section("metadata").get("unique_elements", [])))
    return finish(items, run, resolved, operator)


def run_tasks(tasks: list[Task], profile: Profile, workers: int | None, progress: Progress | None) -> list[ItemReport]:
    workers = _workers(workers, len(tasks))
    results: dict[int, ItemReport] = {}
    if workers == 0:
        for task in tasks:
            results[task.index] = _inline(task)
            if progress:
                progress(results[task.index])
    else:
        _prewarm()
        for index, report in CheckPool(workers, profile.time_limit).run(tasks):
            results[index] = report
            if progress:
                progress(report)
    return [results[i] for i in sorted(results)]


def _workers(workers: int | None, count: int) -> int:
    if count <= 1 and workers is None:
        return 0
    if workers is None:
        workers = min(os.cpu_count() or 1, 2)
    return min(workers, count)


def _prewarm() -> None:
    """Load check implementations and the format signatures once, before forking workers."""
    implementations()
    try:
        from lantai.formats.identify import get_identifier

        get_identifier()
    except Exception:
        pass


def _inline(task: Task) -> ItemReport:
    try:
        return execute(task)
    except Exception as exc:
        from lantai.checks.pool_results import failed_item

        return failed_item(task, "z", task.profile.time_limit, f"{type(exc).__name__}: {exc}")


def finish(items: list[ItemReport], run: RunContext, profile: Profile, operator: str) -> CheckReport:
    started = time.monotonic()
    _audit_context(run)
    apply_run_level(items, run, profile)
    for item in items:
        item.results.sort(key=_order(run.stage))
    return CheckReport(run.stage, profile.name, items, new_meta(operator, run_level_s=round(time.monotonic() - started, 3),
                                                                profile_title=profile.title))


def _audit_context(run: RunContext) -> None:
    if run.facts is None:
        return
    run.audit = run.facts.audit_chain()
    run.audit_targets = run.facts.ingested()


def apply_run_level(items: list[ItemReport], run: RunContext, profile: Profile) -> None:
    registry = load_registry()
    impls = implementations()
    for code, prop, name in engine.item_checks(run.stage):
        if registry.checks[name].level != "run" or not items:
            continue
        severity = profile.severity(name)
        if severity == "off":
            for item in items:
                item.results.append(engine.generic(run.stage, code, prop, name, "off", profile=profile.name))
            continue
        try:
            outcomes = impls[name](items, run)
        except Exception as exc:
            outcomes = {i: [] for i in range(len(items))}
            for item in items:
                item.results.append(engine.generic(run.stage, code, prop, name, "z", error=f"{type(exc).__name__}: {exc}"))
        for index, found in outcomes.items():
            items[index].results += engine.to_results(run.stage, code, prop, name, found, severity)
        for index, item in enumerate(items):
            if index not in outcomes and not any(r.check == name for r in item.results):
                item.results.append(engine.generic(run.stage, code, prop, name, "nometa"))


def _order(stage: str) -> Callable[[Any], tuple[int, int]]:
    position = {name: i for i, (_c, _p, name) in enumerate(engine.item_checks(stage))}
    return lambda r: (position.get(r.check, 999), 0 if r.status == "fail" else 1)
