"""Offline carrier volumes (离线载体, DA/T 38-2008 optical discs, DA/T 75-2019 hard disks): layout,
writer and a verifier that needs nothing but the carrier.

One export is split into volumes of a given capacity; each volume directory is burnt or copied to
one carrier and stands alone::

    <导出名>-卷NN/
      说明文件.TXT                     carrier, archive, year, volume i of n, counts, the manifest's SM3,
                                       what software reads it and how to check it
      机读目录.XML                     machine-readable catalogue (机读目录, Interim Measures Art. 8)
      机读目录.XLSX                    the same rows for people (DA/T 22 columns)
      电子档案/<年度>/<类别>/<件>/<电子文件号>.eep   DA/T 48 package per item (SM2-signed)
      其他/证书/                       the archive's signing and root certificates
      其他/manifest-sm3.txt            SM3 of every other file of the volume

The verifier reads only these files: the manifest against the SM3 the description states, every
file against the manifest (missing, changed, added), the catalogue against the packages, and each
package with the DA/T 48 verifier, trusting the root certificate on the volume — whose SM3
fingerprint the report prints so it can be compared with the one the archive publishes.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from lantai.crypto.certs import certificate_to_pem
from lantai.crypto.digests import digest_file
from lantai.crypto.keystore import Keystore, init_keystore
from lantai.domain.findings import errors
from lantai.packages.catalogue import CatalogueEntry, CatalogueHeading, catalogue_xml, write_xlsx
from lantai.packages.eep import verify_eep
from lantai.packages.transfer.layout import item_path, safe_name

DESCRIPTION = "说明文件.TXT"
CATALOGUE_XML = "机读目录.XML"
CATALOGUE_XLSX = "机读目录.XLSX"
RECORDS_DIR = "电子档案"
MANIFEST = "其他/manifest-sm3.txt"
SIGNING_CERT = "其他/证书/档案馆签名证书.pem"
CA_CERT = "其他/证书/档案馆根证书.pem"
MANIFEST_LINE = "清单SM3："
OVERHEAD_BYTES = 4 * 1024 * 1024  # description, catalogues, certificates and manifest; kept free on each volume


@dataclass(frozen=True)
class VolumeItem:
    """One item's package on a volume, with its catalogue row."""

    record_id: str
    path: str  # relative to the volume
    size: int
    sm3: str
    entry: CatalogueEntry


@dataclass
class VolumeInfo:
    """What the description of one volume states."""

    label: str
    number: str
    archive: str
    kind_hint: str
    year: str
    index: int
    count: int
    items: list[VolumeItem] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(i.size for i in self.items)


def package_path(year: int | str | None, category: str, piece: str, record_id: str) -> str:
    return item_path(year, category, piece, record_id).replace("电子档案", RECORDS_DIR, 1)


def volume_name(label: str, index: int) -> str:
    return f"{safe_name(label)}-卷{index:02d}"


def write_volume_files(volume: Path, info: VolumeInfo, certificates: tuple[bytes, ...]) -> str:
    """Catalogues, certificates, manifest and description around the packages already in place.

    Returns the manifest's SM3, which the description states (so a changed manifest is caught).
    """
    entries = [i.entry for i in info.items]
    (volume / CATALOGUE_XML).write_bytes(catalogue_xml(entries))
    write_xlsx(entries, volume / CATALOGUE_XLSX, CatalogueHeading(fonds_code="、".join(
        sorted({i.entry.archival_code.split("-")[0] for i in info.items if i.entry.archival_code})) or "—",
        year=int(info.year) if info.year.isdigit() else None, subtitle=f"{info.label} 第 {info.index}/{info.count} 卷"))
    for relative, der in zip((SIGNING_CERT, CA_CERT), certificates, strict=False):
        (volume / relative).parent.mkdir(parents=True, exist_ok=True)
        (volume / relative).write_bytes(certificate_to_pem(der))
    known = {i.path: i.sm3 for i in info.items}
    lines = [f"{known.get(rel) or digest_file(volume / rel, ('sm3',))[0]['sm3']}  {rel}"
             for rel in _files(volume) if rel not in (MANIFEST, DESCRIPTION)]
    manifest = ("\n".join(lines) + "\n").encode("utf-8")
    (volume / MANIFEST).parent.mkdir(parents=True, exist_ok=True)
    (volume / MANIFEST).write_bytes(manifest)
    digest = hashlib.new("sm3", manifest).hexdigest()
    (volume / DESCRIPTION).write_text("\r\n".join(_description(info, digest)) + "\r\n", encoding="utf-8")
    return digest


