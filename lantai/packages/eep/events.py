"""One writer for everything the EEP writer emits: XML to ``etree.xmlfile`` and, at the same
time, the exclusive-C14N byte stream of the signed subtree to an SM3 hash.

Sharing the event path is what makes the signature reproducible: the verifier rebuilds the same
event stream from the file with expat and feeds the same :class:`CanonicalStream`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lxml import etree

from lantai.errors import PackageError
from lantai.packages.eep.canonical import CanonicalStream
from lantai.packages.eep.names import NS, local, namespace, q

EncodingHook = Callable[["EventWriter", etree._Element], bool]


class EventWriter:
    """Writes EEP elements; while :meth:`signed` is active every event is also canonicalised."""

    def __init__(self, xf: Any, raw: Any = None) -> None:
        self._xf = xf
        self._raw = raw  # the file under ``xf``: base64 bypasses lxml's serialiser
        self._streams: list[CanonicalStream] = []
        self._open: list[Any] = []

    @contextmanager
    def signed(self) -> Iterator[Any]:
        """Canonicalise everything written inside the block; yields the SM3 hash object."""
        digest = hashlib.new("sm3")
        self._streams.append(CanonicalStream(digest.update))
        try:
            yield digest
        finally:
            self._streams.pop()

    @contextmanager
    def element(self, name: str, attributes: Mapping[str, str] | None = None) -> Iterator[None]:
        attributes = dict(attributes or {})
        for stream in self._streams:
            stream.start(NS, name, attributes)
        with self._xf.element(q(name), attributes):
            yield
        for stream in self._streams:
            stream.end(name)

    def open(self, name: str, attributes: Mapping[str, str]) -> None:
        """Start an element to be ended by :meth:`close` (for replaying parser events)."""
        manager = self.element(name, attributes)
        manager.__enter__()
        self._open.append(manager)

    def close(self) -> None:
        self._open.pop().__exit__(None, None, None)

    def text(self, data: str | None) -> None:
        if data:
            self._xf.write(data)
            for stream in self._streams:
                stream.text(data)

    def base64_text(self, data: bytes) -> None:
        """ASCII base64 needs no escaping: written (straight to the file) and hashed as it is."""
        if self._raw is None:
            self._xf.write(data.decode("ascii"))
        else:
            self._xf.flush()
            self._raw.write(data)
        for stream in self._streams:
            stream.ascii_text(data)

    def leaf(self, name: str, value: str | None) -> None:
        with self.element(name):
            self.text(value)

    def tree(self, element: etree._Element, hook: EncodingHook | None = None) -> None:
        """Write an lxml subtree of the EEP namespace; ``hook`` may take over any child element."""
        if namespace(element.tag) != NS:
            raise PackageError(
                f"元素 {local(element.tag)} 不在 DA/T 48 命名空间中",
                f"element {element.tag} is not in the EEP namespace",
            )
        attributes = {_attribute_name(k): v for k, v in element.attrib.items()}
        with self.element(local(element.tag), attributes):
            self.text(element.text)
            for child in element:
                if isinstance(child.tag, str) and not (hook and hook(self, child)):
                    self.tree(child, hook)
                self.text(child.tail)


def _attribute_name(key: str) -> str:
    if key.startswith("{"):
        raise PackageError(f"不支持带命名空间的属性 {key}", f"qualified attribute {key} is not supported")
    return key
