"""Write everything of a transfer carrier around the item packages: 说明文件.TXT, 文件目录.XML,
其他/ (schemas, rules, register, certificates) and the SM3 manifest of every file.

The item packages themselves (``电子档案/…/*.eep``) are built by the caller, which knows the
store; this module only lays out files, so a test can build a carrier from plain values.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lantai.crypto.certs import certificate_to_pem
from lantai.crypto.digests import digest_file
from lantai.packages.catalogue import CatalogueEntry, catalogue_xml
from lantai.packages.transfer import layout
from lantai.packages.transfer.register import TransferRegister, write_register


@dataclass(frozen=True)
class ExportedItem:
    """One item as it sits on the carrier."""

    record_id: str
    path: str  # relative to the carrier root
    size: int
    sm3: str
    archival_code: str = ""
    author: str = ""
    title: str = ""
    date: str = ""
    security: str = ""
    remarks: str = ""

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def write_carrier(target: Path, items: list[ExportedItem], register: TransferRegister, *,
                  sender: str, certificates: tuple[bytes, ...]) -> dict[str, str]:
    """Write the files around the packages, then the manifest; returns {path: sm3}."""
    write_catalogue(target, items)
    write_description(target, register, sender)
    write_other(target, register, certificates)
    return write_manifest(target, {i.path: i.sm3 for i in items})


def write_catalogue(target: Path, items: Iterable[ExportedItem]) -> None:
    entries = [CatalogueEntry(sequence=n, archival_code=i.archival_code or i.record_id, author=i.author, title=i.title,
                              date=i.date, security=i.security, file_name=i.path, remarks=i.remarks)
               for n, i in enumerate(items, start=1)]
    (target / layout.CATALOGUE).write_bytes(catalogue_xml(entries, encoding="UTF-8"))


def write_description(target: Path, register: TransferRegister, sender: str) -> None:
    lines = [
        "说明文件",
        "",
        f"移交标识：{register.transfer_id}",
        f"载体编号：{register.transfer_id[:12]}",
        "载体类型与参数：文件系统目录（可复制至光盘、硬盘等离线载体）",
        f"保管单位：{register.unit_name}",
        f"形成单位：{register.unit_name}",
        f"检测单位：{sender}",
        f"移交时间：{register.transferred_at}",
        f"全宗号：{register.fonds_code}　年度：{register.year}　门类：{register.category}",
        f"件数：{register.items}　字节数：{register.bytes}（电子档案/ 下全部文件）",
        "",
        "目录结构：",
        f"  {layout.CATALOGUE}  文件级目录（UTF-8），每件一个 <文件>",
        f"  {layout.RECORDS_DIR}/<年度>/<类别>/<件>/<电子文件号>.eep  DA/T 48-2009 电子文件封装包（SM2/SM3 签名）",
        f"  {layout.OTHER_DIR}/  模式文件、封装规范、档号编制规则、移交登记表（PDF、XLSX）、签名证书、SM3 清单",
        "",
        "读取所需软硬件：能读取 UTF-8 文本与 XML 的任意操作系统；封装包按 DA/T 48-2009 解析，",
        "签名按 GB/T 32918（SM2）与 GB/T 32905（SM3）验证；登记表以 PDF 与 XLSX 格式提供。",
        "",
    ]
    (target / layout.DESCRIPTION).write_text("\r\n".join(lines), encoding="utf-8")


_CATALOGUE_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:element name="文件目录">
    <xs:complexType><xs:sequence>
      <xs:element name="文件" minOccurs="0" maxOccurs="unbounded">
        <xs:complexType><xs:sequence>
          <xs:element name="顺序号" type="xs:positiveInteger"/>
          <xs:element name="档号" type="xs:string"/>
          <xs:element name="责任者" type="xs:string"/>
          <xs:element name="题名" type="xs:string"/>
          <xs:element name="日期" type="xs:string"/>
          <xs:element name="密级" type="xs:string"/>
          <xs:element name="电子档案名称" type="xs:string"/>
          <xs:element name="备注" type="xs:string"/>
        </xs:sequence></xs:complexType>
      </xs:element>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>
"""

_PACKAGING_NOTE = """封装规范说明

电子档案/ 下每件电子档案为一个 DA/T 48-2009《基于XML的电子文件封装规范》原始型封装包（.eep），
命名空间 http://www.saac.gov.cn/standards/ERM/encapsulation，元数据遵循 DA/T 46-2009。
被签名对象经独占式 XML 规范化（exc-C14N 1.0）后以 SM2（签名算法标识 1.2.156.10197.1.501，
默认签名者标识 1234567812345678）签名，证书块内含移交单位签名证书及其根证书；锁定签名覆盖电子签名。
其他/证书/ 提供同样的证书，供接收方导入信任（lantai keys trust-ca）。
"""

_NUMBERING_RULES = """档号编制规则

档号按 DA/T 22-2015《归档文件整理规则》编制：全宗号-档案门类代码·年度-保管期限-机构（问题）代码-件号，
例如 Z109-WS·2025-Y-BGS-0001。尚未编制档号的文件以电子文件号代替，并在 文件目录.XML 的 备注 中注明。
电子档案/<年度>/<类别>/<件>/ 的 <件> 取档号（无档号时取电子文件号），路径中不安全的字符替换为“_”。
"""


def write_other(target: Path, register: TransferRegister, certificates: tuple[bytes, ...]) -> None:
    other = target / layout.OTHER_DIR
    other.mkdir(parents=True, exist_ok=True)
    (target / layout.CATALOGUE_SCHEMA).write_text(_CATALOGUE_XSD, encoding="utf-8")
    (target / layout.PACKAGING_NOTE).write_text(_PACKAGING_NOTE.replace("\n", "\r\n"), encoding="utf-8")
    (target / layout.NUMBERING_RULES).write_text(_NUMBERING_RULES.replace("\n", "\r\n"), encoding="utf-8")
    write_register(register, target / layout.REGISTER_XLSX, target / layout.REGISTER_PDF)
    for relative, der in zip((layout.SIGNING_CERT, layout.CA_CERT), certificates, strict=False):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_bytes(certificate_to_pem(der))


def write_manifest(target: Path, known: dict[str, str]) -> dict[str, str]:
    """SM3 of every file but the manifest itself; digests already computed are reused."""
    digests: dict[str, str] = {}
    for relative in iter_files(target):
        if relative == layout.MANIFEST:
            continue
        digests[relative] = known.get(relative) or digest_file(target / relative, ("sm3",))[0]["sm3"]
    lines = [f"{sm3}  {relative}" for relative, sm3 in sorted(digests.items())]
    (target / layout.MANIFEST).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return digests


def iter_files(root: Path) -> Iterable[str]:
    """Every regular file under ``root`` as a POSIX path relative to it, in a stable order."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield (Path(dirpath) / name).relative_to(root).as_posix()
