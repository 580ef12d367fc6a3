"""Read a transfer carrier and check it as a whole before any item package is opened.

Checks (DA/T 70 移交与接收 stage; codes as STANDARDS §5.2 numbers the targets):

* ``yj-4-2`` 移交载体安全性 — nothing but 说明文件.TXT, 文件目录.XML, 电子档案/ and 其他/ at the root;
* ``yj-3-1`` 元数据可用性 — 文件目录.XML and the register parse;
* ``yj-2-4`` 移交信息包完整性 — every 文件 of the catalogue has its package and every package
  on the carrier is in the catalogue (a missing or an extra item is named);
* ``yj-2-1`` 数据总量 — 件数 and 字节数 of the 移交登记表 equal what is on the carrier;
* ``yj-1-5`` 移交信息包真实性 — every file has the SM3 the manifest lists, none unlisted.

Per-package checks (DA/T 48 structure, signatures, certificates) need the key store and belong to
the receiving service. Nothing here raises for a bad carrier: findings say what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from lantai.checks.registry import finding
from lantai.crypto.digests import digest_file
from lantai.domain.findings import Finding, Rule
from lantai.errors import LantaiError
from lantai.formats.safexml import child, children, parse_xml
from lantai.packages.sip import check_relative_path, parse_manifest
from lantai.packages.transfer import layout
from lantai.packages.transfer.register import TransferRegister, read_register
from lantai.packages.transfer.writer import iter_files


@dataclass(frozen=True)
class CarrierItem:
    sequence: str
    archival_code: str
    title: str
    path: str

    def to_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass
class Carrier:
    root: Path
    items: list[CarrierItem] = field(default_factory=list)
    register: TransferRegister | None = None
    manifest: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)  # SM3 as found on the carrier

    @property
    def packages(self) -> list[str]:
        """Item packages actually on the carrier (under 电子档案/)."""
        return [f for f in self.files if f.startswith(layout.RECORDS_DIR + "/")]

    @property
    def transfer_id(self) -> str:
        return self.register.transfer_id if self.register else ""


def _f(code: str, rule: str, element: str, variant: str, **params: object) -> Finding:
    """A carrier finding under its DA/T 70 yj code; the text comes from the check registry."""
    return replace(finding(code, element, variant, **params), rule=rule)


def _error_text(exc: Exception, language: str = "zh") -> str:
    """The Chinese or English text of a Lantai error, the exception's own text otherwise."""
    return str(getattr(exc, f"message_{language}", "") or exc)


def read_carrier(path: Path) -> Carrier:
    carrier = Carrier(Path(path))
    if not carrier.root.is_dir():
        carrier.findings.append(_f("yj-4-2", Rule.STRUCTURE, str(path), "not_directory", path=str(path)))
        return carrier
    carrier.files = list(iter_files(carrier.root))
    carrier.items = _read_catalogue(carrier)
    carrier.register = _read_register(carrier)
    carrier.manifest = _read_manifest(carrier)
    return carrier


def _read_catalogue(carrier: Carrier) -> list[CarrierItem]:
    path = carrier.root / layout.CATALOGUE
    try:
        root = parse_xml(path.read_bytes(), layout.CATALOGUE)
    except (OSError, ValueError, LantaiError) as exc:
        carrier.findings.append(_f("yj-3-1", Rule.STRUCTURE, layout.CATALOGUE, "catalogue_unreadable",
                                   name=layout.CATALOGUE, error=_error_text(exc), error_en=_error_text(exc, "en")))
        return []
    if root.tag != "文件目录":
        carrier.findings.append(_f("yj-3-1", Rule.STRUCTURE, layout.CATALOGUE, "catalogue_root",
                                   name=layout.CATALOGUE))
        return []
    return [CarrierItem(*(_text(entry, name) for name in ("顺序号", "档号", "题名", "电子档案名称")))
            for entry in children(root, "文件")]


def _text(element: object, name: str) -> str:
    found = child(element, name)  # type: ignore[arg-type]
    return (found.text or "").strip() if found is not None else ""


def _read_register(carrier: Carrier) -> TransferRegister | None:
    try:
        return read_register(carrier.root / layout.REGISTER_XLSX)
    except LantaiError as exc:
        carrier.findings.append(_f("yj-2-1", Rule.REGISTER, layout.REGISTER_XLSX, "register_unreadable",
                                   detail=exc.message_zh, detail_en=exc.message_en))
        return None


