"""One exception tree for the whole of Lantai, grouped by what the caller will do.

::

    LantaiError                      base; carries a Chinese and an English message
    ├── BadInput                     the caller sent something unusable (CLI exit 2, HTTP 400/422)
    │   ├── UnsafeInput              XML with DTDs/entities, zip traversal, zip bombs
    │   ├── MetadataXmlError         元数据.xml does not parse or has the wrong root/namespace
    │   └── PackageError             a SIP, batch, EEP or transfer package is structurally wrong
    ├── ValidationFailed             the input parsed but broke rules; carries findings (exit 1)
    ├── NotFound                     no such item / object / user (HTTP 404)
    ├── PermissionDenied             the actor may not do this (HTTP 403)
    ├── Conflict                     same identifier, different content (HTTP 409)
    ├── IntegrityError               stored bits disagree with their digests
    │   └── FixityMismatch
    └── StorageError                 the disk or the database failed; retryable once fixed
        └── DiskFull                 no space left (ENOSPC, EDQUOT, EFBIG); nothing was half-written

Third-party exceptions are translated into this tree at the module that wraps the library.
"""

from __future__ import annotations

from typing import Any


class LantaiError(Exception):
    """Base error. ``message_zh`` is shown to people; ``message_en`` goes to logs and English clients."""

    code = "error"
    exit_code = 2

    def __init__(self, message_zh: str, message_en: str | None = None, **details: Any) -> None:
        self.message_zh = message_zh
        self.message_en = message_en or message_zh
        self.details = details
        super().__init__(f"{message_zh} / {self.message_en}" if message_en else message_zh)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message_zh,
            "message_en": self.message_en,
            "details": _jsonable(self.details),
        }


class BadInput(LantaiError):
    code = "bad_input"


class UnsafeInput(BadInput):
    code = "unsafe_input"


class MetadataXmlError(BadInput):
    code = "metadata_xml"


class PackageError(BadInput):
    code = "package"


class ValidationFailed(LantaiError):
    code = "validation_failed"
    exit_code = 1


class NotFound(LantaiError):
    code = "not_found"


class PermissionDenied(LantaiError):
    code = "permission_denied"


class Conflict(LantaiError):
    code = "conflict"
    exit_code = 1


class IntegrityError(LantaiError):
    code = "integrity"
    exit_code = 1


class FixityMismatch(IntegrityError):
    code = "fixity_mismatch"


class StorageError(LantaiError):
    code = "storage"


class DiskFull(StorageError):
    """No space left where Lantai had to write; the writer undid its partial write before raising."""

    code = "disk_full"


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC, a quota, or a file-size limit: all mean "free space, then retry"."""
    import errno

    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
