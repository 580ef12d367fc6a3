"""Virus scanning through clamd, and a private clamd for tests and benchmarks.

Production runs the distribution's clamd with the official signature database (``main.cvd``,
``daily.cvd``, ``bytecode.cvd`` copied in from an online mirror, or updated by ``freshclam``
where the network allows) and points Lantai at its socket with ``LANTAI_CLAMD_SOCKET``. The
profile's ``virus.max_file_bytes`` must not exceed that clamd's ``StreamMaxLength``/``MaxFileSize``.

Nothing here ever reports a clean result it did not get from clamd: a file larger than the limit,
an unreachable daemon, an error reply, or a heuristic "limits exceeded"/"encrypted" alert is
``unscanned``. :class:`ClamdServer` writes its own configuration (local socket in a private run
directory, size limits set explicitly) and, for tests, a tiny signature database that detects the
EICAR test file offline (DEPENDENCIES.md §6).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lantai.checks.clamd_client import ClamdUnixSocket, scan_response

CLEAN, INFECTED, UNSCANNED = "clean", "infected", "unscanned"
UNSCANNED_SIGNATURES = ("Heuristics.Limits.Exceeded", "Heuristics.Encrypted", "Heuristics.Broken")
# The EICAR test string, split so that this source file itself is not flagged by scanners.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-" + b"TEST-FILE!$H+H*"
EICAR_MARKER = b"EICAR-STANDARD-ANTIVIRUS-" + b"TEST-FILE"
# Files per clamd session: replies queue up while commands are still being sent, so a session is
# kept well within clamd's MaxQueue (default 100) and the socket buffers.
SESSION_FILES = 32


@dataclass(frozen=True)
class ScanResult:
    status: str  # clean | infected | unscanned
    signature: str = ""
    reason: str = ""


class Scanner:
    """A clamd client over a local socket. One per process; reconnects per call (clamd's protocol)."""

    def __init__(self, socket_path: str, max_file_bytes: int, timeout: float = 60.0) -> None:
        self.socket_path = socket_path
        self.max_file_bytes = max_file_bytes
        self.timeout = timeout
        self._version: str | None = None

    def _client(self) -> ClamdUnixSocket:
        return ClamdUnixSocket(self.socket_path, timeout=self.timeout)

    def version(self) -> str:
        if self._version is None:
            self._version = str(self._client().version()).strip()
        return self._version

    def available(self) -> tuple[bool, str]:
        try:
            return (self._client().ping() == "PONG", "")
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"

    def scan(self, path: Path) -> ScanResult:
        try:
            size = path.stat().st_size
        except OSError as exc:
            return ScanResult(UNSCANNED, reason=f"文件无法读取: {exc.strerror or exc}")
        if size > self.max_file_bytes:
            return ScanResult(UNSCANNED, reason="too_large")
        try:
            reply = self._scan_path(path)
            if reply is None:
                reply = self._scan_stream(path)
        except Exception as exc:
            return ScanResult(UNSCANNED, reason=f"clamd 不可用: {type(exc).__name__}: {exc}")
        return _interpret(reply)

    def scan_many(self, paths: list[Path]) -> list[ScanResult]:
        """:meth:`scan` of every path, over one clamd connection per :data:`SESSION_FILES` files.

        clamd's IDSESSION carries many SCAN commands on one socket, so an item's files cost one
        connection instead of one each. The verdicts are :meth:`scan`'s: sizes are checked first,
        and any file whose session reply is missing, unparsable or says clamd could not read it
        goes through :meth:`scan` on its own (which streams it), as does every file when the
        session itself fails while clamd still answers a PING (when it does not, every file of the
        session is unscanned, without a timeout per file).
        """
        results: dict[int, ScanResult] = {}
        wanted: dict[int, Path] = {}
        for index, path in enumerate(paths):
            try:
                size = path.stat().st_size
            except OSError:
                results[index] = self.scan(path)
                continue
            if size > self.max_file_bytes:
                results[index] = ScanResult(UNSCANNED, reason="too_large")
            else:
                wanted[index] = path
        chunks = list(wanted.items())
        for start in range(0, len(chunks), SESSION_FILES):
            chunk = dict(chunks[start:start + SESSION_FILES])
            try:
                replies = self._session_scan(chunk)
            except Exception:
                ok, reason = self.available()
                if not ok:  # clamd is not answering: say so for every file, not one timeout each
                    results.update((index, ScanResult(UNSCANNED, reason=f"clamd 不可用: {reason}")) for index in chunk)
                    continue
                replies = {}
            for index, path in chunk.items():
                reply = replies.get(index)
                results[index] = self.scan(path) if reply is None or _unreadable(reply) else _interpret(reply)
        return [results[i] for i in range(len(paths))]

    def _session_scan(self, files: dict[int, Path]) -> dict[int, tuple[str, str]]:
        """SCAN by path inside one IDSESSION; replies (tagged with the command's number) by index."""
        numbers: dict[int, int] = {}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
            sock.sendall(b"zIDSESSION\0")
            for number, (index, path) in enumerate(files.items(), start=1):
                sock.sendall(b"zSCAN " + os.fsencode(path.resolve()) + b"\0")
                numbers[number] = index
            sock.sendall(b"zEND\0")
            data = b"".join(iter(lambda: sock.recv(65536), b""))
        replies: dict[int, tuple[str, str]] = {}
        for raw in data.split(b"\0"):
            head, _sep, rest = raw.partition(b": ")
            if not head.isdigit() or int(head) not in numbers:
                continue
            try:
                match = scan_response.match(rest.decode("utf-8").strip())
            except UnicodeDecodeError:
                continue  # the per-file client would have failed on it too: let scan() say how
            if match is not None:
                replies[numbers[int(head)]] = (match.group("status"), match.group("virus"))
        return replies

    def _scan_path(self, path: Path) -> tuple[str, str] | None:
        """SCAN by path (clamd reads the file; 5× faster). None when clamd cannot read it."""
        reply = next(iter(self._client().scan(str(path.resolve())).values()), None)
        return None if reply is None or _unreadable(reply) else reply

    def _scan_stream(self, path: Path) -> tuple[str, str]:
        with open(path, "rb") as fh:
            reply = next(iter(self._client().instream(fh).values()))
        return reply


def _unreadable(reply: tuple[str, str]) -> bool:
    """clamd could not open the file by path (another user, a vanished file): stream it instead."""
    return reply[0] == "ERROR" and any(s in str(reply[1]) for s in ("Permission denied", "lstat", "No such file"))


def _interpret(reply: tuple[str, str]) -> ScanResult:
    status, detail = reply[0], str(reply[1] or "")
    if status == "OK":
        return ScanResult(CLEAN)
    if status == "FOUND":
        if detail.startswith(UNSCANNED_SIGNATURES):
            return ScanResult(UNSCANNED, detail, "limits")
        return ScanResult(INFECTED, detail)
    if "size limit" in detail.lower():
        return ScanResult(UNSCANNED, reason="too_large")
    return ScanResult(UNSCANNED, reason=f"clamd 错误: {detail}")


_scanners: dict[tuple[str, int], Scanner] = {}


def scanner_for(socket_path: str, max_file_bytes: int, timeout: float = 60.0) -> Scanner:
    key = (socket_path, max_file_bytes)
    if key not in _scanners:
        _scanners[key] = Scanner(socket_path, max_file_bytes, timeout)
    return _scanners[key]


# --- a private clamd ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ClamdLimits:
    """Written into clamd.conf explicitly so the limits in force are known, not defaulted."""

    stream_max_length: int = 100 * 1024 * 1024
    max_file_size: int = 100 * 1024 * 1024
    max_scan_size: int = 400 * 1024 * 1024
    max_recursion: int = 8
    max_files: int = 10_000


def write_test_database(directory: Path) -> list[Path]:
    """A two-signature database that detects EICAR offline: MD5 of the file, and its marker string."""
    directory.mkdir(parents=True, exist_ok=True)
    hdb = directory / "lantai-test.hdb"
    hdb.write_text(f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:Lantai.Test.EICAR-MD5\n", encoding="ascii")
    ndb = directory / "lantai-test.ndb"
    ndb.write_text(f"Lantai.Test.EICAR-NDB:0:*:{EICAR_MARKER.hex()}\n", encoding="ascii")
    return [hdb, ndb]


# sockaddr_un.sun_path holds 108 bytes with its terminating NUL; clamd silently truncates a longer
# path and then fails to chmod the file it did not create.
MAX_SOCKET_PATH = 100


def socket_path_for(run_dir: Path) -> Path:
    """The socket in the run directory, or in a private short directory when that path is too long."""
    preferred = run_dir / "clamd.sock"
    if len(os.fsencode(preferred)) <= MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(os.fsencode(run_dir)).hexdigest()[:16]
    short = Path(tempfile.gettempdir()) / f"lantai-clamd-{os.geteuid()}-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    if short.stat().st_uid != os.geteuid() or short.is_symlink():
        raise RuntimeError(f"{short} is not owned by this user; refusing to put clamd's socket there")
    return short / "clamd.sock"


def write_config(run_dir: Path, database_dir: Path, limits: ClamdLimits = ClamdLimits()) -> Path:
    lines = {
        "LocalSocket": str(socket_path_for(run_dir)),
        "LocalSocketMode": "660",
        "Foreground": "yes",
        "DatabaseDirectory": str(database_dir),
        "TemporaryDirectory": str(run_dir),
        "PidFile": str(run_dir / "clamd.pid"),
        "LogFile": str(run_dir / "clamd.log"),
        "StreamMaxLength": str(limits.stream_max_length),
        "MaxFileSize": str(limits.max_file_size),
        "MaxScanSize": str(limits.max_scan_size),
        "MaxRecursion": str(limits.max_recursion),
        "MaxFiles": str(limits.max_files),
        "AlertExceedsMax": "yes",
        "AlertEncrypted": "yes",
        "MaxThreads": "4",
        "SelfCheck": "0",
    }
    if os.geteuid() == 0:
        lines["User"] = "root"
    config = run_dir / "clamd.conf"
    config.write_text("".join(f"{k} {v}\n" for k, v in lines.items()), encoding="utf-8")
    return config


class ClamdServer:
    """Start a private clamd (``with ClamdServer() as server: server.socket``); stops it on exit."""

    def __init__(self, run_dir: Path | None = None, database_dir: Path | None = None,
                 limits: ClamdLimits = ClamdLimits()) -> None:
        self._own_dir = run_dir is None
        self.run_dir = Path(os.path.abspath(run_dir or tempfile.mkdtemp(prefix="lantai-clamd-")))
        self.database_dir = Path(os.path.abspath(database_dir)) if database_dir else self.run_dir / "db"
        self.limits = limits
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> str:
        return str(socket_path_for(self.run_dir))

    @staticmethod
    def binary() -> str | None:
        return shutil.which("clamd") or (str(Path("/usr/sbin/clamd")) if Path("/usr/sbin/clamd").exists() else None)

    def start(self, timeout: float = 30.0) -> ClamdServer:
        binary = self.binary()
        if binary is None:
            raise RuntimeError("clamd is not installed (Debian package clamav-daemon)")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not any(self.database_dir.glob("*.*db")) and not any(self.database_dir.glob("*.cvd")):
            write_test_database(self.database_dir)
        config = write_config(self.run_dir, self.database_dir, self.limits)
        # clamd reports configuration errors on stderr before it opens its log file, so both are
        # kept: a failed start must show the daemon's own words, not an empty tail.
        with open(self._output_file, "wb") as output:
            self.process = subprocess.Popen([binary, f"--config-file={config}"], stdin=subprocess.DEVNULL,
                                            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"clamd exited with {self.process.returncode}: {self.failure_output()}")
            if _answers(self.socket):
                return self
            time.sleep(0.05)
        output = self.failure_output()
        self.stop()
        raise RuntimeError(f"clamd did not start within {timeout:.0f} s: {output}")

    @property
    def _output_file(self) -> Path:
        return self.run_dir / "clamd.out"

    def failure_output(self, limit: int = 2000) -> str:
        """What clamd itself said: its stderr/stdout, then its log file's tail, or a note that both are empty."""
        return helper_output({"output": self._output_file, "log": self.run_dir / "clamd.log"}, limit)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        if self._own_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> ClamdServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def helper_output(files: dict[str, Path], limit: int = 2000) -> str:
    """The tail of each non-empty output file of a helper process, labelled, for error messages."""
    parts = []
    for label, path in files.items():
        with contextlib.suppress(OSError):
            text = path.read_text(errors="replace").strip()
            if text:
                parts.append(f"[{label} {path}] {text[-limit:]}")
    return " ".join(parts) or "(no output: " + ", ".join(str(p) for p in files.values()) + " are empty or missing)"


def _answers(path: str) -> bool:
    if not os.path.exists(path):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            sock.connect(path)
            sock.sendall(b"zPING\0")
            return sock.recv(16).startswith(b"PONG")
    except OSError:
        return False
