"""How `tamis serve` runs uvicorn: timeouts for clients that send slowly or not at all.

uvicorn closes idle keep-alive connections (timeout_keep_alive) but, once the first byte of a
request has arrived, waits for the rest of its head for ever: a client sending its headers one byte
a second holds a connection open indefinitely. `SlowClientProtocol` closes a connection whose
request head (request line and headers) is not complete within TAMIS_HEADER_TIMEOUT_S of the
connection opening or the previous response ending. Heads larger than h11's 16 KiB are refused by
h11 itself. The body is bounded in time by the app (api/app.BodyLimitMiddleware,
TAMIS_BODY_TIMEOUT_S).
"""

from __future__ import annotations

import asyncio

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from tamis.config import get_settings

KEEP_ALIVE_S = 5
MAX_HEAD_BYTES = 16 * 1024


class SlowClientProtocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for each request's head."""

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._waiting_for_head():
            return
        self._cancel_head_timer()  # the head is in: the request runs

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()  # the next request on this connection gets its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _waiting_for_head(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(get_settings().header_timeout_s, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self._waiting_for_head() and not self.transport.is_closing():
            self.transport.close()


def server_config(app: object, host: str, port: int, **kw: object) -> uvicorn.Config:
    """The uvicorn configuration `tamis serve` runs with."""
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        http=SlowClientProtocol,
        timeout_keep_alive=KEEP_ALIVE_S,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        **kw,  # type: ignore[arg-type]
    )