def _read_manifest(carrier: Carrier) -> dict[str, str]:
    path = carrier.root / layout.MANIFEST
    try:
        return parse_manifest(layout.MANIFEST, layout.MANIFEST, path.read_bytes())
    except (OSError, LantaiError) as exc:
        carrier.findings.append(_f("yj-1-5", Rule.DIGEST, layout.MANIFEST, "manifest_unreadable", name=layout.MANIFEST,
                                   error=_error_text(exc), error_en=_error_text(exc, "en")))
        return {}


# -- checks ---------------------------------------------------------------------------------------

def check_carrier(carrier: Carrier) -> list[Finding]:
    """Every carrier-level problem; [] means the items may be opened."""
    findings = list(carrier.findings)
    if carrier.root.is_dir():
        findings += _check_root(carrier)
        findings += _check_items(carrier)
        findings += _check_register(carrier)
        findings += _check_manifest(carrier)
    return findings


def _check_root(carrier: Carrier) -> list[Finding]:
    findings = []
    present = {p.name for p in carrier.root.iterdir()}
    for name in sorted(present - layout.ROOT_ENTRIES):
        findings.append(_f("yj-4-2", Rule.STRUCTURE, name, "root_extra", name=name))
    for name in sorted(layout.ROOT_ENTRIES - present):
        findings.append(_f("yj-2-4", Rule.STRUCTURE, name, "root_missing", name=name))
    return findings


def _check_items(carrier: Carrier) -> list[Finding]:
    findings = []
    listed: dict[str, CarrierItem] = {}
    for item in carrier.items:
        try:
            path = check_relative_path(layout.CATALOGUE, item.path)
        except LantaiError as exc:
            findings.append(_f("yj-2-4", Rule.STRUCTURE, item.archival_code, "unsafe_path",
                               detail=exc.message_zh, detail_en=exc.message_en))
            continue
        if path in listed:
            findings.append(_f("yj-2-4", Rule.DUPLICATE, path, "listed_twice", path=path))
        listed[path] = item
    on_carrier = set(carrier.packages)
    for path in sorted(set(listed) - on_carrier):
        findings.append(_f("yj-2-4", Rule.FILE, path, "item_missing", path=path, sequence=listed[path].sequence,
                           archival_code=listed[path].archival_code))
    for path in sorted(on_carrier - set(listed)):
        findings.append(_f("yj-2-4", Rule.FILE, path, "item_extra", path=path))
    for path in sorted(p for p in on_carrier if not p.endswith(layout.EEP_SUFFIX)):
        findings.append(_f("yj-2-4", Rule.FILE, path, "not_eep", path=path))
    return findings


def _check_register(carrier: Carrier) -> list[Finding]:
    register = carrier.register
    if register is None:
        return []
    count = len(carrier.packages)
    size = sum((carrier.root / p).stat().st_size for p in carrier.packages)
    findings = []
    if register.items != count or register.items != len(carrier.items):
        findings.append(_f("yj-2-1", Rule.REGISTER, "移交登记表/件数", "items",
                           declared=register.items, catalogue=len(carrier.items), actual=count))
    if register.bytes != size:
        findings.append(_f("yj-2-1", Rule.REGISTER, "移交登记表/字节数", "bytes", declared=register.bytes, actual=size))
    return findings


def _check_manifest(carrier: Carrier) -> list[Finding]:
    if not carrier.manifest:
        return []
    findings = []
    present = set(carrier.files) - {layout.MANIFEST}
    for path, expected in sorted(carrier.manifest.items()):
        if path not in present:
            findings.append(_f("yj-1-5", Rule.DIGEST, path, "listed_missing", path=path))
            continue
        actual = carrier.digests[path] = digest_file(carrier.root / path, ("sm3",))[0]["sm3"]
        if actual != expected:
            findings.append(_f("yj-1-5", Rule.DIGEST, path, "digest_mismatch", path=path, expected=expected, actual=actual))
    for path in sorted(present - set(carrier.manifest)):
        findings.append(_f("yj-4-2", Rule.DIGEST, path, "unlisted", path=path))
    return findings
