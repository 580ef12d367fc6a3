"""DA/T 48-2009 EEP writer: 原始型 packages from a SIP, streamed, signed with SM2.

Shape (STANDARDS.md §4.2; namespace ``http://www.saac.gov.cn/standards/ERM/encapsulation``)::

    电子文件封装包
      封装包格式描述, 版本 (2009)
      被签名对象 @eep版本=2009
        封装包类型, 封装包类型描述, 封装包创建时间, 封装包创建单位
        封装内容 { 文件实体块 {文件实体}, 业务实体块, 机构人员实体块 }
      电子签名块 { 电子签名 {签名标识符 修改0-签名1, 签名规则, 签名时间, 签名人, 签名结果,
                            证书块 {证书+}, 签名算法标识 1.2.156.10197.1.501} }
      锁定签名 { 被锁定签名标识符 修改0-签名1, 签名规则, 签名时间, 签名人, 签名结果, 证书块, 签名算法标识 }

How the signature is computed (and how a verifier reproduces it):

1. ``C`` = Exclusive XML Canonicalization 1.0 without comments (``xml-exc-c14n#``) of the
   被签名对象 element, exactly as W3C defines it; :mod:`.canonical` documents the rules that apply
   to a DA/T 48 document. No whitespace is written between elements inside 被签名对象 except what
   the SIP's own XML carries, and whatever is there is part of ``C``.
2. ``d`` = SM3(``C``), computed while the package is written — base64 text goes into the hash as
   it goes into the file, so no file is ever held in memory.
3. 签名结果 = base64(DER(SM2-Sign(``d``))), where SM2-Sign is GB/T 32918 with SM3 and the signer
   ID ``1234567812345678`` (``e = SM3(Z || d)``). The certificate of the key is the first 证书.
4. 锁定签名 signs SM3(exc-C14N(电子签名 element named by 被锁定签名标识符)) the same way.

The same rule is written, in Chinese, into each 签名规则 element.

编码数据 is base64 without line breaks (the canonical lexical form of ``xs:base64Binary``); the
reader accepts line breaks too. Each 编码数据 gets an ID ``修改R-编码数据N``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from lantai.crypto import sm2
from lantai.crypto.keystore import Keystore
from lantai.domain.clock import beijing_now
from lantai.errors import PackageError
from lantai.packages.eep import names as n
from lantai.packages.eep.canonical import canonical_bytes
from lantai.packages.eep.events import EventWriter
from lantai.packages.eep.sip_io import SipItem, load_sip

CHUNK = 3 * 1024 * 1024  # a multiple of 3: base64 of each chunk needs no padding but the last


@dataclass(frozen=True)
class Signer:
    """Who signs: an SM2 key pair, its certificate (first) and chain, and the name in 签名人."""

    keypair: sm2.Sm2KeyPair
    certificates: tuple[bytes, ...]
    name: str

    @classmethod
    def from_keystore(cls, keystore: Keystore) -> Signer:
        ca = keystore.certificate_authority().certificate
        return cls(keystore.signing_key(), (keystore.signing_certificate(), ca), keystore.archive_name)


@dataclass(frozen=True)
class DataSource:
    """What goes into one 编码数据: a file to embed, or the ID of identical data already packaged."""

    path: Path | None = None
    reference: str | None = None


def now() -> datetime:
    return beijing_now()


def build_eep(
    sip_dir: Path,
    output: Path,
    signer: Signer,
    *,
    creator: str | None = None,
    created: datetime | None = None,
) -> Path:
    """Package the SIP at ``sip_dir`` as a signed 原始型 EEP at ``output`` (written atomically)."""
    item = load_sip(sip_dir)
    try:
        sources = {encoding: DataSource(path=path) for encoding, path in item.files.items()}
        with atomic_output(output) as fh:
            write_package(
                fh, signer, creator or signer.name, created or now(), 0, _original_body(item, sources)
            )
    finally:
        item.close()
    return output


def _original_body(item: SipItem, sources: dict[etree._Element, DataSource]) -> Callable[[EventWriter], None]:
    def body(writer: EventWriter) -> None:
        with writer.element("封装内容"):
            write_entity_blocks(writer, item, sources, revision=0)

    return body


def write_package(
    fh: BinaryIO,
    signer: Signer,
    creator: str,
    created: datetime,
    revision: int,
    body: Callable[[EventWriter], None],
) -> None:
    """Root, header and signatures around ``body`` (封装内容 or 修改封装内容)."""
    package_type = n.TYPE_ORIGINAL if revision == 0 else n.TYPE_MODIFIED
    with etree.xmlfile(fh, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(n.q("电子文件封装包"), nsmap={None: n.NS}):
            writer = EventWriter(xf, fh)
            writer.leaf("封装包格式描述", n.FORMAT_DESCRIPTION)
            writer.leaf("版本", n.EEP_VERSION)
            with writer.signed() as digest, writer.element("被签名对象", {"eep版本": n.EEP_VERSION}):
                writer.leaf("封装包类型", package_type)
                writer.leaf("封装包类型描述", n.TYPE_DESCRIPTIONS[package_type])
                writer.leaf("封装包创建时间", created.isoformat())
                writer.leaf("封装包创建单位", creator)
                body(writer)
            write_signatures(writer, signer, digest.digest(), revision, created)


def write_entity_blocks(
    writer: EventWriter, item: SipItem, sources: dict[etree._Element, DataSource], revision: int
) -> None:
    """文件实体块, 业务实体块, 机构人员实体块 — the content of 封装内容 and of 修订内容."""
    counter = iter(range(1, 1_000_000))

    def hook(w: EventWriter, element: etree._Element) -> bool:
        if element.tag != n.q("编码"):
            return False
        write_encoding(w, element, sources[element], n.data_id(revision, next(counter)))
        return True

    if item.record.tag == n.q("文件实体块"):
        writer.tree(item.record, hook)
    else:
        with writer.element("文件实体块"):
            writer.tree(item.record, hook)
    if item.process is not None:
        _check_process(item.process)
        writer.text(item.process.text)
        for block in item.process:
            if isinstance(block.tag, str):
                writer.tree(block)
            writer.text(block.tail)
    else:
        _write_synthetic_process(writer, item, revision)


def _check_process(process: etree._Element) -> None:
    blocks = [n.local(child.tag) for child in process if isinstance(child.tag, str)]
    if blocks != ["业务实体块", "机构人员实体块"]:
        raise PackageError(
            "过程信息.xml 应依次包含 业务实体块 和 机构人员实体块",
            "过程信息.xml must hold 业务实体块 then 机构人员实体块",
        )


def _write_synthetic_process(writer: EventWriter, item: SipItem, revision: int) -> None:
    """No 过程信息.xml: record the packaging itself, as DA/T 48 needs one 业务实体 at least."""
    agent = f"修改{revision}-机构1"
    with writer.element("业务实体块"), writer.element("业务实体"):
        writer.leaf("业务标识符", f"修改{revision}-业务1")
        writer.leaf("机构人员标识符", agent)
        writer.leaf("文件标识符", item.record.findtext(f".//{n.q('电子文件号')}") or "")
        writer.leaf("业务状态", "历史行为")
        writer.leaf("业务行为", "封装")
        writer.leaf("行为时间", now().isoformat())
    with writer.element("机构人员实体块"), writer.element("机构人员实体"):
        writer.leaf("机构人员标识符", agent)
        writer.leaf("机构人员类型", "单位")
        writer.leaf("机构人员名称", item.record.findtext(f".//{n.q('来源')}/{n.q('立档单位名称')}") or "未知")


def write_encoding(writer: EventWriter, encoding: etree._Element, source: DataSource, data_id: str) -> None:
    """One 编码 with its 编码数据, adding 编码描述 / 反编码关键字 when the SIP left them out."""
    seen: set[str] = set()
    with writer.element("编码", dict(encoding.attrib)):
        writer.text(encoding.text)
        for child in encoding:
            name = n.local(child.tag) if isinstance(child.tag, str) else ""
            if name == "编码数据":
                continue
            if name == "反编码关键字" and "编码描述" not in seen:
                writer.leaf("编码描述", n.ENCODING_DESCRIPTION)
                seen.add("编码描述")
            if name:
                writer.tree(child)
                seen.add(name)
            writer.text(child.tail)
        if "编码描述" not in seen:
            writer.leaf("编码描述", n.ENCODING_DESCRIPTION)
        if "反编码关键字" not in seen:
            writer.leaf("反编码关键字", _extension(encoding))
        _write_data(writer, source, data_id)


def _extension(encoding: etree._Element) -> str:
    name = encoding.findtext(f"{n.q('电子属性')}/{n.q('计算机文件名')}") or ""
    return name.rsplit(".", 1)[-1] if "." in name else ""


def _write_data(writer: EventWriter, source: DataSource, data_id: str) -> None:
    attributes = {"编码数据ID": data_id}
    if source.reference is not None:
        attributes["引用编码数据ID"] = source.reference
    with writer.element("编码数据", attributes):
        if source.path is None:
            return
        with open(source.path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                writer.base64_text(binascii.b2a_base64(chunk, newline=False))


def write_signatures(
    writer: EventWriter, signer: Signer, digest: bytes, revision: int, when: datetime
) -> None:
    """电子签名块 (one signature over ``digest``) followed by the 锁定签名 over that signature."""
    identifier = n.signature_id(revision, 1)
    signature = signature_element(
        "电子签名", ("签名标识符", identifier), n.SIGNATURE_RULE, signer, digest, when
    )
    with writer.element("电子签名块"):
        writer.tree(signature)
    lock_digest = sm3(canonical_bytes(signature))
    writer.tree(
        signature_element(
            "锁定签名", ("被锁定签名标识符", identifier), n.LOCK_RULE, signer, lock_digest, when
        )
    )


def signature_element(
    name: str, first: tuple[str, str], rule: str, signer: Signer, digest: bytes, when: datetime
) -> etree._Element:
    value = sm2.sign(signer.keypair.private_key, signer.keypair.public_key, digest)
    element = etree.Element(n.q(name), nsmap={None: n.NS})
    children: list[tuple[str, Any]] = [
        first,
        ("签名规则", rule),
        ("签名时间", when.isoformat()),
        ("签名人", signer.name),
        ("签名结果", base64.b64encode(value).decode()),
        ("证书块", [base64.b64encode(cert).decode() for cert in signer.certificates]),
        ("签名算法标识", sm2.OID_SM2_WITH_SM3),
    ]
    for tag, value_or_list in children:
        child = etree.SubElement(element, n.q(tag))
        if isinstance(value_or_list, list):
            for cert in value_or_list:
                etree.SubElement(child, n.q("证书")).text = cert
        else:
            child.text = value_or_list
    return element


def sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


@contextmanager
def atomic_output(output: Path) -> Iterator[BinaryIO]:
    """Write to ``<output>.part`` and rename on success, so a reader never sees half a package."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    part = output.with_name(output.name + ".part")
    try:
        with open(part, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, output)
    finally:
        part.unlink(missing_ok=True)