def _description(info: VolumeInfo, manifest_sm3: str) -> list[str]:
    return [
        "说明文件",
        "",
        f"载体编号：{info.number}",
        f"卷标：{info.label}　第 {info.index} 卷，共 {info.count} 卷",
        f"载体类型：{info.kind_hint}",
        f"保管单位：{info.archive}",
        f"年度：{info.year}",
        f"件数：{len(info.items)}　字节数：{info.bytes}（{RECORDS_DIR}/ 下全部封装包）",
        f"{MANIFEST_LINE}{manifest_sm3}",
        "",
        "目录结构：",
        f"  {CATALOGUE_XML}  机读目录（UTF-8），每件一个 <文件>",
        f"  {CATALOGUE_XLSX}  机读目录（电子表格）",
        f"  {RECORDS_DIR}/<年度>/<类别>/<件>/<电子文件号>.eep  DA/T 48-2009 电子文件封装包（SM2/SM3 签名）",
        f"  {MANIFEST}  本卷除本说明文件外全部文件的 SM3；清单本身的 SM3 见上",
        "  其他/证书/  档案馆签名证书与根证书",
        "",
        "读取所需软硬件：能读取 UTF-8 文本与 XML 的任意操作系统；封装包按 DA/T 48-2009 解析，",
        "签名按 GB/T 32918（SM2）与 GB/T 32905（SM3）验证。",
        "检测方法：lantai carrier verify <本卷目录>（无需档案库），或用任意 SM3 工具按清单逐一核对。",
        "",
    ]


def _files(root: Path) -> Iterable[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield (Path(dirpath) / name).relative_to(root).as_posix()


# -- verify (standalone) --------------------------------------------------------------------------

@dataclass
class CarrierReport:
    """Findings file by file, per volume; ``number`` and ``manifest_sm3`` tie a volume to its register entry."""

    volumes: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    files: int = 0
    packages: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.volumes)

    def add(self, volume: str, file: str, problem: str, zh: str, en: str) -> None:
        self.problems.append({"volume": volume, "file": file, "problem": problem, "message": zh, "message_en": en})

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "volumes": self.volumes, "files": self.files, "packages": self.packages,
                "problems": self.problems}


def find_volumes(path: Path) -> list[Path]:
    """``path`` itself when it is a volume, else the volumes directly under it."""
    if (path / DESCRIPTION).is_file() or (path / MANIFEST).is_file():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_dir() and ((p / DESCRIPTION).is_file() or (p / MANIFEST).is_file())) \
        if path.is_dir() else []


def verify_carrier(path: Path) -> CarrierReport:
    """Check one volume or a directory of volumes using nothing but their files."""
    report = CarrierReport()
    volumes = find_volumes(path)
    if not volumes:
        report.add(str(path), "", "not_a_carrier", f"{path} 中没有载体卷（缺少 {DESCRIPTION} 与清单）",
                   f"no carrier volume in {path}")
    for volume in volumes:
        _verify_volume(volume, report)
    return report


def read_description(volume: Path) -> dict[str, str]:
    """The ``key：value`` lines of a volume's description."""
    try:
        text = (volume / DESCRIPTION).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        for part in line.split("　"):
            key, sep, value = part.partition("：")
            if sep and key.strip() and key.strip() not in fields:
                fields[key.strip()] = value.strip()
    return fields


