"""Security (安全性, DA/T 70 4-x): viruses (clamd), extraneous files on the carrier. Process
security (the audit chain) spans the archive, so it is a run-level check."""

from __future__ import annotations

import unicodedata
from pathlib import Path, PurePosixPath

from lantai.checks.clamav import CLEAN, INFECTED, UNSCANNED, ScanResult, scanner_for
from lantai.checks.model import Outcome, found, passed
from lantai.checks.registry import check
from lantai.checks.subject import Subject

WINDOWS_FORBIDDEN = set('<>:"|?*\\')


def clamd_socket(subject: Subject) -> str:
    """The profile's own socket, else the ``clamd_socket`` setting (``LANTAI_CLAMD_SOCKET``, read by
    ``Settings`` alone); a subject checked without settings has no scanner and says so (4-1c)."""
    configured = str(subject.profile.section("virus").get("socket", "") or "")
    if configured:
        return configured
    return str(getattr(subject.settings, "clamd_socket", None) or "")


@check("virus_free")
def virus_free(subject: Subject) -> list[Outcome]:
    section = subject.profile.section("virus")
    socket_path = clamd_socket(subject)
    if not socket_path:
        return [found("4-1c", reason="未配置 ClamAV（LANTAI_CLAMD_SOCKET）", reason_en="ClamAV is not configured (LANTAI_CLAMD_SOCKET)")]
    scanner = scanner_for(socket_path, int(section.get("max_file_bytes", 100 * 1024**2)),
                          float(section.get("timeout_seconds", 60)))
    targets = {name: f.path for name, f in subject.files.items()}
    if subject.package_error is not None and Path(subject.source).is_file():
        targets[Path(subject.source).name] = Path(subject.source)
    names = sorted(targets)
    results = scanner.scan_many([targets[n] for n in names])
    # clamd is asked whether it answers only when a file went unscanned (or there was nothing to
    # scan): one round trip less per clean item, and the same single 4-1c as ever when it is down.
    if not results or any(r.status == UNSCANNED for r in results):
        ok, reason = scanner.available()
        if not ok:
            return [found("4-1c", reason=reason)]
    outcomes = []
    for name, result in zip(names, results, strict=True):
        outcomes += _scan_outcome(scanner, name, targets[name], result)
    return outcomes or [passed(count=len(targets), engine=scanner.version())]


def _scan_outcome(scanner, name: str, path: Path, result: ScanResult) -> list[Outcome]:  # type: ignore[no-untyped-def]
    if result.status == CLEAN:
        return []
    if result.status == INFECTED:
        return [found("4-1a", name, signature=result.signature)]
    if result.reason == "too_large":
        return [found("4-1b", name, size=_size(path), limit=scanner.max_file_bytes)]
    if result.reason == "limits":
        return [found("4-1d", name, signature=result.signature)]
    return [found("4-1c", name, reason=result.reason)]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


@check("no_extraneous_files")
def no_extraneous_files(subject: Subject) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for name in sorted({*subject.content_names(), *subject.extra.get("unstaged", [])}):
        outcomes += _extraneous(subject, name)
    return outcomes or [passed()]


def _extraneous(subject: Subject, name: str) -> list[Outcome]:
    parts = PurePosixPath(name).parts
    profile = subject.profile
    if any(profile.is_junk(p) for p in parts):
        return [found("4-2b", name)]
    if any(profile.is_temporary(p) for p in parts[-1:]):
        return [found("4-2c", name)]
    if any(p.startswith(".") for p in parts):
        return [found("4-2a", name)]
    if any(_non_portable(p) for p in parts):
        return [found("4-2d", repr(name)[1:-1])]
    return []


def _non_portable(part: str) -> bool:
    if part != part.strip() or part.endswith("."):
        return True
    return any(unicodedata.category(c) in ("Cc", "Cf", "Cs") or c in WINDOWS_FORBIDDEN for c in part)
