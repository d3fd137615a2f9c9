"""Sending webhooks: many deliveries in flight, a few per webhook and per project, each attempt
under one deadline.

A sender (the embedded runner of `tamis serve`, or a `tamis worker`) runs one event loop. Each pass
claims as many due deliveries as it has free slots (`webhooks.claim_due`: leased, fair across
webhooks and projects, never more than TAMIS_WEBHOOK_ENDPOINT_CONCURRENCY per webhook or
TAMIS_WEBHOOK_PROJECT_CONCURRENCY per project in flight) and sends each in its own task, so a slow
receiver holds its own slots and nobody else's. One attempt (DNS, the destination check, connect,
TLS, the request, and the receiver's status line and headers) must end within
TAMIS_WEBHOOK_TIMEOUT_S: a receiver that drips its headers is cut there. The receiver's body is
never read.

The outcome shown to projects (`last_error`) is one of a few fixed phrases: no addresses, port
states or exception text, so webhooks cannot be used to map the operator's network.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from prometheus_client import Gauge
from sqlalchemy.orm import Session, sessionmaker

from tamis.services import destinations, webhooks
from tamis.config import Settings, get_settings
from tamis.jobs.loop import PollingLoop
from tamis.services.destinations import RefusedDestination

log = logging.getLogger("tamis.services.webhooks")

IN_FLIGHT = Gauge("tamis_webhook_in_flight", "Webhook delivery attempts in flight in this process.")

# What a project may read about a failed attempt (besides "HTTP <status>").
REFUSED = "refused destination"
TIMEOUT = "timeout"
CONNECTION_FAILED = "connection failed"


def lease_s(settings: Settings) -> float:
    """How long a claimed delivery is hidden from other senders: TAMIS_WEBHOOK_LEASE_S, and well
    past one attempt's deadline."""
    return max(settings.webhook_lease_s, 3 * settings.webhook_timeout_s)


def new_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=settings.webhook_timeout_s,
        follow_redirects=False,  # a redirect is an answer, not an invitation to go elsewhere
        trust_env=False,  # no proxy from the environment: it would connect past our checks
        # A fresh connection per attempt: pooled ones are keyed by the pinned IP, not the host name.
        limits=httpx.Limits(max_keepalive_connections=0),
        transport=transport,
    )


async def attempt(client: httpx.AsyncClient, claim: webhooks.Claim, settings: Settings) -> tuple[int | None, str | None]:
    """POST one delivery; (status code, error or None)."""
    allowed = settings.webhook_allowed_networks()
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(settings.webhook_timeout_s):
            destination = await loop.run_in_executor(None, destinations.check, claim.url, allowed)
            return await _post(client, claim, destination)
    except RefusedDestination as e:
        log.warning("webhook delivery %s refused: %s", claim.id, e)
        return None, REFUSED
    except (TimeoutError, httpx.TimeoutException):
        return None, TIMEOUT
    except Exception as e:  # noqa: BLE001 - any other failure is the same to the project
        log.warning("webhook delivery %s failed: %s: %s", claim.id, type(e).__name__, e)  # the operator's log
        return None, CONNECTION_FAILED


async def _post(
    client: httpx.AsyncClient, claim: webhooks.Claim, destination: destinations.Destination
) -> tuple[int, str | None]:
    headers = {
        "Host": destination.host_header,
        "Content-Type": "application/json",
        "User-Agent": "tamis-webhooks/1",
        "Tamis-Delivery": claim.id,
        "Tamis-Signature": webhooks.sign(claim.secret, claim.body, int(time.time())),
    }
    request = client.build_request(
        "POST", destination.pinned, content=claim.body.encode(), headers=headers, extensions=destination.extensions
    )
    response = await client.send(request, stream=True)  # status and headers only: the body is never read
    await response.aclose()
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


class Sender:
    """Claims due deliveries within its free slots and sends each in its own task."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._sessions, self._settings, self._transport = session_factory, settings, transport
        self._busy: Counter[webhooks.Slot] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: threading.Event) -> None:
        """Pass after pass until stop is set; then wait (a deadline at most) for attempts in flight."""
        async with new_client(self._settings, self._transport) as client:
            while not stop.is_set():
                try:
                    busy = await self.one_pass(client)
                except Exception:  # a database hiccup must not end the loop
                    log.exception("tamis-webhooks: pass failed")
                    busy = 0
                if not busy:
                    await asyncio.sleep(self._settings.webhook_poll_s)
            await self.drain()

    async def one_pass(self, client: httpx.AsyncClient) -> int:
        """Claim what the free slots allow and start sending it; returns how many were claimed."""
        free = self._settings.webhook_concurrency - len(self._tasks)
        if free <= 0:
            return 0
        claimed = await asyncio.to_thread(self._claim, free, dict(self._busy))
        for claim in claimed:
            self._busy.update(self._slots(claim))
            task = asyncio.create_task(self._deliver(client, claim))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self._settings.webhook_timeout_s + 5)

    def _claim(self, limit: int, busy: dict[webhooks.Slot, int]) -> list[webhooks.Claim]:
        with self._sessions.begin() as session:
            return webhooks.claim_due(
                session,
                limit,
                per_webhook=self._settings.webhook_endpoint_concurrency,
                per_project=self._settings.webhook_project_concurrency,
                busy=busy,
                lease_s=lease_s(self._settings),
            )

    @staticmethod
    def _slots(claim: webhooks.Claim) -> list[webhooks.Slot]:
        return [("webhook", claim.webhook_id), ("project", claim.project_id)]

    async def _deliver(self, client: httpx.AsyncClient, claim: webhooks.Claim) -> None:
        try:
            with IN_FLIGHT.track_inprogress():
                status_code, error = await attempt(client, claim, self._settings)
        finally:
            self._busy.subtract(self._slots(claim))
            self._busy += Counter()  # drop zero counts
        try:
            await asyncio.to_thread(self._record, claim.id, status_code, error)
        except Exception:  # the lease runs out and the delivery is sent again: at least once
            log.exception("tamis-webhooks: recording delivery %s failed", claim.id)

    def _record(self, delivery_id: str, status_code: int | None, error: str | None) -> None:
        with self._sessions.begin() as session:
            webhooks.record(session, delivery_id, status_code, error, self._settings)


def deliver_due(
    session_factory: sessionmaker[Session],
    settings: Settings | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """One pass over the outbox, waiting for its attempts to end; returns how many were attempted."""
    sender = Sender(session_factory, settings or get_settings(), transport)

    async def once() -> int:
        async with new_client(sender._settings, transport) as client:
            claimed = await sender.one_pass(client)
            await sender.drain()
            return claimed

    return asyncio.run(once())


class DeliveryLoop(PollingLoop):
    """Delivers webhooks in a background thread: the embedded runner of `tamis serve`, and `tamis worker`.
    PollingLoop's thread, start and stop; the sender runs its own asyncio loop instead of passes."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings or get_settings()
        super().__init__("tamis-webhooks", poll_s=0.0, join_timeout_s=self._settings.webhook_timeout_s + 10)
        self._sender = Sender(session_factory, self._settings, transport)

    def run(self) -> None:
        # Its own thread pool for DNS and the database, sized so that slow lookups cannot starve them.
        pool = ThreadPoolExecutor(self._settings.webhook_concurrency + 4, thread_name_prefix="tamis-webhooks")

        async def main() -> None:
            asyncio.get_running_loop().set_default_executor(pool)
            await self._sender.run(self._stop)

        try:
            asyncio.run(main())
        finally:
            pool.shutdown(wait=False)
