"""修改型 EEP: a new layer over a previous package, which is kept whole and still verifiable.

The previous package's 被签名对象 and 电子签名块 are copied event by event into 原封装包 (one
streaming pass, so the nested bytes canonicalise exactly as before and the old signatures still
verify). The new SIP goes into 修订内容; a file whose SM3 digest and size equal data already in
the previous package is not embedded again: its 编码数据 is empty and points there through
@引用编码数据ID. IDs of the new layer that would collide with the old ones are renamed
``修改R-…`` (R = the number of this modification), following the 签名标识符 convention.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from xml.parsers import expat

from lxml import etree

from lantai.crypto.keystore import Keystore
from lantai.domain.findings import errors
from lantai.errors import ValidationFailed
from lantai.packages.eep import names as n
from lantai.packages.eep.events import EventWriter
from lantai.packages.eep.reader import READ_CHUNK, EncodedData, ParsedPackage, parse_package
from lantai.packages.eep.sip_io import SipItem, load_sip
from lantai.packages.eep.verify import _signed_objects, verify_parsed
from lantai.packages.eep.writer import (
    DataSource,
    Signer,
    atomic_output,
    now,
    write_entity_blocks,
    write_package,
)

_REVISION_PREFIX = re.compile(r"^修改\d+-")


def build_modified_eep(
    previous: Path,
    sip_dir: Path,
    output: Path,
    signer: Signer,
    keystore: Keystore | None,
    *,
    creator: str | None = None,
    created: datetime | None = None,
) -> Path:
    """Write a 修改型 package at ``output`` whose 原封装包 is ``previous`` (which must verify)."""
    package = parse_package(previous, digest_data=True)
    findings = verify_parsed(package, keystore)
    if errors(findings):
        raise ValidationFailed(
            "原封装包验证未通过，不能在其上修改", "previous package does not verify", findings=findings
        )
    assert package.root is not None
    revision = len(_signed_objects(package.root))
    item = load_sip(sip_dir)
    try:
        _rename_colliding_ids(item.record, _ids(package.root), revision)
        sources = _sources(item, package)
        body = _modified_body(previous, item, sources, revision)
        with atomic_output(output) as fh:
            write_package(fh, signer, creator or signer.name, created or now(), revision, body)
    finally:
        item.close()
    return output


def _modified_body(
    previous: Path, item: SipItem, sources: dict[etree._Element, DataSource], revision: int
) -> Callable[[EventWriter], None]:
    def body(writer: EventWriter) -> None:
        with writer.element("修改封装内容"):
            writer.leaf("修改标识符", f"修改{revision}")
            with writer.element("原封装包"):
                copy_signed_part(previous, writer)
            with writer.element("修订内容"):
                write_entity_blocks(writer, item, sources, revision)

    return body


def _sources(item: SipItem, package: ParsedPackage) -> dict[etree._Element, DataSource]:
    known = {
        (r.sm3, r.size): r.element.get("编码数据ID")
        for r in package.data.values()
        if r.has_text or _is_own(r)
    }
    sources = {}
    for encoding, path in item.files.items():
        digest = hashlib.new("sm3")
        with open(path, "rb") as fh:
            while chunk := fh.read(READ_CHUNK):
                digest.update(chunk)
        reference = known.get((digest.hexdigest(), path.stat().st_size))
        sources[encoding] = DataSource(reference=reference) if reference else DataSource(path=path)
    return sources


def _ids(root: etree._Element) -> set[str]:
    ids = set()
    for element in root.iter():
        if isinstance(element.tag, str):
            ids.update(element.get(a) for a in n.ID_ATTRIBUTES if element.get(a) is not None)
            if n.local(element.tag) in n.ID_ELEMENTS:
                ids.add((element.text or "").strip())
    return ids


def _rename_colliding_ids(record: etree._Element, taken: set[str], revision: int) -> None:
    def renamed(value: str) -> str:
        return f"修改{revision}-{_REVISION_PREFIX.sub('', value)}" if value in taken else value

    for element in record.iter():
        if not isinstance(element.tag, str):
            continue
        for attribute in n.ID_ATTRIBUTES:
            if element.get(attribute) is not None:
                element.set(attribute, renamed(element.get(attribute)))
        if n.local(element.tag) in n.ID_ELEMENTS and element.text:
            element.text = renamed(element.text.strip())


def copy_signed_part(previous: Path, writer: EventWriter) -> None:
    """Replay the root's 被签名对象 and 电子签名块 of ``previous`` into ``writer``, streaming."""
    depth = 0
    copy_from = 0  # depth of the subtree being copied; 0 when not copying

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal depth, copy_from
        depth += 1
        local_name = n.local("{" + name)
        if not copy_from and depth == 2 and local_name in ("被签名对象", "电子签名块"):
            copy_from = depth
        if copy_from:
            writer.open(local_name, attributes)

    def end(_name: str) -> None:
        nonlocal depth, copy_from
        if copy_from:
            writer.close()
            if depth == copy_from:
                copy_from = 0
        depth -= 1

    def data(text: str) -> None:
        if copy_from:
            writer.text(text)

    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.buffer_size = READ_CHUNK
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    with open(previous, "rb") as fh:
        while chunk := fh.read(READ_CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)


def _is_own(record: EncodedData) -> bool:
    """Carries its own (possibly empty) data rather than a reference."""
    return record.element.get("引用编码数据ID") is None
