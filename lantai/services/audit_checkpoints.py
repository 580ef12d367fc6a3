"""Signed checkpoints that anchor the audit chain outside the journal.

A hash chain alone proves only that a journal is self-consistent: whoever can write the file can
cut its tail, or erase entries and recompute every hash after them, and the result verifies. A
checkpoint records the chain head (sequence number, hash of that entry, its time) signed with the
archive's SM2 key and is written to a second directory (``LANTAI_AUDIT_CHECKPOINT_DIR``) every
N entries and whenever some minutes have passed since the last one. A journal or catalogue that
no longer contains the signed head at that sequence has been truncated or re-chained, and
``lantai audit verify`` says which range. ``lantai audit checkpoint export`` writes one to a file
an auditor keeps elsewhere; ``verify --against FILE`` checks the archive against it.

One checkpoint per file, ``cp-<seq>.json``, written to a temporary name, fsynced and renamed, so
a crash leaves either the old set or the new one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lantai.crypto import sm2
from lantai.errors import BadInput

FORMAT = "lantai-audit-checkpoint/1"
SIGNER_ID = b"lantai-audit-checkpoint"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkpoint:
    """The chain head at ``seq``; ``signature`` is SM2-with-SM3 (DER, hex) over :meth:`payload`."""

    seq: int
    head_hash: str
    entry_time: str
    time: str
    archive: str
    public_key: str
    signature: str = ""
    format: str = FORMAT
    # Entries up to this sequence were written before entries carried a MAC (an archive of an
    # earlier release); the signed checkpoint vouches for them instead (AuditLog.adopt_legacy).
    legacy_through: int = 0

    def payload(self) -> bytes:
        """Canonical bytes that are signed: every field but the signature."""
        data = {k: v for k, v in asdict(self).items() if k != "signature"}
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Checkpoint:
        """Parse a checkpoint; ValueError when it is not one (wrong format, missing or mistyped fields)."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a Lantai audit checkpoint")
        try:
            cp = cls(int(data["seq"]), str(data["head_hash"]), str(data["entry_time"]), str(data["time"]),
                     str(data["archive"]), str(data["public_key"]), str(data["signature"]),
                     legacy_through=int(data.get("legacy_through", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed checkpoint: {exc}") from exc
        if cp.seq < 1:
            raise ValueError("checkpoint sequence must be positive")
        return cp

    def verify(self, public_key: bytes) -> bool:
        """True when the signature is valid for ``public_key`` and was made by that key."""
        if self.public_key != public_key.hex():
            return False
        try:
            signature = bytes.fromhex(self.signature)
        except ValueError:
            return False
        return sm2.verify(public_key, self.payload(), signature, SIGNER_ID)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def sign(keypair: sm2.Sm2KeyPair, seq: int, head_hash: str, entry_time: str, archive: str, *,
         legacy_through: int = 0) -> Checkpoint:
    unsigned = Checkpoint(seq, head_hash, entry_time, now(), archive, keypair.public_key.hex(),
                          legacy_through=legacy_through)
    signature = sm2.sign(keypair.private_key, keypair.public_key, unsigned.payload(), SIGNER_ID)
    return Checkpoint(**{**unsigned.to_dict(), "signature": signature.hex()})


def write(path: Path, checkpoint: Checkpoint, *, fsync: bool) -> Path:
    """Write atomically (temporary file, fsync, rename): a crash never leaves half a checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(json.dumps(checkpoint.to_dict(), ensure_ascii=False, indent=1).encode("utf-8") + b"\n")
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def file_name(seq: int) -> str:
    return f"cp-{seq:012d}.json"


def load(path: Path) -> Checkpoint:
    """A checkpoint file given by a person (``--against``): BadInput when unreadable or not one."""
    try:
        return Checkpoint.from_dict(json.loads(Path(path).read_bytes()))
    except OSError as exc:
        raise BadInput(f"无法读取检查点文件 {path}: {exc.strerror}", f"cannot read checkpoint file {path}") from exc
    except ValueError as exc:
        raise BadInput(f"{path} 不是兰台审计检查点文件", f"{path} is not a Lantai audit checkpoint: {exc}") from exc


def read_all(directory: Path) -> list[tuple[Path, Checkpoint | None]]:
    """Every checkpoint in ``directory`` by sequence; ``None`` for a file that does not parse."""
    if not directory.is_dir():
        return []
    found: list[tuple[Path, Checkpoint | None]] = []
    for path in sorted(directory.glob("cp-*.json")):
        try:
            found.append((path, Checkpoint.from_dict(json.loads(path.read_bytes()))))
        except (OSError, ValueError):
            found.append((path, None))
    return found


def latest(directory: Path) -> Checkpoint | None:
    """The newest readable checkpoint (names sort by sequence); parses only from the newest back."""
    if not directory.is_dir():
        return None
    for path in sorted(directory.glob("cp-*.json"), reverse=True):
        with contextlib.suppress(OSError, ValueError):
            return Checkpoint.from_dict(json.loads(path.read_bytes()))
    return None


@dataclass
class Anchoring:
    """When and where the journal writer anchors the chain; remembers the newest anchor it knows."""

    directory: Path
    every: int
    seconds: int
    archive: str
    fsync: bool = True
    _known: Checkpoint | None = None
    _loaded: bool = False

    def last(self) -> Checkpoint | None:
        """The newest checkpoint, read from disk once per process and then kept up to date."""
        if not self._loaded:
            self._known, self._loaded = latest(self.directory), True
        return self._known

    def due(self, seq: int) -> bool:
        """Every ``every`` entries, and after ``seconds`` whenever the head has moved."""
        last = self.last()
        if last is None:
            return True
        if seq <= last.seq:
            return False
        elapsed = (dt.datetime.now(dt.UTC) - _parse_time(last.time)).total_seconds()
        return seq - last.seq >= self.every or elapsed >= self.seconds

    def write(self, keypair: sm2.Sm2KeyPair, seq: int, head_hash: str, entry_time: str, *,
              legacy_through: int = 0) -> Checkpoint:
        cp = sign(keypair, seq, head_hash, entry_time, self.archive, legacy_through=legacy_through)
        write(self.directory / file_name(seq), cp, fsync=self.fsync)
        self._known, self._loaded = cp, True
        return cp


def _parse_time(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def legacy_through(directory: Path, public_key: bytes | None) -> int:
    """The highest sequence a validly signed checkpoint vouches for as written before MACs."""
    if public_key is None:
        return 0
    return max((cp.legacy_through for _path, cp in read_all(directory) if cp is not None and cp.legacy_through
                and cp.verify(public_key)), default=0)
