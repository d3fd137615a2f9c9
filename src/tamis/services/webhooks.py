"""Webhooks: the outbox, signing, claiming due deliveries fairly, backoff, and replay.

Deliveries are rows written in the same transaction as the decision they announce, so a crash can
lose neither. A sender claims due rows by pushing their next attempt a lease into the future (on
PostgreSQL with SKIP LOCKED, so several workers share the outbox); a sender that dies mid-delivery
leaves the row due again once the lease ends. Delivery is therefore at least once: receivers should
deduplicate on the `Tamis-Delivery` header.

Sending (many in flight, destinations checked, one deadline per attempt) is `tamis.services.delivery`.

Signature: `Tamis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import prometheus_client
from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session

from tamis.config import Settings
from tamis.schema import DecisionDoc
from tamis.store import queries
from tamis.store.models import Delivery, Webhook, utcnow

LEASE_S = 60.0
SIGNATURE_TOLERANCE_S = 300
VERDICTS = ("pass", "review", "block")
ATTEMPTS = prometheus_client.Counter("tamis_webhook_attempts_total", "Webhook delivery attempts, by outcome.", ["outcome"])


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
    # bytes: compare_digest raises TypeError on a str that is not ASCII
    return hmac.compare_digest(expected.encode(), fields.get("v1", "").encode())


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


def deactivate(session: Session, hook: Webhook) -> int:
    """Stop a webhook: no new deliveries, and its pending ones end (marked failed, replayable if it
    is ever active again). A delivery already in flight may still arrive. Returns how many ended."""
    hook.active = False
    pending = session.scalars(select(Delivery).where(Delivery.webhook_id == hook.id, Delivery.status == "pending"))
    ended = 0
    for delivery in pending:
        delivery.status, delivery.last_error = "failed", "webhook deleted"
        ended += 1
    return ended


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


Slot = tuple[str, str]  # ("webhook", id) or ("project", id): what a concurrency limit counts


@dataclass(frozen=True)
class Claim:
    """A leased delivery, with what sending it needs."""

    id: str
    webhook_id: str
    project_id: str
    url: str
    secret: str
    body: str


def claim_due(
    session: Session,
    limit: int = 20,
    *,
    per_webhook: int = 2,
    per_project: int = 8,
    busy: Mapping[Slot, int] | None = None,
    lease_s: float = LEASE_S,
) -> list[Claim]:
    """Lease up to `limit` due deliveries of active webhooks, fairly: at most `per_webhook` per
    webhook and `per_project` per project, counting those the caller has in flight already
    (`busy`: ("webhook", id) and ("project", id) -> deliveries in flight), projects in turn.

    Candidates are ranked without locks; the chosen rows are then locked (PostgreSQL: SKIP LOCKED,
    so several workers share the outbox) and leased only if still due, so no row is claimed twice.
    """
    now, seen = time.time(), Counter(busy or {})
    chosen = _choose(_candidates(session, now, per_webhook, per_project), seen, limit, per_webhook, per_project)
    if not chosen:
        return []
    query = (
        select(Delivery, Webhook)
        .join(Webhook, Webhook.id == Delivery.webhook_id)
        .where(Delivery.id.in_(chosen), Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .where(Webhook.active.is_(True))
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Delivery)
    claimed = []
    for delivery, hook in session.execute(query).all():
        # Compare-and-set: SQLite reads outside the write lock, so another worker may have leased the row
        # since it was read; only the UPDATE that still finds it due takes it.
        leased = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery.id, Delivery.status == "pending", Delivery.next_attempt_at <= now)
            .values(next_attempt_at=now + lease_s)
            .execution_options(synchronize_session=False)
        )
        if leased.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(Claim(delivery.id, hook.id, hook.project_id, hook.url, hook.secret, delivery.body))
    return claimed


def _candidates(session: Session, now: float, per_webhook: int, per_project: int) -> list[Row[Any]]:
    """Due rows ranked so that no webhook and no project fills the window: the first `per_webhook`
    of each webhook, then the first `per_project` of those per project, projects in turn."""
    due = (
        select(
            Delivery.id,
            Delivery.webhook_id,
            Delivery.project_id,
            Delivery.next_attempt_at,
            func.row_number()
            .over(partition_by=Delivery.webhook_id, order_by=(Delivery.next_attempt_at, Delivery.id))
            .label("nth"),
        )
        .join(Webhook, Webhook.id == Delivery.webhook_id)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now, Webhook.active.is_(True))
        .subquery()
    )
    fair = (
        select(
            due,
            func.row_number()
            .over(partition_by=due.c.project_id, order_by=(due.c.nth, due.c.next_attempt_at, due.c.id))
            .label("turn"),
        )
        .where(due.c.nth <= per_webhook)
        .subquery()
    )
    query = (
        select(fair.c.id, fair.c.webhook_id, fair.c.project_id)
        .where(fair.c.turn <= per_project)
        .order_by(fair.c.turn, fair.c.next_attempt_at, fair.c.id)
    )
    return list(session.execute(query).all())


def _choose(candidates: Sequence[Row[Any]], busy: Counter[Slot], limit: int, per_webhook: int, per_project: int) -> list[str]:
    """The candidates the caller has room for, given what it has in flight."""
    chosen: list[str] = []
    for row in candidates:
        if len(chosen) >= limit:
            break
        hook, project = ("webhook", row.webhook_id), ("project", row.project_id)
        if busy[hook] >= per_webhook or busy[project] >= per_project:
            continue
        busy[hook] += 1
        busy[project] += 1
        chosen.append(row.id)
    return chosen


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


# --- a project's webhooks and deliveries (what the API and the CLI show) -----------------------------


def get_webhook(session: Session, project: str, webhook_id: str) -> Webhook | None:
    return queries.owned(session, Webhook, project, webhook_id)


def get_delivery(session: Session, project: str, delivery_id: str) -> Delivery | None:
    return queries.owned(session, Delivery, project, delivery_id)


def active_count(session: Session, project: str) -> int:
    query = select(func.count()).select_from(Webhook).where(Webhook.project_id == project, Webhook.active.is_(True))
    return session.scalar(query) or 0


def list_webhooks(session: Session, project: str) -> Sequence[Webhook]:
    return session.scalars(select(Webhook).where(Webhook.project_id == project).order_by(Webhook.created_at)).all()


def delivery_counts(session: Session, webhook_id: str) -> dict[str, int]:
    """Deliveries of the webhook by status."""
    query = select(Delivery.status, func.count()).where(Delivery.webhook_id == webhook_id).group_by(Delivery.status)
    return {status: count for status, count in session.execute(query).all()}


def list_deliveries(session: Session, webhook_id: str, status: str | None = None, limit: int | None = None) -> list[Delivery]:
    """The webhook's deliveries, newest first, only those in `status` if given ("all": every one)."""
    query = select(Delivery).where(Delivery.webhook_id == webhook_id)
    if status and status != "all":
        query = query.where(Delivery.status == status)
    return list(session.scalars(query.order_by(Delivery.id.desc()).limit(limit)))
