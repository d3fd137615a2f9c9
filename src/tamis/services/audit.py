"""The review workspace's audit log (append-only) and the exposure counters read from it.

Who signed in (or failed to), who revealed which case's media, who decided, skipped, held or
escalated what, and who changed queues, users, policies and API keys. Exposure per reviewer per day (media revealed,
cases decided) comes from the same rows, for the break reminder.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from tamis.store.models import Membership, ReviewEvent

KINDS = frozenset({
    "sign_in", "sign_in_failed", "sign_out", "reveal", "decision", "skip", "hold", "escalate", "resume",
    "queue_add", "bulk", "bulk_undo", "dsa_settings", "user_add", "user_disable", "user_enable", "user_password", "user_grant", "user_revoke",
    "wellness_defaults", "wellness_own", "sign_in_throttled", "policy_put", "key_create", "key_revoke",
})
EXPOSURE = ("reveal", "decision")


def log(
    session: Session, kind: str, *, actor: str, reviewer_id: str | None = None, project_id: str | None = None,
    case_id: str | None = None, **detail: Any,
) -> None:
    assert kind in KINDS, kind
    session.add(ReviewEvent(kind=kind, actor=actor, reviewer_id=reviewer_id, project_id=project_id, case_id=case_id, detail=detail))


def events(
    session: Session, project_id: str, *, before: int | None = None, limit: int = 100, kinds: Sequence[str] = (),
    since: datetime | None = None, until: datetime | None = None,
) -> Sequence[ReviewEvent]:
    """A project's events and its members' sign-ins, newest first; `before` is an event id (paging);
    `kinds`, `since` (inclusive) and `until` (exclusive) filter."""
    members = select(Membership.reviewer_id).where(Membership.project_id == project_id)
    query = select(ReviewEvent).where(or_(
        ReviewEvent.project_id == project_id,
        and_(ReviewEvent.project_id.is_(None), ReviewEvent.reviewer_id.in_(members)),
    ))
    if before is not None:
        query = query.where(ReviewEvent.id < before)
    if kinds:
        query = query.where(ReviewEvent.kind.in_(list(kinds)))
    if since is not None:
        query = query.where(ReviewEvent.created_at >= since)
    if until is not None:
        query = query.where(ReviewEvent.created_at < until)
    return session.scalars(query.order_by(ReviewEvent.id.desc()).limit(limit)).all()


SIGN_INS = ("sign_in", "sign_in_failed", "sign_in_throttled", "sign_out")
FAILED_SIGN_INS = ("sign_in_failed", "sign_in_throttled")


def sign_ins(session: Session, *, failed: bool = False, since: datetime | None = None, limit: int = 100) -> Sequence[ReviewEvent]:
    """Every sign-in event of the server, newest first, failed ones only if `failed`. Unlike
    `events` this includes failures under names without an account (no project, no reviewer):
    they are for the operator, who reads them with `tamis audit sign-ins`."""
    query = select(ReviewEvent).where(ReviewEvent.kind.in_(FAILED_SIGN_INS if failed else SIGN_INS))
    if since is not None:
        query = query.where(ReviewEvent.created_at >= since)
    return session.scalars(query.order_by(ReviewEvent.id.desc()).limit(limit)).all()


def exposure_today(session: Session, reviewer_id: str, now: datetime | None = None) -> dict[str, int]:
    """Media revealed and cases decided by the reviewer since midnight UTC."""
    now = now or datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = session.execute(
        select(ReviewEvent.kind, func.count()).where(
            ReviewEvent.reviewer_id == reviewer_id, ReviewEvent.kind.in_(EXPOSURE),
            ReviewEvent.created_at >= midnight, ReviewEvent.created_at < midnight + timedelta(days=1),
        ).group_by(ReviewEvent.kind)
    ).all()
    counts = {kind: 0 for kind in EXPOSURE}
    counts.update({kind: n for kind, n in rows})
    return counts