def _verify_volume(volume: Path, report: CarrierReport) -> None:
    name = volume.name
    fields = read_description(volume)
    info = {"volume": name, "number": fields.get("载体编号", ""), "label": fields.get("卷标", ""),
            "manifest_sm3": fields.get(MANIFEST_LINE.rstrip("："), "")}
    report.volumes.append(info)
    if not fields:
        report.add(name, DESCRIPTION, "missing", "说明文件缺失或无法读取", "the description file is missing or unreadable")
    manifest = _read_manifest(volume, info, report)
    if manifest is None:
        return
    for relative, expected in sorted(manifest.items()):
        _check_file(volume, relative, expected, report)
    for relative in _files(volume):
        if relative not in manifest and relative not in (MANIFEST, DESCRIPTION):
            report.add(name, relative, "extra", "清单中没有该文件（载体上多出的文件）", "a file not in the manifest")
    _check_catalogue(volume, manifest, report)
    _check_packages(volume, manifest, report)


def _read_manifest(volume: Path, info: dict[str, Any], report: CarrierReport) -> dict[str, str] | None:
    try:
        data = (volume / MANIFEST).read_bytes()
    except OSError:
        report.add(volume.name, MANIFEST, "missing", "SM3 清单缺失，无法核对", "the SM3 manifest is missing")
        return None
    actual = hashlib.new("sm3", data).hexdigest()
    if info["manifest_sm3"] and actual != info["manifest_sm3"]:
        report.add(volume.name, MANIFEST, "digest", f"清单的 SM3 与说明文件所载不符（应为 {info['manifest_sm3']}，实为 {actual}）",
                   "the manifest does not match the SM3 the description states")
    entries: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        digest, sep, relative = line.partition("  ")
        if sep and re.fullmatch(r"[0-9a-f]{64}", digest):
            entries[relative] = digest
    return entries


def _check_file(volume: Path, relative: str, expected: str, report: CarrierReport) -> None:
    path = volume / relative
    if ".." in relative.split("/") or relative.startswith("/"):
        report.add(volume.name, relative, "unsafe", "清单中的路径越出载体", "a manifest path leaves the volume")
        return
    try:
        actual = digest_file(path, ("sm3",))[0]["sm3"]
    except OSError as exc:
        problem = "missing" if not path.exists() else "unreadable"
        report.add(volume.name, relative, problem, f"文件缺失或无法读取（{exc.strerror}）", f"missing or unreadable: {exc}")
        return
    report.files += 1
    if actual != expected:
        report.add(volume.name, relative, "digest", f"SM3 与清单不符（应为 {expected}，实为 {actual}）",
                   "the SM3 does not match the manifest")


def _check_catalogue(volume: Path, manifest: dict[str, str], report: CarrierReport) -> None:
    packages = {p for p in manifest if p.startswith(f"{RECORDS_DIR}/") and p.endswith(".eep")}
    try:
        root = etree.parse(str(volume / CATALOGUE_XML), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except (OSError, etree.XMLSyntaxError):
        report.add(volume.name, CATALOGUE_XML, "catalogue", "机读目录缺失或无法解析", "the catalogue is missing or unreadable")
        return
    listed = {(f.findtext("电子档案名称") or "") for f in root.findall("文件")}
    for missing in sorted(packages - listed):
        report.add(volume.name, missing, "catalogue", "机读目录未列出该封装包", "the catalogue does not list this package")
    for extra in sorted(listed - packages):
        report.add(volume.name, extra, "catalogue", "机读目录列出的封装包不在清单中", "the catalogue lists a package not on the volume")


def _check_packages(volume: Path, manifest: dict[str, str], report: CarrierReport) -> None:
    """Each package with the DA/T 48 verifier, trusting the root certificate the volume carries."""

    with tempfile.TemporaryDirectory(prefix="lantai-carrier-") as keys:
        keystore: Keystore | None = None
        if (volume / CA_CERT).is_file():
            keystore = init_keystore(Path(keys) / "keys", "载体核查")
            try:
                keystore.trust_ca(volume / CA_CERT)
            except Exception:  # a broken certificate is reported through the packages' signatures
                keystore = None
        for relative in sorted(p for p in manifest if p.endswith(".eep")):
            if not (volume / relative).is_file():
                continue
            report.packages += 1
            findings = errors(verify_eep(volume / relative, keystore))
            for finding in findings[:5]:
                report.add(volume.name, relative, "package", f"封装包校验未通过：{finding.message}",
                           f"package verification failed: {finding.code}")
