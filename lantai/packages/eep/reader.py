"""Streaming EEP reader: one pass with expat, memory flat whatever the size of the files inside.

Why expat and not ``lxml.iterparse``: iterparse materialises each text node, and one 编码数据
holds a whole file as base64 (1.3 GiB for a 1 GiB file). expat hands character data over in
buffers (``buffer_size`` bytes at most), so base64 is canonicalised, decoded and (when
extracting) written out chunk by chunk. Everything else — the small elements — is built into an
lxml tree (without the base64 text) for the structure, ID and signature checks in :mod:`.verify`.

During the same pass every 被签名对象 and every 电子签名 element is canonicalised (exc-C14N, see
:mod:`.canonical`) into an SM3 hash, so a verifier has every digest it needs when parsing ends.
DTDs are refused outright (no entities, no external resources).
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from xml.parsers import expat

from lxml import etree

from lantai.checks.registry import finding
from lantai.domain.findings import Finding
from lantai.packages.eep.canonical import CanonicalStream
from lantai.packages.eep.names import local

READ_CHUNK = 1024 * 1024
CANONICALISED = {"被签名对象", "电子签名"}


@dataclass
class EncodedData:
    """What was found in one 编码数据 element."""

    element: etree._Element
    size: int = 0
    sm3: str = ""
    error: str | None = None  # the variant of finding eep-base64: "invalid" or "truncated"
    missing: int = 0  # base64 characters missing at the end ("truncated")
    path: Path | None = None
    has_text: bool = False


@dataclass
class ParsedPackage:
    root: etree._Element | None
    digests: dict[etree._Element, bytes] = field(default_factory=dict)
    data: dict[etree._Element, EncodedData] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


class _Base64Sink:
    """Decodes base64 as it arrives; catches bad characters, misplaced padding and truncation."""

    def __init__(self, record: EncodedData, out: BinaryIO | None, digest: bool) -> None:
        self.record = record
        self._carry = b""
        self._hash = hashlib.new("sm3") if digest else None
        self._out = out

    def feed(self, text: bytes) -> None:
        if self.record.error:
            return
        if b"\n" in text or b" " in text or b"\r" in text or b"\t" in text:
            text = text.translate(None, b" \t\r\n")
        if not text:
            return
        self.record.has_text = True
        buffer = self._carry + text
        cut = len(buffer) - len(buffer) % 4
        self._carry = buffer[cut:]
        self._decode(buffer[:cut])

    def _decode(self, chunk: bytes) -> None:
        if not chunk:
            return
        try:
            raw = binascii.a2b_base64(chunk, strict_mode=True)
        except binascii.Error:
            self.record.error = "invalid"
            return
        self.record.size += len(raw)
        if self._hash is not None:
            self._hash.update(raw)
        if self._out is not None:
            self._out.write(raw)

    def close(self) -> None:
        if self._carry and not self.record.error:
            self.record.error, self.record.missing = "truncated", 4 - len(self._carry)
        if self._out is not None:
            self._out.close()
        self.record.sm3 = self._hash.hexdigest() if self._hash is not None else ""


class _Handler:
    def __init__(self, data_dir: Path | None, digest_data: bool) -> None:
        self._digest_data = digest_data
        self.builder = etree.TreeBuilder()
        self.package = ParsedPackage(root=None)
        self._stack: list[tuple[str, etree._Element]] = []
        self._streams: list[tuple[CanonicalStream, hashlib._Hash, etree._Element]] = []
        self._sink: _Base64Sink | None = None
        self._data_dir = data_dir
        self._count = 0
        self.in_data = False  # the last event opened a 编码数据: raw base64 may follow

    def start(self, name: str, attributes: dict[str, str]) -> None:
        ns, _, rest = name.partition("}") if "}" in name else ("", "", name)
        local_name, _, prefix = rest.partition("}")
        if prefix:
            raise _Unsupported("prefix", name=f"{prefix}:{local_name}")
        if any("}" in key for key in attributes):
            raise _Unsupported("namespaced_attribute", name=local_name)
        tag = f"{{{ns}}}{local_name}" if ns else local_name
        element = self.builder.start(tag, attributes)
        if local_name in CANONICALISED:
            digest = hashlib.new("sm3")
            self._streams.append((CanonicalStream(digest.update), digest, element))
        for stream, _, _ in self._streams:
            stream.start(ns, local_name, attributes)
        self._stack.append((local_name, element))
        self.in_data = local_name == "编码数据"
        if self.in_data:
            self._sink = self._open_sink(element)

    def _open_sink(self, element: etree._Element) -> _Base64Sink:
        record = EncodedData(element)
        out = None
        if self._data_dir is not None:
            self._count += 1
            record.path = self._data_dir / f"{self._count:06d}.bin"
            out = open(record.path, "wb")  # noqa: SIM115 - closed by the sink
        self.package.data[element] = record
        return _Base64Sink(record, out, self._digest_data)

    def raw_base64(self, data: bytes) -> None:
        """Fast path: ASCII content of a 编码数据 with nothing to escape, handed over as bytes."""
        for stream, _, _ in self._streams:
            stream.ascii_text(data)
        assert self._sink is not None
        self._sink.feed(data)

    def data(self, text: str) -> None:
        self.in_data = False
        for stream, _, _ in self._streams:
            stream.text(text)
        if self._sink is not None and self._stack[-1][0] == "编码数据":
            self._sink.feed(text.encode("utf-8", "surrogatepass"))
        else:
            self.builder.data(text)

    def end(self, name: str) -> None:
        self.in_data = False
        local_name, element = self._stack.pop()
        for stream, _, _ in self._streams:
            stream.end(local_name)
        if self._streams and self._streams[-1][0].depth == 0:
            _, digest, owner = self._streams.pop()
            self.package.digests[owner] = digest.digest()
        if local_name == "编码数据" and self._sink is not None:
            self._sink.close()
            self._sink = None
        self.builder.end(element.tag)

    def processing_instruction(self, target: str, data: str) -> None:
        if self._stack:
            raise _Unsupported("processing_instruction", target=target)


class _Unsupported(Exception):
    """A construct the reader refuses; ``variant`` names the registry message of eep-structure."""

    def __init__(self, variant: str, **params: str) -> None:
        super().__init__(variant)
        self.variant, self.params = variant, params


class _UnsafeXml(Exception):
    pass


def parse_package(path: Path, data_dir: Path | None = None, *, digest_data: bool = False) -> ParsedPackage:
    """Parse ``path`` in one streaming pass.

    With ``data_dir``, decoded files are written there; with ``digest_data``, each decoded file's
    SM3 is kept in :attr:`EncodedData.sm3` (for manifests and for 修改型 de-duplication).
    """
    handler = _Handler(data_dir, digest_data)
    parser = _make_parser(handler)
    try:
        with open(path, "rb") as fh:
            _feed(fh, parser, handler)
        handler.package.root = handler.builder.close()
    except expat.ExpatError as exc:
        handler.package.findings.append(
            _fatal("eep-xml", error=expat.errors.messages[exc.code], line=exc.lineno)
        )
    except _UnsafeXml:
        handler.package.findings.append(_fatal("eep-xml-unsafe"))
    except _Unsupported as exc:
        handler.package.findings.append(_fatal("eep-structure", exc.variant, **exc.params))
    except OSError as exc:
        handler.package.findings.append(_fatal("eep-read", error=str(exc)))
    if handler._sink is not None:
        handler._sink.close()
    return handler.package


_DATA_OPEN = "<编码数据".encode()


def _feed(fh: BinaryIO, parser: expat.XMLParserType, handler: _Handler) -> None:
    """Feed expat, but hand the base64 inside 编码数据 straight to the handler as bytes.

    pyexpat turns every character into a Python str and back; for base64 that is most of the
    cost. Markup goes to expat as usual. Right after expat has reported the start of a
    编码数据 (and nothing else since), the bytes up to the next ``<`` are its text content; when
    they are plain ASCII without ``&``, ``>`` or CR they mean exactly what they say (no entity,
    no line-end normalisation, no escaping in C14N) and bypass expat. Anything else goes through
    expat, so the result never differs from a plain parse — only the speed does.
    """
    buffer = b""
    eof = False
    while not eof or buffer:
        if not eof and len(buffer) < READ_CHUNK:
            chunk = fh.read(READ_CHUNK)
            eof = not chunk
            buffer += chunk
        if handler.in_data:
            buffer = _raw_text(buffer, parser, handler, eof)
            continue
        start = buffer.find(_DATA_OPEN)
        if start < 0:
            keep = 0 if eof else len(_DATA_OPEN) - 1
            parser.Parse(buffer[: len(buffer) - keep], False)
            buffer = buffer[len(buffer) - keep :]
            if eof:
                buffer = b""
            continue
        close = buffer.find(b">", start)
        if close < 0 and not eof:
            parser.Parse(buffer[:start], False)
            buffer = buffer[start:]
            if len(buffer) >= READ_CHUNK:  # an absurd start tag: let expat deal with it
                parser.Parse(buffer, False)
                buffer = b""
            continue
        end = len(buffer) if close < 0 else close + 1
        parser.Parse(buffer[:end], False)
        buffer = buffer[end:]
    parser.Parse(b"", True)


def _raw_text(buffer: bytes, parser: expat.XMLParserType, handler: _Handler, eof: bool) -> bytes:
    cut = buffer.find(b"<")
    text = buffer if cut < 0 else buffer[:cut]
    if text:
        if text.isascii() and b"&" not in text and b">" not in text and b"\r" not in text:
            handler.raw_base64(text)
            handler.in_data = True
        else:
            handler.in_data = False
            parser.Parse(text, False)
    if cut >= 0 or eof:
        handler.in_data = False
        return buffer[len(text) :]
    return b""


def _make_parser(handler: _Handler) -> expat.XMLParserType:
    parser = expat.ParserCreate(encoding=None, namespace_separator="}")
    parser.namespace_prefixes = True
    parser.buffer_text = True
    parser.buffer_size = READ_CHUNK
    parser.ordered_attributes = False
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.data
    parser.ProcessingInstructionHandler = handler.processing_instruction
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    return parser


def _refuse_doctype(*_args: object) -> None:
    raise _UnsafeXml("DTD or entity declaration")


def _fatal(code: str, variant: str = "", /, **params: object) -> Finding:
    return finding(code, "电子文件封装包", variant, **params)


def element_path(element: etree._Element) -> str:
    """Chinese path of an element, with the identifying attribute when it has one."""
    parts = []
    current: etree._Element | None = element
    while current is not None:
        label = local(current.tag)
        for key in ("编码数据ID", "编码ID", "文档数据ID"):
            if key in current.attrib:
                label += f"[@{key}={current.attrib[key]}]"
                break
        parts.append(label)
        current = current.getparent()
    return "/".join(reversed(parts))
