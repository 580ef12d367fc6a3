"""clamd's PING / VERSION / SCAN / INSTREAM over a local socket, without the ``clamd`` package.

The ``clamd`` package (1.0.2) imports ``pkg_resources`` to learn its own version: about 0.15 s of
CPU in every process that scans, the ingest fork server included, for a protocol of a few lines.
:class:`ClamdUnixSocket` here answers as that package's class of the same name does — same
commands on the wire (``n``-prefixed, newline-terminated), same replies and return values, the
same exceptions with the same class names and messages (``Scanner`` reports a failure as
``{type name}: {message}``, so an unreachable clamd reads exactly as before), the same timeouts
(none while connecting, ``timeout`` for every read and write after) — and
``tests/integration/test_clamd_client.py`` holds it to that against the package and a real clamd. One
difference on purpose: data goes out with ``sendall``, where the package's ``send`` could write
part of an INSTREAM chunk when the socket buffer was full and go on as if it had written it all.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
from typing import Any, BinaryIO

scan_response = re.compile(r"^(?P<path>.*): ((?P<virus>.+) )?(?P<status>(FOUND|OK|ERROR))$")
INSTREAM_CHUNK = 1024


class ClamdError(Exception):
    pass


class ResponseError(ClamdError):
    pass


class BufferTooLongError(ResponseError):
    """INSTREAM data beyond clamd's StreamMaxLength."""


class ConnectionError(ClamdError):  # the clamd package's name (it shadows the builtin): reasons show it
    """clamd could not be reached, or a reply could not be read."""


class ClamdUnixSocket:
    """One command per connection, as clamd's protocol (outside a session) has it."""

    def __init__(self, path: str = "/var/run/clamav/clamd.ctl", timeout: float | None = None) -> None:
        self.unix_socket = path
        self.timeout = timeout

    def ping(self) -> str:
        return self._basic_command("PING")

    def version(self) -> str:
        return self._basic_command("VERSION")

    def scan(self, file: str) -> dict[str, tuple[str, str | None]]:
        """``{path: (status, virus or reason)}`` for SCAN of an absolute path."""
        sock = self._connect()
        try:
            self._send(sock, "SCAN", file)
            replies = {}
            for line in self._read_all(sock).split("\n"):
                if line:
                    path, reason, status = self._parse(line)
                    replies[path] = (status, reason)
            return replies
        finally:
            sock.close()

    def instream(self, buff: BinaryIO) -> dict[str, tuple[str, str | None]] | None:
        """``{"stream": (status, virus)}`` for the bytes of ``buff``; None on an empty reply."""
        sock = self._connect()
        try:
            self._send(sock, "INSTREAM")
            chunk = buff.read(INSTREAM_CHUNK)
            while chunk:
                sock.sendall(struct.pack(b"!L", len(chunk)) + chunk)
                chunk = buff.read(INSTREAM_CHUNK)
            sock.sendall(struct.pack(b"!L", 0))
            result = self._read_line(sock)
            if len(result) > 0:
                if result == "INSTREAM size limit exceeded. ERROR":
                    raise BufferTooLongError(result)
                path, reason, status = self._parse(result)
                return {path: (status, reason)}
            return None
        finally:
            sock.close()

    # -- the wire ------------------------------------------------------------------------------
    def _basic_command(self, command: str) -> str:
        sock = self._connect()
        try:
            self._send(sock, command)
            response = self._read_line(sock).rsplit("ERROR", 1)
            if len(response) > 1:
                raise ResponseError(response[0])
            return response[0]
        finally:
            sock.close()

    def _connect(self) -> socket.socket:
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.unix_socket)
            sock.settimeout(self.timeout)
        except OSError as exc:
            raise ConnectionError(self._error_message(exc)) from None
        return sock

    def _error_message(self, exception: OSError) -> str:
        if len(exception.args) == 1:
            return f"Error connecting to {self.unix_socket}. {exception.args[0]}."
        return f"Error {exception.args[0]} connecting {self.unix_socket}. {exception.args[1]}."

    @staticmethod
    def _send(sock: socket.socket, command: str, *args: str) -> None:
        """``n``-prefixed, newline-terminated, as the package sends it."""
        sock.sendall(f"n{command}{' ' + ' '.join(args) if args else ''}\n".encode())

    @staticmethod
    def _read_line(sock: socket.socket) -> str:
        try:
            with contextlib.closing(sock.makefile("rb")) as reader:
                return reader.readline().decode("utf-8").strip()
        except OSError as exc:
            raise ConnectionError(f"Error while reading from socket: {exc.args}") from None

    @staticmethod
    def _read_all(sock: socket.socket) -> str:
        try:
            with contextlib.closing(sock.makefile("rb")) as reader:
                return reader.read().decode("utf-8")
        except OSError as exc:
            raise ConnectionError(f"Error while reading from socket: {exc.args}") from None

    @staticmethod
    def _parse(message: str) -> Any:
        match = scan_response.match(message)
        if match is None:
            raise ResponseError(message.rsplit("ERROR", 1)[0])
        return match.group("path", "virus", "status")
