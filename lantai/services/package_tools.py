"""Use cases over files outside the archive: identify formats, validate a bag, build, verify, extract
and read DA/T 48 packages (an EEP may also be built from an archived item).

The CLI's ``formats``, ``bag validate`` and ``eep`` commands call these, so they stay thin. Each
function imports its own format or package code: ``lantai formats identify`` must not pay for lxml,
SM2 and the EEP writer, nor ``lantai eep verify`` for fido's signatures.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lantai.checks.registry import finding
from lantai.domain.findings import Finding
from lantai.errors import BadInput, NotFound
from lantai.formats.identify import identify
from lantai.packages import eep
from lantai.packages.bag import validate_bag as validate
from lantai.services.archive import open_archive
from lantai.services.keys import keystore
from lantai.services.transfer import write_item_sip
from lantai.settings import Settings

if TYPE_CHECKING:
    from lantai.packages.bag import BagReport



def identify_files(paths: list[Path]) -> list[dict[str, Any]]:
    """Format identification of each file (directories walked), refusing paths that do not exist."""

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise BadInput(f"文件不存在: {', '.join(missing)}", f"no such file: {', '.join(missing)}", paths=missing)
    return [{"path": str(p), **identify(p).to_dict()} for p in _expand(paths)]


def validate_bag(path: Path) -> BagReport:
    """Structure, manifests, Payload-Oxum and unsafe paths of any BagIt bag."""

    return validate(path)


def _expand(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        else:
            out.append(path)
    return out


def build_eep(settings: Settings, source: str, output: Path, previous: Path | None = None) -> Path:
    """An SM2-signed EEP from a SIP directory or an archived item (原始型; 修改型 over ``previous``)."""

    store = keystore(settings)
    assert store is not None
    signer = eep.Signer.from_keystore(store)
    with _sip_directory(settings, source) as sip_dir:
        if previous is None:
            return eep.build_eep(sip_dir, output, signer)
        return eep.build_modified_eep(previous, sip_dir, output, signer, store)


@contextlib.contextmanager
def _sip_directory(settings: Settings, source: str) -> Iterator[Path]:
    """A SIP directory as given, or an archived item copied out (fixity-checked) to a temp SIP."""
    path = Path(source)
    if path.is_dir():
        yield path
        return

    with open_archive(settings) as archive, tempfile.TemporaryDirectory(dir=archive.settings.staging_dir) as tmp:
        if not archive.store.exists(source):
            raise NotFound(f"{source} 既不是 SIP 目录，也不是已归档条目的电子文件号",
                           f"{source} is neither a SIP directory nor an archived record id")
        target = Path(tmp) / "sip"
        write_item_sip(archive.store, source, target)
        archive.audit.append("cli", "eep.built", source, {})
        yield target


def verify_eep(settings: Settings, package: Path) -> list[Finding]:
    """Structure, identifiers, encoded data, signatures, certificates and the modification chain."""

    store = keystore(settings, required=False)
    findings = eep.verify_eep(package, store)
    return findings if store is not None else [*findings, finding("cert-trust-unchecked", "证书块")]


def extract_eep(settings: Settings, package: Path, output: Path) -> Any:
    """Verify, then unpack to a SIP with the file names and bytes that were packaged."""

    return eep.extract_eep(package, output, keystore(settings, required=False))


def eep_history(package: Path) -> list[dict[str, Any]]:
    """The package's modification layers and their signatures."""

    return [layer.to_dict() for layer in eep.read_history(package)]
