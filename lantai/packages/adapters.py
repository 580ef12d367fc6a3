"""Turn what agencies send (a DA/T 48 EEP, a BagIt bag) into the plain SIP ingest reads.

Ingest knows one input shape, the SIP item directory (or a zip of one). Other shapes are adapted
in front of it, so every check ingest runs applies to them unchanged — and so a package that
fails its own verification never reaches ingest at all: nothing is ingested from it.

* ``.eep`` → verified with the archive's key store (structure, digests, SM2 signatures,
  certificate trust) and extracted to a SIP under ``work_dir``; any error refuses the package;
* a BagIt bag (``bagit.txt``) → validated (manifests, Payload-Oxum, unsafe paths); the item
  directory inside ``data/`` is returned in place, nothing copied;
* anything else → ``None``: it is a SIP already, ingest opens it as usual.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lantai.crypto.keystore import Keystore, open_keystore
from lantai.domain.findings import errors
from lantai.errors import NotFound, PackageError, ValidationFailed
from lantai.packages import bag as bagit_package

EEP_SUFFIX = ".eep"


def is_eep(path: Path) -> bool:
    return Path(path).is_file() and Path(path).suffix.lower() == EEP_SUFFIX


def materialise_sip(path: Path, work_dir: Path, keystore: Keystore | None) -> Path | None:
    """The SIP directory for ``path``, or None when ``path`` is already a SIP.

    Raises :class:`PackageError` naming the first problems when the package does not verify.
    An extracted EEP lands in a new directory under ``work_dir`` named after the package, which
    the caller removes when done (see :func:`materialised`).
    """
    path = Path(path)
    if is_eep(path):
        return _extract_eep(path, Path(work_dir), keystore)
    if bagit_package.is_bag(path):
        return _bag_item(path)
    return None


def _extract_eep(path: Path, work_dir: Path, keystore: Keystore | None) -> Path:
    from lantai.packages.eep import extract_eep  # lazy: lxml and the EEP reader only for an EEP

    work_dir.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix=".eep-", dir=work_dir)) / path.stem
    try:
        extract_eep(path, target, keystore)
    except ValidationFailed as exc:
        shutil.rmtree(target.parent, ignore_errors=True)
        found = errors(exc.details.get("findings", []))
        raise PackageError(
            f"封装包 {path.name} 验证未通过，拒收：{_summary(found)}",
            f"package {path.name} failed verification: {_summary(found, english=True)}",
            findings=found,
        ) from None
    except Exception:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise
    return target


def _summary(findings: list, *, english: bool = False, limit: int = 3) -> str:
    parts = [f"{f.code or f.rule} {f.element}: {(f.message_en or f.message) if english else f.message}"
             for f in findings[:limit]]
    more = len(findings) - limit
    if more > 0:
        parts.append(f"(+{more})" if english else f"（另有 {more} 项）")
    return "; ".join(parts) or "?"


def _bag_item(path: Path) -> Path:
    report = bagit_package.validate_bag(path)
    if not report.valid:
        found = errors(report.findings)
        raise PackageError(f"BagIt 包 {path.name} 校验未通过，拒收：{_summary(found)}",
                           f"bag {path.name} is invalid: {_summary(found, english=True)}", findings=found)
    items = bagit_package.bag_items(path)
    if len(items) != 1:
        raise PackageError(f"BagIt 包 {path.name} 含 {len(items)} 件，请用 lantai bag import 接收",
                           f"bag {path.name} holds {len(items)} items; use lantai bag import")
    return items[0]


def archive_keystore(settings: object) -> Keystore | None:
    """The receiving archive's key store, or None when it has none (trust then goes unchecked)."""
    try:
        return open_keystore(settings.keys_dir, settings.archive_name)  # type: ignore[attr-defined]
    except NotFound:
        return None


@contextlib.contextmanager
def materialised(path: Path, settings: object) -> Iterator[Path]:
    """``path`` as a SIP for the duration of the block; an extracted EEP is removed afterwards."""
    work_dir = Path(settings.staging_dir) / "adapters"  # type: ignore[attr-defined]
    sip_dir = materialise_sip(path, work_dir, archive_keystore(settings) if is_eep(path) else None)
    try:
        yield sip_dir or Path(path)
    finally:
        if sip_dir is not None and is_eep(path):
            shutil.rmtree(sip_dir.parent, ignore_errors=True)
