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

from dataclasses import dataclass, field
from pathlib import Path

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


def _f(code: str, rule: str, element: str, zh: str, en: str, **params: object) -> Finding:
    return Finding(rule=rule, element=element, message=zh, message_en=en, code=code, params=params)


def read_carrier(path: Path) -> Carrier:
    carrier = Carrier(Path(path))
    if not carrier.root.is_dir():
        carrier.findings.append(_f("yj-4-2", Rule.STRUCTURE, str(path), f"{path} 不是目录", f"{path} is not a directory"))
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
        carrier.findings.append(_f("yj-3-1", Rule.STRUCTURE, layout.CATALOGUE, f"{layout.CATALOGUE} 无法读取：{exc}",
                                   f"{layout.CATALOGUE} unreadable: {exc}"))
        return []
    if root.tag != "文件目录":
        carrier.findings.append(_f("yj-3-1", Rule.STRUCTURE, layout.CATALOGUE, f"{layout.CATALOGUE} 的根元素应为 文件目录",
                                   f"{layout.CATALOGUE} root must be 文件目录"))
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
        carrier.findings.append(_f("yj-2-1", Rule.REGISTER, layout.REGISTER_XLSX, exc.message_zh, exc.message_en))
        return None


def _read_manifest(carrier: Carrier) -> dict[str, str]:
    path = carrier.root / layout.MANIFEST
    try:
        return parse_manifest(layout.MANIFEST, layout.MANIFEST, path.read_bytes())
    except (OSError, LantaiError) as exc:
        zh = getattr(exc, "message_zh", f"缺少或无法读取：{exc}")
        carrier.findings.append(_f("yj-1-5", Rule.DIGEST, layout.MANIFEST, f"{layout.MANIFEST}：{zh}",
                                   f"{layout.MANIFEST}: missing or unreadable"))
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
        findings.append(_f("yj-4-2", Rule.STRUCTURE, name, f"载体根目录有不应存在的文件：{name}",
                           f"unexpected entry at the carrier root: {name}"))
    for name in sorted(layout.ROOT_ENTRIES - present):
        findings.append(_f("yj-2-4", Rule.STRUCTURE, name, f"载体缺少 {name}", f"carrier lacks {name}"))
    return findings


def _check_items(carrier: Carrier) -> list[Finding]:
    findings = []
    listed: dict[str, CarrierItem] = {}
    for item in carrier.items:
        try:
            path = check_relative_path(layout.CATALOGUE, item.path)
        except LantaiError as exc:
            findings.append(_f("yj-2-4", Rule.STRUCTURE, item.archival_code, exc.message_zh, exc.message_en))
            continue
        if path in listed:
            findings.append(_f("yj-2-4", Rule.DUPLICATE, path, f"文件目录中重复的电子档案：{path}", f"listed twice: {path}"))
        listed[path] = item
    on_carrier = set(carrier.packages)
    for path in sorted(set(listed) - on_carrier):
        findings.append(_f("yj-2-4", Rule.FILE, path, f"缺少电子档案（文件目录第 {listed[path].sequence} 条，档号 "
                           f"{listed[path].archival_code}）：{path}", f"item package missing: {path}", path=path))
    for path in sorted(on_carrier - set(listed)):
        findings.append(_f("yj-2-4", Rule.FILE, path, f"电子档案未列入文件目录（多余的件）：{path}",
                           f"item package not in the catalogue (extra item): {path}", path=path))
    for path in sorted(p for p in on_carrier if not p.endswith(layout.EEP_SUFFIX)):
        findings.append(_f("yj-2-4", Rule.FILE, path, f"电子档案/ 中的文件不是封装包：{path}", f"not an .eep: {path}"))
    return findings


def _check_register(carrier: Carrier) -> list[Finding]:
    register = carrier.register
    if register is None:
        return []
    count = len(carrier.packages)
    size = sum((carrier.root / p).stat().st_size for p in carrier.packages)
    findings = []
    if register.items != count or register.items != len(carrier.items):
        findings.append(_f("yj-2-1", Rule.REGISTER, "移交登记表/件数",
                           f"移交登记表与载体不符：登记 {register.items} 件，文件目录 {len(carrier.items)} 件，载体上 {count} 件",
                           f"register says {register.items} items, catalogue {len(carrier.items)}, carrier {count}",
                           declared=register.items, catalogue=len(carrier.items), actual=count))
    if register.bytes != size:
        findings.append(_f("yj-2-1", Rule.REGISTER, "移交登记表/字节数",
                           f"移交登记表与载体不符：登记 {register.bytes} 字节，实际 {size} 字节",
                           f"register says {register.bytes} bytes, carrier holds {size}", declared=register.bytes, actual=size))
    return findings


def _check_manifest(carrier: Carrier) -> list[Finding]:
    if not carrier.manifest:
        return []
    findings = []
    present = set(carrier.files) - {layout.MANIFEST}
    for path, expected in sorted(carrier.manifest.items()):
        if path not in present:
            findings.append(_f("yj-1-5", Rule.DIGEST, path, f"清单列出的文件不存在：{path}", f"listed file missing: {path}"))
            continue
        actual = carrier.digests[path] = digest_file(carrier.root / path, ("sm3",))[0]["sm3"]
        if actual != expected:
            findings.append(_f("yj-1-5", Rule.DIGEST, path, f"SM3 摘要不符（文件在移交后被改动）：{path}",
                               f"SM3 mismatch (file changed after it was sent): {path}",
                               expected=expected, actual=actual))
    for path in sorted(present - set(carrier.manifest)):
        findings.append(_f("yj-4-2", Rule.DIGEST, path, f"文件未列入清单（载体上有多余文件）：{path}",
                           f"file not in the manifest (extra file on the carrier): {path}"))
    return findings
