"""An HTTP proxy on loopback that forwards to a real S3 endpoint and injects faults at random.

Faults: the connection dropped before the request reaches S3, dropped after S3 carried it
out (the client never hears that it did), a response cut off halfway through its body, and
500 InternalError / 503 SlowDown answers. Requests pass through byte for byte, so S3
signatures (which cover the Host header) stay valid.
"""

from __future__ import annotations

import http.client
import random
import socket
import threading
from collections import Counter
from typing import BinaryIO

FAULTS = ("drop_before", "drop_after", "truncate", "500", "503")
_ERRORS = {"500": (500, "Internal Server Error", "InternalError"), "503": (503, "Service Unavailable", "SlowDown")}


class _Dropped(Exception):
    pass


def _read_request(stream: BinaryIO, conn: socket.socket) -> tuple[bytes, str, bytes] | None:
    """(head, method, body) of the next request on a kept-alive connection; None at its end."""
    line = stream.readline()
    if not line:
        return None
    head = [line]
    length, chunked, expect = 0, False, False
    while True:
        header = stream.readline()
        if not header:
            return None
        head.append(header)
        if header in (b"\r\n", b"\n"):
            break
        name, _, value = header.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        elif name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name.strip().lower() == "expect" and "100-continue" in value.lower():
            expect = True
    if expect:  # the client holds the body back until told to go on
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = _read_chunked(stream) if chunked else stream.read(length)
    return b"".join(head), line.split(b" ", 1)[0].decode(), body


def _read_chunked(stream: BinaryIO) -> bytes:
    raw = bytearray()
    while True:
        size_line = stream.readline()
        raw += size_line
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            while True:  # trailers, then the blank line
                trailer = stream.readline()
                raw += trailer
                if trailer in (b"\r\n", b"\n", b""):
                    return bytes(raw)
        raw += stream.read(size + 2)


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int, *, rate: float = 0.15, seed: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.rate = rate
        self.enabled = True
        self.counts: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed.set()
        self._server.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _choose(self) -> str | None:
        with self._lock:
            self.counts["requests"] += 1
            if not self.enabled or self._random.random() >= self.rate:
                return None
            fault = self._random.choice(FAULTS)
            self.counts[fault] += 1
            return fault

    def _serve(self, conn: socket.socket) -> None:
        stream = conn.makefile("rb")
        try:
            while True:
                request = _read_request(stream, conn)
                if request is None:
                    return
                head, method, body = request
                fault = self._choose()
                if fault == "drop_before":
                    return
                if fault in _ERRORS:
                    conn.sendall(_error_response(*_ERRORS[fault]))
                    continue
                status, headers, data = self._forward(head + body, method)
                if fault == "drop_after":
                    return
                if fault == "truncate" and len(data) > 1:
                    conn.sendall(_response(status, headers, data, method)[: -(len(data) // 2)])
                    return
                conn.sendall(_response(status, headers, data, method))
        except (OSError, _Dropped):
            return
        finally:
            stream.close()
            conn.close()

    def _forward(self, raw: bytes, method: str) -> tuple[str, list[tuple[str, str]], bytes]:
        with socket.create_connection(self.upstream, timeout=60) as upstream:
            upstream.sendall(raw)
            response = http.client.HTTPResponse(upstream, method=method)
            response.begin()  # skips a 100 Continue the server may send first
            data = response.read()
            return f"{response.status} {response.reason}", response.getheaders(), data


def _response(status: str, headers: list[tuple[str, str]], data: bytes, method: str) -> bytes:
    lines = [f"HTTP/1.1 {status}"]
    for name, value in headers:
        lowered = name.lower()
        if lowered in ("transfer-encoding", "connection") or (lowered == "content-length" and method != "HEAD"):
            continue
        lines.append(f"{name}: {value}")
    if method != "HEAD":
        lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if method == "HEAD" else data)


def _error_response(status: int, reason: str, code: str) -> bytes:
    body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>injected by the test proxy</Message></Error>").encode()
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
