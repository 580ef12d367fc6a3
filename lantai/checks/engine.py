"""Running the item-level checks of one stage over one subject, in the current process.

Each check gets a soft time limit (``SIGALRM`` through ``setitimer``): Python code that runs past
it is interrupted and the check fails with reason "timeout". Code stuck inside a C library cannot
be interrupted that way; the worker pool (:mod:`lantai.checks.pool`) kills such a worker from
outside. Any exception a check raises becomes a failing result — never a crash of the batch.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lantai.checks import timing
from lantai.checks.model import FileFacts, ItemReport, Outcome, Result, Status
from lantai.checks.registry import default_status, has_cjk, implementations, load_registry, render
from lantai.checks.subject import ARCHIVED, SINGLE, Subject
from lantai.jsonable import jsonable

ALWAYS_RUN = frozenset({"package_authentic", "package_unchanged", "virus_free"})
# What an EEP's or a bag's own verification found, by the check that reports it (see package_outcomes).
PACKAGE_DATA_CODES = frozenset({"eep-data", "eep-size", "eep-base64", "eep-record", "eep-idref"})
BAG_CONTENT_CODES = frozenset({"bag-file-missing", "bag-oxum", "bag-unexpected-file"})
PACKAGE_CHECKS = ("fixity_valid", "package_authentic", "package_complete")
Event = Callable[[str, Any], None]


class CheckTimeout(Exception):
    """Raised inside a check by the soft time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: Any) -> None:
        raise CheckTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def item_checks(stage: str) -> list[tuple[str, str, str]]:
    """(code, property, check) for every check of a stage, in code order; run-level ones included."""
    registry = load_registry()
    return [(t.code, t.property, name) for t in registry.targets_for(stage) for name in t.checks]


def to_results(stage: str, code: str, prop: str, check: str, outcomes: list[Outcome], severity: str) -> list[Result]:
    """Outcomes → rendered results; passes are dropped when the check also found something."""
    problems = [o for o in outcomes if o.rule]
    chosen = problems or outcomes
    results = []
    for outcome in chosen:
        status = outcome.status or default_status(outcome.rule)
        if severity == "warning" and status == Status.FAIL:
            status = str(Status.WARN)
        zh, en = render(outcome.rule, outcome.params, stage, check)
        details = dict(outcome.details)
        details.update({k: v for k, v in outcome.params.items() if k not in details and k != "file"})
        results.append(Result(code, prop, check, str(status), zh, en, _rule_id(code, outcome.rule),
                              outcome.file, jsonable(details)))
    return results


def _rule_id(code: str, rule: str) -> str:
    """``1-2b`` for a specific rule, the bare code for a pass, ``1-2/t`` for a generic result."""
    if not rule or rule.startswith(code):
        return rule or code
    return f"{code}/{rule}"


def generic(stage: str, code: str, prop: str, check: str, letter: str, /, **params: Any) -> Result:
    return to_results(stage, code, prop, check, [Outcome(letter, params)], "error")[0]


def run_checks(subject: Subject, *, skip: frozenset[str] = frozenset(), on_event: Event | None = None) -> list[Result]:
    """Every item-level check of the subject's stage; ``skip`` names checks already decided."""
    registry = load_registry()
    impls = implementations()
    profile = subject.profile
    results: list[Result] = []
    for code, prop, name in item_checks(subject.stage):
        spec = registry.checks[name]
        if name in skip or spec.level == "run":
            continue
        if on_event:
            on_event("start", name)
        batch = _decide(subject, code, prop, name, spec, impls.get(name), profile)
        if on_event:
            on_event("result", (name, batch))
        results += batch
    return results


def _decide(subject: Subject, code: str, prop: str, name: str, spec: Any, fn: Any, profile: Any) -> list[Result]:
    stage = subject.stage
    if not spec.automated:
        return [Result(code, prop, name, str(Status.NOT_APPLICABLE), spec.not_applicable_zh, spec.not_applicable_en,
                       f"{code}", None, {"reason": "not_automatable"})]
    severity = profile.severity(name)
    if severity == "off":
        return [generic(stage, code, prop, name, "off", profile=profile.name)]
    from_package = package_outcomes(subject, name)
    if subject.package_error is not None and name not in ALWAYS_RUN:
        if from_package:
            return to_results(stage, code, prop, name, from_package, severity)
        return [generic(stage, code, prop, name, "nopkg")]
    if fn is None:
        return [generic(stage, code, prop, name, "z", error="check not implemented")]
    started = time.monotonic()
    try:
        with time_limit(profile.time_limit), timing.measure(f"check {code} {name}"):
            outcomes = fn(subject) + from_package
    except CheckTimeout:
        return [generic(stage, code, prop, name, "t", check=name, limit=profile.time_limit)]
    except Exception as exc:
        return [generic(stage, code, prop, name, "z", error=f"{type(exc).__name__}: {exc}")]
    results = to_results(stage, code, prop, name, outcomes, severity)
    elapsed = round(time.monotonic() - started, 4)
    for result in results:
        result.details.setdefault("elapsed_s", elapsed)
    return results


