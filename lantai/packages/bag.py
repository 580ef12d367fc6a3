"""BagIt (RFC 8493) bags: write one from item directories, validate any bag, list the items in one.

Why a wrapper over ``bagit``: the library raises on the first problem and logs the rest, while an
archive needs every reason at once, as findings it can store and render (``lantai bag validate
--json``). Validation runs the library's own checks stage by stage and adds three of ours:

* ``fetch.txt`` paths must be relative paths inside the bag on *every* OS (``C:\\…``, UNC and
  ``~`` are refused even on Linux: bags travel between systems);
* a manifest that lists a file twice with the same digest is a warning before BagIt 1.0 and an
  error from 1.0 on (the library's rule), and so are the other things it only logs;
* operating-system litter (``.DS_Store``, ``Thumbs.db`` …) is a warning when present, and when
  listed but missing — copy tools strip it — a warning too, never a reason to refuse the bag.

Digests are streamed (:mod:`lantai.crypto.digests`), never read whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bagit

from lantai.checks.registry import finding
from lantai.crypto.digests import MultiHasher
from lantai.domain.findings import Finding
from lantai.errors import PackageError

RULE = "bagit"
CHECKSUMS = ("sha256", "sha512")
SYSTEM_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini", ".directory", "ehthumbs.db"})
_WINDOWS_ABSOLUTE = re.compile(r"^([a-zA-Z]:|[\\/]{2}|%[^%]+%)")


@dataclass
class BagReport:
    """Result of validating one bag: valid means no error findings (warnings allowed)."""

    path: Path
    version: str = ""
    findings: list[Finding] = field(default_factory=list)
    payload_files: int = 0
    payload_bytes: int = 0

    @property
    def valid(self) -> bool:
        return not any(f.is_error for f in self.findings)

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.is_error]

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "valid": self.valid, "version": self.version,
                "payload_files": self.payload_files, "payload_bytes": self.payload_bytes,
                "errors": [f.to_dict() for f in self.findings if f.is_error],
                "warnings": [f.to_dict() for f in self.warnings]}


def is_bag(path: Path) -> bool:
    return Path(path).is_dir() and (Path(path) / "bagit.txt").is_file()


# -- validation -----------------------------------------------------------------------------------

def validate_bag(path: Path) -> BagReport:
    """Every problem of the bag at ``path``; raises nothing for a bad bag."""
    report = BagReport(Path(path))
    if not is_bag(path):
        report.findings.append(finding("bag-not-a-bag", str(path), path=str(path)))
        return report
    with _captured_warnings() as logged:
        bag = _open(report)
        if bag is not None:
            report.version = bag.version
            _check(bag, report)
    report.findings += [finding("bag-library-warning", str(path), warning=message) for message in logged]
    return report


def _open(report: BagReport) -> bagit.Bag | None:
    try:
        return bagit.Bag(str(report.path))
    except bagit.BagError as exc:
        report.findings.append(finding("bag-structure", "bagit.txt", error=str(exc)))
    except (OSError, UnicodeError, ValueError) as exc:
        report.findings.append(finding("bag-unreadable", str(report.path), error=str(exc)))
    return None


def _check(bag: bagit.Bag, report: BagReport) -> None:
    for stage in (_check_structure, _check_fetch, _check_completeness, _check_oxum, _check_digests):
        try:
            stage(bag, report)
        except bagit.BagError as exc:
            report.findings.append(finding("bag-structure", str(report.path), error=str(exc)))
            return
        except (OSError, UnicodeError, ValueError) as exc:
            report.findings.append(finding("bag-unreadable", str(report.path), error=str(exc)))
            return


def _check_structure(bag: bagit.Bag, report: BagReport) -> None:
    bag._validate_structure()  # data/ present, at least one manifest, bagit.txt
    bag._validate_bagittxt()  # no byte-order mark
    for name in bag.entries:
        if _unsafe_anywhere(name):
            report.findings.append(finding("bag-manifest-path", name, path=name))


def _unsafe_anywhere(name: str) -> bool:
    """Absolute on some OS (``C:``, UNC, ``%VAR%``), a backslash, or a ``~`` shortcut."""
    return bool(_WINDOWS_ABSOLUTE.match(name)) or "\\" in name or name.startswith("~")


def _check_fetch(bag: bagit.Bag, report: BagReport) -> None:
    for _url, _size, name in bag.fetch_entries():
        if _unsafe_anywhere(name):
            report.findings.append(finding("bag-fetch-path", "fetch.txt", "unsafe", path=name))
        elif not name.startswith("data/"):
            report.findings.append(finding("bag-fetch-path", "fetch.txt", "outside_data", path=name))
    bag.validate_fetch()


def is_system_file(relative: str) -> bool:
    name = relative.rsplit("/", 1)[-1].lower()
    return name in SYSTEM_FILES or name.startswith("._")


def _check_completeness(bag: bagit.Bag, report: BagReport) -> None:
    only_in_manifests, only_on_fs = bag.compare_manifests_with_fs()
    fetched = set(bag.files_to_be_fetched())
    for name in only_in_manifests:
        if name in fetched:
            continue  # a holey bag: listed in fetch.txt, to be fetched
        if is_system_file(name):
            report.findings.append(finding("bag-system-file-missing", name, path=name))
        else:
            report.findings.append(finding("bag-file-missing", name, path=name))
    for name in only_on_fs:
        report.findings.append(finding("bag-unexpected-file", name, path=name))
    for name in bag.payload_files():
        if is_system_file(name):
            report.findings.append(finding("bag-system-file", name, path=name))


def _check_oxum(bag: bagit.Bag, report: BagReport) -> None:
    files = count = 0
    for name in bag.payload_files():
        files += 1
        count += os.stat(os.path.join(bag.path, name)).st_size
    report.payload_files, report.payload_bytes = files, count
    oxum = bag.info.get("Payload-Oxum")
    if isinstance(oxum, list):
        oxum = oxum[0]
    if oxum is None:
        return
    octets, _, number = str(oxum).partition(".")
    if not (octets.isdigit() and number.isdigit()):
        report.findings.append(finding("bag-oxum", "bag-info.txt", "malformed", declared=str(oxum)))
        return
    declared = (int(octets), int(number))
    stripped = sum(1 for f in report.findings if f.code == "bag-system-file-missing")
    if declared == (count, files) or (stripped and files + stripped == declared[1] and count <= declared[0]):
        return  # equal, or the difference is the stripped system files
    report.findings.append(finding(
        "bag-oxum", "bag-info.txt", "mismatch", declared=str(oxum), found=f"{count}.{files}",
        declared_files=number, declared_bytes=octets, files=files, bytes=count))


def _check_digests(bag: bagit.Bag, report: BagReport) -> None:
    """Every manifest and tag-manifest entry present on disk, each algorithm, in one pass per file."""
    lookup = getattr(bag, "normalized_filesystem_names", {})
    for relative, expected in sorted(bag.entries.items()):
        full = os.path.join(bag.path, lookup.get(relative, relative))
        if not os.path.isfile(full):
            continue  # reported by completeness (or a hole)
        hasher = MultiHasher(_supported(expected))
        with open(full, "rb") as fh:
            while chunk := fh.read(1024 * 1024):
                hasher.update(chunk)
        for algorithm, found in hasher.hexdigests().items():
            if expected[algorithm].lower() != found:
                report.findings.append(finding(
                    "bag-checksum", relative, path=relative, algorithm=algorithm, expected=expected[algorithm].lower(),
                    found=found))


def _supported(expected: dict[str, str]) -> list[str]:
    return [a for a in expected if a in hashlib.algorithms_available]


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _captured_warnings() -> Iterator[list[str]]:
    """What bagit only logs (duplicate entries, byte-order marks) becomes warning findings."""
    logger = logging.getLogger("bagit")
    handler = _ListHandler()
    previous = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = previous


# -- writing and reading --------------------------------------------------------------------------

def make_bag(directory: Path, info: dict[str, str]) -> Path:
    """Turn ``directory`` (its children become the payload) into a BagIt 1.0 bag in place."""
    with _captured_warnings():
        try:
            bag = bagit.make_bag(str(directory), dict(info), processes=1, checksums=list(CHECKSUMS))
            bag.version_info = (1, 0)
        except (bagit.BagError, RuntimeError, OSError) as exc:
            raise PackageError(f"无法生成 BagIt 包：{exc}", f"cannot make bag: {exc}") from exc
    _set_version(Path(directory))
    return Path(directory)


def _set_version(directory: Path) -> None:
    """bagit writes 0.97; declare 1.0 (RFC 8493) and refresh the tag manifests that cover bagit.txt."""
    (directory / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", encoding="utf-8")
    for algorithm in CHECKSUMS:
        bagit._make_tagmanifest_file(algorithm, str(directory), encoding="utf-8")


def is_holey(path: Path) -> bool:
    """True when fetch.txt names payload files that are not in the bag yet."""
    bag = bagit.Bag(str(path))
    return any(not (Path(path) / name).exists() for name in bag.files_to_be_fetched())


def bag_items(path: Path) -> list[Path]:
    """The item directories a bag carries: ``data/`` itself when it is one SIP, else its children."""
    data = Path(path) / "data"
    if (data / "元数据.xml").is_file():
        return [data]
    items = sorted(p for p in data.iterdir() if p.is_dir() and (p / "元数据.xml").is_file()) if data.is_dir() else []
    if not items:
        raise PackageError(f"BagIt 包 {Path(path).name} 的 data/ 中没有条目（元数据.xml）",
                           f"bag {Path(path).name} carries no item (元数据.xml) under data/")
    return items
