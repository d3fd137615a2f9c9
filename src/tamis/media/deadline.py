"""An httpx transport whose connections cannot outlive a deadline: connect, TLS, headers and body.

httpx's timeouts are per operation: a server that sends its response headers one byte a second
never trips a 10 s read timeout, and holds the caller for hours. Here every connect, read and write
gets at most the time left before the deadline, and a timer shuts the socket down at the deadline as
a backstop (a TLS handshake reads several times under one timeout), so the whole exchange ends by
then whatever the server does.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
import typing

import certifi
import httpcore
import httpx


def _left(deadline: float, timeout: float | None) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(self._deadline, timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(self._deadline, timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _left(self._deadline, timeout))
        return _Stream(inner, self._deadline)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, deadline: float) -> None:
        self._inner = httpcore.SyncBackend()
        self._deadline = deadline
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0), self._cut)
        self._timer.daemon = True
        self._timer.start()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _left(self._deadline, timeout)
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        self._sockets.append(stream.get_extra_info("socket"))
        return _Stream(stream, self._deadline)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, max(self._deadline - time.monotonic(), 0)))

    def _cut(self) -> None:
        """At the deadline: end every connection, waking a read blocked inside a TLS handshake."""
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

    def cancel(self) -> None:
        self._timer.cancel()


class DeadlineTransport(httpx.HTTPTransport):
    """httpx.HTTPTransport (no proxy, certificates checked) whose connections end by `deadline`
    (a time.monotonic() value). Use one per exchange and close it."""

    def __init__(self, deadline: float) -> None:
        super().__init__(trust_env=False)
        self._backend = _Backend(deadline)
        # HTTPTransport takes no network backend: give its connection pool one (httpx 0.2x keeps it in _pool).
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl.create_default_context(cafile=certifi.where()),
            network_backend=self._backend,
        )

    def close(self) -> None:
        self._backend.cancel()
        super().close()
