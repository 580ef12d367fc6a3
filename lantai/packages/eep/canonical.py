"""Exclusive XML Canonicalization 1.0 (without comments) computed from parse events, in a stream.

Why not ``lxml``'s C14N: it needs the whole subtree in memory, and a 被签名对象 holds every file of
the item as base64 text. This canonicaliser consumes start/text/end events (from the writer as it
writes, or from the verifier's expat parser as it reads), turns them into the canonical byte
stream and feeds that straight into a hash, so memory stays flat whatever the file sizes.

Scope, deliberately narrow — exactly what a DA/T 48 package contains:

* elements are unprefixed (a default namespace, which may change on a descendant); attributes
  are unqualified; no comments or processing instructions inside the canonicalised subtree;
* the apex renders ``xmlns="…"`` when its namespace is not empty; a descendant renders it only
  when its namespace differs from the nearest rendered one (W3C exc-c14n §3, "visibly utilized");
* attributes follow, sorted by name in code-point order (unqualified attributes have no
  namespace URI, so the local name is the only key);
* text is escaped ``&``→``&amp;``, ``<``→``&lt;``, ``>``→``&gt;``, CR→``&#xD;``; attribute values
  ``&``, ``<``, ``"``, TAB, LF, CR → ``&amp;`` ``&lt;`` ``&quot;`` ``&#x9;`` ``&#xA;`` ``&#xD;``;
* empty elements are written as start/end pairs; all output is UTF-8.

Note on DA/T 48 §4.2's remark that 编码数据's attributes are signed "in the order 编码数据ID then
引用编码数据ID": exclusive C14N orders attributes by code point, which puts 引用编码数据ID (U+5F15)
first. Lantai follows C14N so that any conforming canonicaliser reproduces the signed bytes; the
unit tests compare this class with libxml2's C14N on whole packages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
_ATTR = str.maketrans({"&": "&amp;", "<": "&lt;", '"': "&quot;", "\t": "&#x9;", "\n": "&#xA;", "\r": "&#xD;"})


class CanonicalStream:
    """Emits the exc-C14N bytes of one subtree to ``sink`` (e.g. ``hashlib`` ``update``)."""

    def __init__(self, sink: Callable[[bytes], object]) -> None:
        self._sink = sink
        self._rendered_ns: list[str] = []
        self.depth = 0

    def start(self, namespace: str, name: str, attributes: Mapping[str, str]) -> None:
        parts = ["<", name]
        inherited = self._rendered_ns[-1] if self._rendered_ns else ""
        if namespace != inherited:
            parts.append(f' xmlns="{namespace.translate(_ATTR)}"')
        for key in sorted(attributes):
            parts.append(f' {key}="{attributes[key].translate(_ATTR)}"')
        parts.append(">")
        self._rendered_ns.append(namespace)
        self.depth += 1
        self._sink("".join(parts).encode())

    def text(self, data: str) -> None:
        if not data:
            return
        if "&" in data or "<" in data or ">" in data or "\r" in data:
            data = data.translate(_TEXT)
        self._sink(data.encode())

    def ascii_text(self, data: bytes) -> None:
        """Fast path for base64: ASCII with nothing to escape, already bytes."""
        self._sink(data)

    def end(self, name: str) -> None:
        self._rendered_ns.pop()
        self.depth -= 1
        self._sink(f"</{name}>".encode())


def canonical_bytes(element: object) -> bytes:
    """exc-C14N of an in-memory lxml element (small ones: signatures), by the same rules."""
    out: list[bytes] = []
    stream = CanonicalStream(out.append)
    _walk(stream, element)
    return b"".join(out)


def _walk(stream: CanonicalStream, element: object) -> None:
    tag: str = element.tag  # type: ignore[attr-defined]
    ns, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    stream.start(ns, name, dict(element.attrib))  # type: ignore[attr-defined]
    stream.text(element.text or "")  # type: ignore[attr-defined]
    for child in element:  # type: ignore[attr-defined]
        if isinstance(child.tag, str):
            _walk(stream, child)
        stream.text(child.tail or "")
    stream.end(name)
