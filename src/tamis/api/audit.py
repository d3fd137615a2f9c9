"""`/v1/audit`: the review workspace's audit log, read-only (it is append-only: no operation here, or
anywhere, changes or deletes an event)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from tamis.api.auth import ProjectId
from tamis.api.openapi import problems
from tamis.api.schemas import Doc
from tamis.errors import bad_input
from tamis.services import audit
from tamis.store.db import transaction

router = APIRouter(tags=["audit"])
Kind = Literal[tuple(sorted(audit.KINDS))]  # type: ignore[valid-type]
MAX_ID = 2**31 - 1  # event ids are a 32-bit INTEGER column on PostgreSQL


class AuditEvent(Doc):
    id: int
    at: str = Field(description="When (UTC, ISO 8601).")
    kind: str = Field(description="sign_in, sign_in_failed, sign_in_throttled, sign_out, reveal, decision, skip, hold, escalate, "
                                  "resume, bulk, bulk_undo, queue_add, wellness_defaults, wellness_own, policy_put, key_create, key_revoke, "
                                  "user_* (`tamis users`).")
    actor: str = Field(description="A reviewer's username, `cli`, `api:<name>` or, for sign-ins under a name without an account, `anonymous`.")
    case_id: str | None
    detail: dict[str, Any]


class AuditList(Doc):
    events: list[AuditEvent] = Field(description="Newest first.")
    next_before: int | None = Field(description="Pass as `before` for the next page; null on the last page.")


def utc_time(value: datetime | None, field: str) -> datetime | None:
    """A query's time in UTC (UTC when it has no offset); years 1970 to 9998, so that no offset
    carries it out of the range a datetime holds."""
    if value is None:
        return None
    try:
        value = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        raise bad_input("a time between 1970 and 9998", field) from None
    if not 1970 <= value.year <= 9998:
        raise bad_input("a time between 1970 and 9998", field)
    return value


@router.get("/v1/audit", response_model=AuditList, responses=problems(401, 422), summary="Read the review audit log")
def read_audit(
    project: ProjectId,
    kind: list[Kind] = Query([], max_length=30, description="Only these kinds (repeat the parameter for several)."),  # type: ignore[valid-type]
    since: datetime | None = Query(None, description="Events at or after this time (ISO 8601; UTC if no offset)."),
    until: datetime | None = Query(None, description="Events before this time."),
    before: int | None = Query(None, ge=1, le=MAX_ID, description="An event id: list older ones (paging)."),
    limit: int = Query(100, ge=1, le=500),
) -> dict[str, Any]:
    """The project's review audit log, newest first: sign-ins of its reviewers, media and words
    revealed, decisions, skips, holds, escalations, bulk actions and their undo, queue and wellness
    changes, policy versions written, API keys created and revoked, and `tamis users` changes.
    Append-only: there is no way to change or delete an event."""
    start, end = utc_time(since, "since"), utc_time(until, "until")
    with transaction() as session:
        rows = audit.events(session, project, before=before, limit=limit, kinds=kind, since=start, until=end)
        docs = [{"id": e.id, "at": e.created_at.isoformat(), "kind": e.kind, "actor": e.actor, "case_id": e.case_id,
                 "detail": e.detail} for e in rows]
    return {"events": docs, "next_before": docs[-1]["id"] if len(docs) == limit else None}
