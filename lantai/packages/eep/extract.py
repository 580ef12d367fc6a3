"""Turn a verified EEP back into a SIP, and read a package's history layer by layer.

Extraction decodes every 编码数据 to a scratch file during the single verifying pass, then moves
each one to the 计算机文件名 of the 编码 that uses it (following @引用编码数据ID in a 修改型
package to data carried by an earlier layer). Nothing is left in the target when verification
fails. The SIP is the newest layer: 原始型 → its 封装内容; 修改型 → its 修订内容.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from lantai.crypto.keystore import Keystore
from lantai.domain.findings import Finding, errors
from lantai.domain.metadata import RecordEntity, record_from_element
from lantai.errors import PackageError, ValidationFailed
from lantai.packages.eep import names as n
from lantai.packages.eep.reader import EncodedData, ParsedPackage, parse_package
from lantai.packages.eep.sip_io import (
    MANIFEST_FILE,
    METADATA_FILE,
    PROCESS_FILE,
    process_from_blocks,
    strip_encoded_data,
    write_xml,
)
from lantai.packages.eep.verify import _child, _signed_objects, _text, verify_parsed
from lantai.packages.sip import check_relative_path


@dataclass
class ExtractResult:
    directory: Path
    files: list[str]
    findings: list[Finding] = field(default_factory=list)


@dataclass
class Layer:
    """One layer of a package's history: 修改0 is the original."""

    revision: int
    package_type: str
    created: str | None
    creator: str | None
    record: etree._Element
    signatures: list[dict[str, str | None]]

    def entity(self) -> RecordEntity:
        """The layer's 文件实体 as the DA/T 46 domain model."""
        block = self.record.getparent()  # 文件实体块: carries the 文件实体关系 too
        return record_from_element(block if block is not None else self.record)

    def to_dict(self) -> dict[str, object]:
        return {
            "revision": self.revision,
            "package_type": self.package_type,
            "created": self.created,
            "creator": self.creator,
            "electronic_record_code": self.record.findtext(n.q("电子文件号")),
            "title": self.record.findtext(f"{n.q('内容描述')}/{n.q('题名')}"),
            "signatures": self.signatures,
        }


def extract_eep(
    path: Path, target: Path, keystore: Keystore | None, *, manifest: bool = True
) -> ExtractResult:
    """Verify and unpack ``path`` into the new directory ``target``; ValidationFailed on errors."""
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise PackageError(f"目标目录非空：{target}", f"target directory is not empty: {target}")
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".eep-", dir=target) as scratch:
        package = parse_package(path, data_dir=Path(scratch), digest_data=manifest)
        findings = verify_parsed(package, keystore)
        if errors(findings):
            raise ValidationFailed(
                f"封装包验证未通过（{len(errors(findings))} 项错误），未解包",
                "package failed verification",
                findings=findings,
            )
        files = _write_sip(package, target, manifest)
    return ExtractResult(target, files, findings)


def _write_sip(package: ParsedPackage, target: Path, manifest: bool) -> list[str]:
    root = package.root
    assert root is not None
    blocks = current_blocks(root)
    record = _child(blocks["文件实体块"], "文件实体")
    assert record is not None
    by_id = {r.element.get("编码数据ID"): r for r in package.data.values()}
    used: set[str] = set()
    lines, names = [], []
    for data in record.iter(n.q("编码数据")):
        source = _resolve(package.data[data], by_id)
        name = check_relative_path(
            METADATA_FILE, data.getparent().findtext(f"{n.q('电子属性')}/{n.q('计算机文件名')}").strip()
        )
        _place(source, target / name, copy=source.path in used)
        used.add(source.path)  # type: ignore[arg-type]
        lines.append(f"{source.sm3}  {name}")
        names.append(name)
    has_relations = _child(blocks["文件实体块"], "文件实体关系") is not None
    write_xml(target / METADATA_FILE, strip_encoded_data(blocks["文件实体块"] if has_relations else record))
    leading = blocks["文件实体块"].tail
    write_xml(
        target / PROCESS_FILE, process_from_blocks([blocks["业务实体块"], blocks["机构人员实体块"]], leading)
    )
    if manifest:
        (target / MANIFEST_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return names


def current_blocks(root: etree._Element) -> dict[str, etree._Element]:
    signed = _child(root, "被签名对象")
    body = _child(signed, "封装内容")
    if body is None:
        body = _child(_child(signed, "修改封装内容"), "修订内容")
    return {name: _child(body, name) for name in ("文件实体块", "业务实体块", "机构人员实体块")}  # type: ignore[misc]


def _resolve(record: EncodedData, by_id: dict[str | None, EncodedData]) -> EncodedData:
    seen = set()
    while not record.has_text and record.element.get("引用编码数据ID") and record.element not in seen:
        seen.add(record.element)
        record = by_id[record.element.get("引用编码数据ID")]
    return record


def _place(source: EncodedData, destination: Path, *, copy: bool) -> None:
    assert source.path is not None
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists():
        raise PackageError(f"文件名重复：{destination.name}", f"duplicate file name {destination}")
    if copy or not source.path.exists():
        shutil.copyfile(source.path, destination)
    else:
        source.path.rename(destination)


def read_history(path: Path) -> list[Layer]:
    """Every layer of the package, original first; data is not decoded."""
    package = parse_package(path)
    if package.root is None:
        raise PackageError("封装包无法解析", "package cannot be parsed", findings=package.findings)
    layers = []
    chain = _signed_objects(package.root)
    for revision, signed in enumerate(reversed(chain)):
        body = _child(signed, "封装内容")
        if body is None:
            body = _child(_child(signed, "修改封装内容"), "修订内容")
        record = _child(_child(body, "文件实体块"), "文件实体")
        holder = signed.getparent()
        block = _child(holder, "电子签名块")
        layers.append(
            Layer(
                revision,
                _text(signed, "封装包类型") or "",
                _text(signed, "封装包创建时间"),
                _text(signed, "封装包创建单位"),
                record if record is not None else etree.Element(n.q("文件实体")),
                [_signature_summary(s) for s in (block if block is not None else [])],
            )
        )
    return layers


def _signature_summary(signature: etree._Element) -> dict[str, str | None]:
    return {k: _text(signature, k) for k in ("签名标识符", "签名时间", "签名人", "签名算法标识")}
