"""Lantai's clamd client answers as the ``clamd`` package did, against a real clamd and broken ones.

The package stays a test dependency for this comparison only: every reply, return value and
exception (class name and message, which the scanner's ``unscanned`` reasons carry) must be the same.
"""

from __future__ import annotations

import io
import os
import socket
import threading
from pathlib import Path

import clamd as clamd_package
import pytest

from lantai.checks import clamd_client
from lantai.checks.clamav import CLEAN, EICAR, INFECTED, UNSCANNED, ClamdLimits, ClamdServer, Scanner

pytestmark = [pytest.mark.clamd, pytest.mark.skipif(ClamdServer.binary() is None, reason="clamd is not installed")]


@pytest.fixture(scope="module")
def server():  # type: ignore[no-untyped-def]
    with ClamdServer(limits=ClamdLimits(stream_max_length=64 * 1024)) as running:
        yield running


def _both(socket_path: str, timeout: float | None = 5.0) -> tuple[object, object]:
    return (clamd_package.ClamdUnixSocket(socket_path, timeout=timeout),
            clamd_client.ClamdUnixSocket(socket_path, timeout=timeout))


def _outcome(call):  # type: ignore[no-untyped-def]
    """A call's return value, or its exception as (class name, message) — what a reason shows."""
    try:
        return ("value", call())
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))


def test_replies_equal_the_package(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = {"clean.txt": b"hello", "eicar.com": EICAR, "embedded.txt": b"x " + EICAR + b" y", "empty": b"",
             "名称 带空格.txt": b"clean, CJK name"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    package, ours = _both(server.socket)
    assert ours.ping() == package.ping() == "PONG"
    assert ours.version() == package.version() and ours.version().startswith("ClamAV ")
    for name in [*files, "missing.pdf"]:
        path = str((tmp_path / name).resolve())
        assert _outcome(lambda p=path: ours.scan(p)) == _outcome(lambda p=path: package.scan(p)), name
    for data in (b"hello", EICAR, b"", os.urandom(3000)):
        assert (_outcome(lambda d=data: ours.instream(io.BytesIO(d)))
                == _outcome(lambda d=data: package.instream(io.BytesIO(d))))
    assert ours.scan(str(tmp_path / "eicar.com"))[str(tmp_path / "eicar.com")][0] == "FOUND"
    assert ours.scan(str(tmp_path / "clean.txt"))[str(tmp_path / "clean.txt")] == ("OK", None)


def test_scanner_verdicts_and_reasons(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clean, infected = tmp_path / "clean.txt", tmp_path / "eicar.com"
    clean.write_bytes(b"hello")
    infected.write_bytes(EICAR)
    scanner = Scanner(server.socket, max_file_bytes=1 << 20)
    assert scanner.available() == (True, "")
    assert scanner.scan(clean).status == CLEAN and scanner.scan(infected).status == INFECTED
    assert [r.status for r in scanner.scan_many([clean, infected])] == [CLEAN, INFECTED]
    gone = str(tmp_path / "gone.sock")
    dead = Scanner(gone, max_file_bytes=1 << 20)
    expected = f"ConnectionError: Error 2 connecting {gone}. No such file or directory."
    assert dead.scan(clean).reason == f"clamd 不可用: {expected}"
    assert dead.available() == (False, expected)
    assert [r.reason for r in dead.scan_many([clean, infected])] == [f"clamd 不可用: {expected}"] * 2
    assert all(r.status == UNSCANNED for r in dead.scan_many([clean]))


def _read_command(connection: socket.socket) -> None:
    """Read one whole command: a line, or an INSTREAM up to its zero-length chunk."""
    data = b""
    while True:
        chunk = connection.recv(4096)
        data += chunk
        done = data.endswith(b"\0\0\0\0") if data.startswith(b"nINSTREAM") else data.endswith(b"\n")
        if not chunk or done:
            return


def _fake_clamd(path: Path, reply: bytes | None) -> threading.Thread:
    """A local socket that reads one command and answers ``reply`` (None: never answers)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)
    listener.settimeout(10)

    def serve() -> None:
        with listener:
            for _ in range(2):  # one connection for each client
                connection, _ = listener.accept()
                with connection:
                    _read_command(connection)
                    if reply is None:
                        connection.recv(4096)  # until the client gives up and closes
                    else:
                        connection.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("command", ["scan", "instream", "version"])
@pytest.mark.parametrize("reply", [b"garbage without a status\n", b"UNKNOWN COMMAND ERROR\n",
                                   b"INSTREAM size limit exceeded. ERROR\n", b"", None])
def test_broken_daemons_fail_the_same_way(tmp_path: Path, command: str, reply: bytes | None) -> None:
    """Replies clamd gives on errors (or no reply, or a hang): the same exception, class and message."""
    path = tmp_path / "fake.sock"
    thread = _fake_clamd(path, reply)
    calls = {"scan": lambda c: c.scan("/etc/hostname"), "instream": lambda c: c.instream(io.BytesIO(b"hello")),
             "version": lambda c: c.version()}
    results = [_outcome(lambda c=client: calls[command](c)) for client in _both(str(path), timeout=0.3)]
    thread.join(10)
    assert results[0] == results[1]
    if reply is None:
        assert results[0] == ("raised", "ConnectionError", "Error while reading from socket: ('timed out',)")
    if command == "instream" and reply and reply.startswith(b"INSTREAM size"):
        assert results[0][:2] == ("raised", "BufferTooLongError")
