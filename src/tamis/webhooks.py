"""Webhooks: the outbox, signing, delivery with exponential backoff, and replay.

Deliveries are rows written in the same transaction as the decision they announce, so a crash can
lose neither. A sender claims due rows by pushing their next attempt a lease into the future (on
PostgreSQL with SKIP LOCKED, so several workers share the outbox); a sender that dies mid-delivery
leaves the row due again once the lease ends. Delivery is therefore at least once: receivers should
deduplicate on the `Tamis-Delivery` header.

Signature: `Tamis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import secrets
import time
from collections.abc import Sequence

import httpx
import orjson
from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.orm import Session

from tamis.config import Settings, get_settings
from tamis.items import DecisionDoc
from tamis.jobs.loop import PollingLoop
from tamis.store.models import Delivery, Webhook, utcnow

log = logging.getLogger("tamis.webhooks")
LEASE_S = 60.0
SIGNATURE_TOLERANCE_S = 300
VERDICTS = ("pass", "review", "block")
ATTEMPTS = Counter("tamis_webhook_attempts_total", "Webhook delivery attempts, by outcome.", ["outcome"])


# --- signing -----------------------------------------------------------------------------------


def sign(secret: str, body: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: str, header: str, *, now: float | None = None) -> bool:
    """What a receiver does: check the MAC and refuse stale timestamps (replayed requests)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > SIGNATURE_TOLERANCE_S:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


# --- registration and the outbox -----------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def create_webhook(
    session: Session, project_id: str, url: str, *, verdicts: Sequence[str] = ("review", "block"), include_shadow: bool = False
) -> Webhook:
    webhook = Webhook(
        project_id=project_id, url=url, secret=new_secret(), verdicts=list(verdicts), include_shadow=include_shadow
    )
    session.add(webhook)
    session.flush()
    return webhook


def enqueue(session: Session, doc: DecisionDoc, *, shadow: bool) -> list[Delivery]:
    """Outbox rows for every webhook of the project that wants this decision."""
    hooks = session.scalars(
        select(Webhook).where(Webhook.project_id == doc.project, Webhook.active.is_(True))
    ).all()
    verdicts = {r.verdict for r in doc.results}
    deliveries = []
    for hook in hooks:
        if (shadow and not hook.include_shadow) or not verdicts & set(hook.verdicts):
            continue
        body = orjson.dumps({"type": "decision", "shadow": shadow, "decision": doc.model_dump(mode="json")}).decode()
        deliveries.append(Delivery(webhook_id=hook.id, project_id=doc.project, decision_id=doc.id, body=body))
    session.add_all(deliveries)
    return deliveries


def replay(session: Session, delivery: Delivery) -> None:
    """Send again now, whatever happened before (the body, and so the payload, stays the same)."""
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = time.time()
    delivery.last_error = None


# --- delivery ------------------------------------------------------------------------------------


def backoff(attempts: int, settings: Settings) -> float:
    """Seconds before the next try: exponential with full jitter, capped."""
    ceiling = min(settings.webhook_backoff_max_s, settings.webhook_backoff_base_s * 2 ** min(attempts - 1, 40))
    return random.uniform(ceiling / 2, ceiling)


def claim_due(session: Session, limit: int = 20) -> list[tuple[str, str, str, str]]:
    """Lease due deliveries: (delivery id, url, secret, body)."""
    now = time.time()
    query = (
        select(Delivery, Webhook)
        .join(Webhook, Webhook.id == Delivery.webhook_id)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Delivery)
    claimed = []
    for delivery, hook in session.execute(query).all():
        delivery.next_attempt_at = now + LEASE_S
        claimed.append((delivery.id, hook.url, hook.secret, delivery.body))
    return claimed


def send(client: httpx.Client, delivery_id: str, url: str, secret: str, body: str) -> tuple[int | None, str | None]:
    """POST one delivery; (status code, error or None)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "tamis-webhooks/1",
        "Tamis-Delivery": delivery_id,
        "Tamis-Signature": sign(secret, body, int(time.time())),
    }
    try:
        response = client.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def record(session: Session, delivery_id: str, status_code: int | None, error: str | None, settings: Settings) -> None:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_error = error
    ATTEMPTS.labels("delivered" if error is None else "error").inc()
    if error is None:
        delivery.status = "delivered"
        delivery.delivered_at = utcnow()
    elif delivery.attempts >= settings.webhook_max_attempts:
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = time.time() + backoff(delivery.attempts, settings)


def deliver_due(session_factory, client: httpx.Client, settings: Settings | None = None) -> int:  # type: ignore[no-untyped-def]
    """One pass over the outbox; returns how many deliveries were attempted."""
    settings = settings or get_settings()
    with session_factory.begin() as session:
        claimed = claim_due(session)
    for delivery_id, url, secret, body in claimed:
        status_code, error = send(client, delivery_id, url, secret, body)
        if error:
            log.warning("webhook delivery %s to %s failed: %s", delivery_id, url, error)
        with session_factory.begin() as session:
            record(session, delivery_id, status_code, error, settings)
    return len(claimed)


class DeliveryLoop(PollingLoop):
    """Delivers webhooks in a background thread: the embedded runner of `tamis serve`, and `tamis worker`."""

    def __init__(self, session_factory, settings: Settings | None = None) -> None:  # type: ignore[no-untyped-def]
        self._sessions = session_factory
        self._settings = settings or get_settings()
        super().__init__("tamis-webhooks", self._settings.webhook_poll_s, self._settings.webhook_timeout_s + 5)

    def run(self) -> None:
        # One HTTP client (and its connection pool) for the life of the loop.
        with httpx.Client(timeout=self._settings.webhook_timeout_s, follow_redirects=False) as client:
            self.loop(lambda: deliver_due(self._sessions, client, self._settings))
