"""A local HTTP server on 127.0.0.1 that answers as slowly as an attacker's would.

`drip`: after reading the request, sends a response one byte every `interval` seconds (headers
first, so httpx's per-read timeout never trips), for at most `for_s` seconds, then closes.
`fast`: answers at once with `body`. The path chooses: /drip/... or anything else.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class SlowServer:
    def __init__(self, body: bytes = b"", interval: float = 0.2, for_s: float = 8.0) -> None:
        self.body, self.interval, self.for_s = body, interval, for_s
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.dripping = 0  # connections being dripped right now
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            path = request.split(b" ", 2)[1]
            if path.startswith(b"/drip"):
                self._drip(conn)
            else:
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(self.body)}\r\nConnection: close\r\n\r\n"
                conn.sendall(head.encode() + self.body)

    def _drip(self, conn: socket.socket) -> None:
        with self._lock:
            self.dripping += 1
        try:
            header = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000
            end = time.monotonic() + self.for_s
            for byte in header:
                if time.monotonic() > end or self._stop.is_set():
                    return
                conn.sendall(bytes([byte]))
                time.sleep(self.interval)
        except OSError:
            return  # the client gave up: what a deadline is for
        finally:
            with self._lock:
                self.dripping -= 1

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


@contextmanager
def slow_server(**kw: object) -> Iterator[SlowServer]:
    server = SlowServer(**kw)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.close()
