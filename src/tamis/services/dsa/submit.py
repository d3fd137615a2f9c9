"""Sending statements to the operator's submission endpoint (the Transparency Database's batch API,
or anything that speaks it): off unless the operator enabled it with a URL and a token.

The URL passes the webhook destination rules before every batch (public addresses only unless
TAMIS_WEBHOOK_ALLOW_NETWORKS allows a network; the connection goes to the checked address). Each
batch, what it held and what the endpoint answered are recorded; statements the endpoint accepted
(a 2xx answer) are marked submitted and never sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx
import orjson
from sqlalchemy import update

from tamis.config import get_settings
from tamis.services import destinations
from tamis.services.dsa import settings as dsa_settings
from tamis.services.dsa import statements
from tamis.services.dsa.statements import batches
from tamis.store.db import transaction
from tamis.store.models import Statement, StatementSubmission, utcnow

RESPONSE_KEEP = 64 * 1024
TIMEOUT_S = 30.0


class SubmissionOff(Exception):
    """The project has not enabled submission (or has no URL or token): nothing is sent."""


@dataclass(frozen=True)
class Sent:
    submission_id: str
    count: int
    status_code: int | None
    error: str | None


def _post(url: str, token: str, body: bytes, transport: httpx.BaseTransport | None) -> tuple[int | None, str | None, str]:
    """(status, error, the answer's first bytes); the destination is checked first, then pinned."""
    try:
        target = destinations.check(url, get_settings().webhook_allowed_networks())
    except destinations.RefusedDestination:
        return None, "refused destination", ""
    headers = {"Host": target.host_header, "Content-Type": "application/json", "Accept": "application/json",
               "Authorization": f"Bearer {token}", "User-Agent": "tamis-dsa/1"}
    try:
        with httpx.Client(timeout=TIMEOUT_S, follow_redirects=False, trust_env=False, transport=transport) as client:
            request = client.build_request("POST", target.pinned, content=body, headers=headers, extensions=target.extensions)
            response = client.send(request, stream=True)
            try:
                kept = b""
                for chunk in response.iter_bytes():
                    kept += chunk
                    if len(kept) >= RESPONSE_KEEP:
                        break
            finally:
                response.close()
            text = kept[:RESPONSE_KEEP].decode("utf-8", "replace")
            return response.status_code, None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}", text
    except httpx.TimeoutException:
        return None, "timeout", ""
    except httpx.HTTPError:
        return None, "connection failed", ""


def pending(project: str, *, since: datetime | None, until: datetime | None, restorations: bool = False) -> list[Statement]:
    """Statements not yet accepted by the endpoint; restorations (a lifted restriction, which the
    database has no field for) only when asked."""
    with transaction() as session:
        query = statements.in_force(project, since=since, until=until, restorations=restorations)
        rows = list(session.scalars(query.where(Statement.submitted_at.is_(None))))
        session.expunge_all()
    return rows


def submit(project: str, rows: Sequence[Statement], *, batch_size: int = 100,
           transport: httpx.BaseTransport | None = None) -> list[Sent]:
    """Send `rows` in batches of at most 100, recording each; SubmissionOff if not configured."""
    with transaction() as session:
        current, stored = dsa_settings.load(session, project)
        token = stored.submission_token if stored is not None else None
    url = current.submission.url
    if not (current.submission.enabled and url and token):
        raise SubmissionOff(f"submission is off for project {project!r} (enable it with a URL and a token in the DSA settings)")
    sent = []
    by_puid = {r.puid: r.id for r in rows}
    for batch in batches([r.body for r in rows], batch_size):
        status, error, answer = _post(url, token, orjson.dumps(batch), transport)
        puids = [s["puid"] for s in batch["statements"]]
        with transaction() as session:
            record = StatementSubmission(project_id=project, url=url, puids=puids, status_code=status, error=error, response=answer)
            session.add(record)
            if error is None:
                session.execute(update(Statement).where(Statement.id.in_([by_puid[p] for p in puids]))
                                .values(submitted_at=utcnow()).execution_options(synchronize_session=False))
            session.flush()
            sent.append(Sent(record.id, len(puids), status, error))
    return sent
