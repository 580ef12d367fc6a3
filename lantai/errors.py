"""One exception tree for the whole of Lantai, grouped by what the caller will do.

Each class declares, here and nowhere else, the HTTP status the API and web pages answer with and
the exit code of the CLI (0 ok, 1 findings, 2 bad input or usage)::

    LantaiError                      base; carries a Chinese and an English message   HTTP 400, exit 2
    ├── BadInput                     the caller sent something unusable               HTTP 400, exit 2
    │   ├── UnsafeInput              XML with DTDs/entities, zip traversal, zip bombs HTTP 400, exit 2
    │   ├── MetadataXmlError         元数据.xml does not parse or has the wrong root   HTTP 400, exit 2
    │   └── PackageError             a SIP, batch, EEP or transfer package is wrong    HTTP 400, exit 2
    ├── ValidationFailed             the input parsed but broke rules; has findings   HTTP 422, exit 1
    ├── NotFound                     no such item / object / user                     HTTP 404, exit 2
    ├── PermissionDenied             the actor may not do this                        HTTP 403, exit 2
    │   ├── Unauthenticated          no valid session or token                        HTTP 401, exit 2
    │   └── Throttled                too many failed logins; wait                     HTTP 429, exit 2
    ├── Conflict                     same identifier, different content               HTTP 409, exit 1
    ├── IntegrityError               stored bits disagree with their digests          HTTP 500, exit 1
    │   └── FixityMismatch                                                            HTTP 500, exit 1
    └── StorageError                 the disk or the database failed; retry when fixed HTTP 503, exit 2
        └── DiskFull                 no space left; nothing was half-written          HTTP 503, exit 2

Areas may subclass these (e.g. ``OfdPageNotFound(NotFound)``) and inherit the status and exit code.
Every interface shows an error as one object, :meth:`LantaiError.to_dict`: ``code``, ``message``
(Chinese), ``message_en`` and ``details`` — the API's response body, the CLI's ``--json`` output,
and what the web's error page shows.

Third-party exceptions are translated into this tree at the module that wraps the library.
"""

from __future__ import annotations

import errno
from typing import Any

from lantai.jsonable import jsonable as _jsonable  # also imported under this name by services.access


class LantaiError(Exception):
    """Base error. ``message_zh`` is shown to people; ``message_en`` goes to logs and English clients."""

    code = "error"
    http_status = 400
    exit_code = 2

    def __init__(self, message_zh: str, message_en: str | None = None, **details: Any) -> None:
        self.message_zh = message_zh
        self.message_en = message_en or message_zh
        self.details = details
        super().__init__(f"{message_zh} / {self.message_en}" if message_en else message_zh)

    def to_dict(self) -> dict[str, Any]:
        """The one error shape every interface shows (API body, CLI ``--json``, web error page)."""
        return error_body(self.code, self.message_zh, self.message_en, self.details)


def error_body(code: str, message: str, message_en: str, details: Any = None) -> dict[str, Any]:
    """An error as every interface shows it; also for errors that are not ``LantaiError`` (HTTP 404 …)."""
    return {"code": code, "message": message, "message_en": message_en,
            "details": _jsonable(details) if details is not None else {}}


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
    http_status = 422
    exit_code = 1


class NotFound(LantaiError):
    code = "not_found"
    http_status = 404


class PermissionDenied(LantaiError):
    code = "permission_denied"
    http_status = 403


class Unauthenticated(PermissionDenied):
    """No valid session or token: the caller must log in (web pages redirect to the login form)."""

    code = "unauthenticated"
    http_status = 401


class Throttled(PermissionDenied):
    """Too many failed logins; the caller must wait."""

    code = "throttled"
    http_status = 429


class Conflict(LantaiError):
    code = "conflict"
    http_status = 409
    exit_code = 1


class IntegrityError(LantaiError):
    code = "integrity"
    http_status = 500
    exit_code = 1


class FixityMismatch(IntegrityError):
    code = "fixity_mismatch"


class StorageError(LantaiError):
    code = "storage"
    http_status = 503


class DiskFull(StorageError):
    """No space left where Lantai had to write; the writer undid its partial write before raising."""

    code = "disk_full"


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC, a quota, or a file-size limit: all mean "free space, then retry"."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def storage_error(exc: OSError, full: tuple[str, str], failed: tuple[str, str], **details: Any) -> StorageError:
    """A failed write said as Lantai's error: :class:`DiskFull` with the ``full`` (zh, en) messages
    when ``exc`` means no space (the operator frees space and retries), else :class:`StorageError`
    with ``failed``. Writers pass their own wording; which class applies is decided only here."""
    if is_disk_full(exc):
        return DiskFull(*full, **details)
    return StorageError(*failed, **details)
