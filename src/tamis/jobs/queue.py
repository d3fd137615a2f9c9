"""The job queue. A job is enqueued in the transaction of the change that needs it (a bank import and
its retroactive matching commit together), claimed with a lease, and retried with backoff; a job
whose runner died mid-way runs again when its lease ends, so handlers must be idempotent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tamis.jobs.loop import PollingLoop
from tamis.store.models import Job, utcnow

log = logging.getLogger("tamis.jobs")
LEASE_S = 300.0
MAX_ATTEMPTS = 5

# kind -> handler(sessions, job id, payload) -> result document
Handler = Callable[[sessionmaker[Session], str, dict[str, Any]], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


def enqueue(session: Session, project_id: str, kind: str, payload: dict[str, Any]) -> Job:
    job = Job(project_id=project_id, kind=kind, payload=payload)
    session.add(job)
    session.flush()
    return job


def _claim(sessions: sessionmaker[Session]) -> tuple[str, str, dict[str, Any]] | None:
    with sessions.begin() as session:
        query = (
            select(Job)
            .where(Job.status.in_(("pending", "running")), Job.run_after <= time.time())
            .order_by(Job.run_after)
            .limit(1)
        )
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        job = session.scalar(query)
        if job is None:
            return None
        job.status, job.attempts, job.run_after = "running", job.attempts + 1, time.time() + LEASE_S
        return job.id, job.kind, dict(job.payload)


def _finish(sessions: sessionmaker[Session], job_id: str, result: dict[str, Any] | None, error: str | None) -> None:
    with sessions.begin() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        if error is None:
            job.status, job.result, job.progress, job.finished_at = "done", result, 1.0, utcnow()
        elif job.attempts >= MAX_ATTEMPTS:
            job.status, job.last_error, job.finished_at = "failed", error, utcnow()
        else:
            job.status, job.last_error, job.run_after = "pending", error, time.time() + 2.0 ** job.attempts


def load_handlers() -> None:
    """Import the modules that register handlers (they import heavy parts, so only when running jobs)."""
    import tamis.hashing.retro  # noqa: F401


def run_due(sessions: sessionmaker[Session]) -> int:
    """Run due jobs until none is left; returns how many ran."""
    load_handlers()
    ran = 0
    while (claimed := _claim(sessions)) is not None:
        job_id, kind, payload = claimed
        fn = HANDLERS.get(kind)
        try:
            if fn is None:
                raise LookupError(f"no handler for job kind {kind!r}")
            result, error = fn(sessions, job_id, payload), None
        except Exception as exc:  # a failing job must not take the runner down
            log.exception("job %s (%s) failed", job_id, kind)
            result, error = None, f"{type(exc).__name__}: {exc}"[:1000]
        _finish(sessions, job_id, result, error)
        ran += 1
    return ran


def set_progress(sessions: sessionmaker[Session], job_id: str, progress: float) -> None:
    with sessions.begin() as session:
        job = session.get(Job, job_id)
        if job is not None:
            job.progress = max(0.0, min(1.0, progress))


class JobLoop(PollingLoop):
    """Runs jobs in a background thread: in `tamis serve` (embedded) and in `tamis worker`."""

    def __init__(self, sessions: sessionmaker[Session], poll_s: float = 0.5) -> None:
        super().__init__("tamis-jobs", poll_s)
        self._sessions = sessions

    def run_pass(self) -> int:
        return run_due(self._sessions)