def package_outcomes(subject: Subject, check: str) -> list[Outcome]:
    """An EEP's or a bag's verification findings as outcomes of ``check``.

    Signatures and certificate trust (every finding not about the package's own structure or data)
    belong to 1-1 固化信息; embedded data and its digests to 2-4; the rest of the structure to 1-5.
    """
    findings = subject.extra.get("package_findings")
    if findings is None or check not in PACKAGE_CHECKS:
        return []
    package = Path(subject.source).name
    kind = subject.extra.get("package_kind", "eep")
    chosen = [f for f in findings if f.is_error and _package_check(f, kind) == check]
    return [Outcome(_PACKAGE_RULES[check], {"package": package, "element": f.element,
                                            "reason": f"{f.code or f.rule}: {f.message}",
                                            "reason_en": _reason_en(f)})
            for f in chosen]


def _reason_en(finding: Any) -> str:
    """The finding's code, with its English message when it has one (many EEP findings do not yet)."""

    code = str(finding.code or finding.rule)
    english = str(getattr(finding, "message_en", "") or "")
    return f"{code}: {english}" if english and not has_cjk(english) else code


_PACKAGE_RULES = {"fixity_valid": "1-1k", "package_authentic": "1-5e", "package_complete": "2-4c"}


def _package_check(finding: Any, kind: str) -> str:
    code = finding.code or finding.rule or ""
    if kind == "bagit":
        if code == "bag-checksum":
            return "fixity_valid"
        return "package_complete" if code in BAG_CONTENT_CODES else "package_authentic"
    if code in PACKAGE_DATA_CODES:
        return "package_complete"
    if code.startswith("eep-") and not code.startswith(("eep-signature", "eep-certificate", "eep-lock", "eep-chain")):
        return "package_authentic"
    return "fixity_valid"


def item_keys(subject: Subject, batch: str | None) -> dict[str, Any]:
    """Identifiers the run-level checks need; computed in the worker, where the metadata is parsed."""
    keys: dict[str, Any] = {"has_metadata": subject.kind != SINGLE and subject.record is not None,
                            "batch": batch, "archived": subject.kind == ARCHIVED}
    record = subject.record
    if record is not None:
        code = record.archival_code
        number = (code.agency_item_number or code.archives_item_number or "").strip()
        keys.update({
            "record_id": (record.electronic_record_code or "").strip(),
            "archival_code": (code.text or "").strip(),
            "document_number": (record.content_description.document_number or "").strip(),
            "item_number": int(number) if number.isdigit() else None,
            "class": ((code.fonds_identifier or "").strip(), (code.category_code or "").strip(),
                      (code.year or "").strip(), (code.retention_period or "").strip(),
                      (code.organizational_structure_or_function or "").strip()),
        })
    referenced = subject.referenced or {n: None for n in subject.files}
    keys["content_bytes"] = sum(f.size for n, f in subject.files.items() if n in referenced)
    keys.update(subject.extra.get("keys", {}))
    return keys


def file_facts(subject: Subject) -> list[Any]:

    facts = []
    for name in subject.content_names():
        file = subject.files[name]
        entry = FileFacts(name, file.size, file.sm3)
        try:
            analysis = subject.facts(name)
            with time_limit(subject.profile.time_limit):
                entry.format = analysis.format_dict()
                entry.pdfa = analysis.pdfa_dict()
        except Exception:
            entry.format = entry.format or {"puid": None, "mime": None, "name": None, "version": None}
        facts.append(entry)
    return facts


def check_subject(subject: Subject, *, batch: str | None = None, skip: frozenset[str] = frozenset(),
                  on_event: Event | None = None) -> ItemReport:
    report = ItemReport(subject.id, subject.source, subject.kind)
    report.results = run_checks(subject, skip=skip, on_event=on_event)
    with timing.measure("report file facts"):
        report.files = file_facts(subject)
    report.keys = item_keys(subject, batch)
    return report
