"""The job queue. A job is enqueued in the transaction of the change that needs it (a bank import and
its retroactive matching commit together), claimed with a lease, and retried with backoff; a job
whose runner died mid-way runs again when its lease ends, so handlers must be idempotent.

While a handler runs, a heartbeat thread renews its lease every third of TAMIS_JOB_LEASE_S, so a
live job is never taken over however long one step of it takes on a busy machine, while a dead
runner's job is, after TAMIS_JOB_LEASE_S. A handler may also `renew` to record its progress. Each claim is an attempt (its number is the lease's
token): a runner whose lease was taken over cannot finish, fail or renew the job any more.
A handler raises JobFailed for a failure that no retry can cure (a corrupt upload).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from tamis.config import get_settings
from tamis.jobs.loop import PollingLoop
from tamis.store.models import Job, JobMedia, utcnow

log = logging.getLogger("tamis.jobs")
MAX_ATTEMPTS = 5


class JobFailed(Exception):
    """A permanent failure: the job fails at once with this message, without retries."""


class LeaseLost(Exception):
    """Another runner took the job over (this one's lease ran out): stop, leaving the job to it."""


def lease_s() -> float:
    return get_settings().job_lease_s

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


def _claim(sessions: sessionmaker[Session]) -> tuple[str, str, dict[str, Any], int] | None:
    while True:
        with sessions.begin() as session:
            now = time.time()
            due = (Job.status.in_(("pending", "running")), Job.run_after <= now)
            query = (
                select(Job.id, Job.kind, Job.payload, Job.attempts)
                .where(*due)
                .order_by(Job.run_after)
                .limit(1)
            )
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            row = session.execute(query).first()
            if row is None:
                return None
            # Compare-and-set: SQLite reads outside the write lock, so two runners may both see the job due
            # (or its runner may renew the lease meanwhile); only an UPDATE that still finds it due and at
            # the attempt it read takes it, the other looks again.
            took = session.execute(
                update(Job)
                .where(Job.id == row.id, Job.attempts == row.attempts, *due)
                .values(status="running", attempts=row.attempts + 1, run_after=time.time() + lease_s())
            )
            if took.rowcount == 1:  # type: ignore[attr-defined]
                return row.id, row.kind, dict(row.payload), row.attempts + 1


def _ours(job_id: str, attempt: int):  # type: ignore[no-untyped-def]
    """The job row, only while it is running under this attempt (an UPDATE on it is atomic)."""
    return update(Job).where(Job.id == job_id, Job.attempts == attempt, Job.status == "running")


def _finish(
    sessions: sessionmaker[Session], job_id: str, attempt: int, result: dict[str, Any] | None, error: str | None,
    *, permanent: bool = False,
) -> None:
    with sessions.begin() as session:
        job = session.get(Job, job_id)
        # Finished by the handler itself (see complete), or taken over by another runner: not ours to touch.
        if job is None or job.status != "running" or job.attempts != attempt:
            return
        if error is None:
            job.status, job.result, job.progress, job.finished_at = "done", result, 1.0, utcnow()
        elif permanent or job.attempts >= MAX_ATTEMPTS:
            job.status, job.last_error, job.finished_at = "failed", error, utcnow()
            session.execute(delete(JobMedia).where(JobMedia.job_id == job_id))  # failed for good: drop the upload
        else:
            job.status, job.last_error, job.run_after = "pending", error, time.time() + 2.0 ** job.attempts


def current_attempt(sessions: sessionmaker[Session], job_id: str) -> int:
    """The attempt a handler runs as: its token for renew and complete."""
    with sessions() as session:
        return int(session.scalar(select(Job.attempts).where(Job.id == job_id)) or 0)


def renew(sessions: sessionmaker[Session], job_id: str, attempt: int, progress: float | None = None) -> None:
    """Extend the lease by TAMIS_JOB_LEASE_S (and record progress); LeaseLost if the job was taken over."""
    values: dict[str, Any] = {"run_after": time.time() + lease_s()}
    if progress is not None:
        values["progress"] = max(0.0, min(1.0, progress))
    with sessions.begin() as session:
        if session.execute(_ours(job_id, attempt).values(**values)).rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLost(job_id)


def complete(session: Session, job_id: str, attempt: int, result: dict[str, Any]) -> None:
    """Mark the job done in the caller's transaction, so that its outcome (e.g. a decision) and its
    end commit together; LeaseLost (roll back) if another runner took the job over."""
    done = _ours(job_id, attempt).values(status="done", result=result, progress=1.0, finished_at=utcnow())
    if session.execute(done).rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(job_id)


@contextmanager
def heartbeat(sessions: sessionmaker[Session], job_id: str, attempt: int) -> Iterator[None]:
    """Renew the job's lease in the background while the block runs. It stops on its own once the
    lease is lost (the handler then learns it from its next `renew` or `complete`)."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease_s() / 3):
            try:
                renew(sessions, job_id, attempt)
            except LeaseLost:
                return
            except Exception:  # a database hiccup: the next beat tries again, well within the lease
                log.warning("job %s: lease renewal failed", job_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"tamis-job-lease-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_due(sessions: sessionmaker[Session]) -> int:
    """Run due jobs until none is left; returns how many ran (handlers: see tamis.services.jobs)."""
    ran = 0
    while (claimed := _claim(sessions)) is not None:
        job_id, kind, payload, attempt = claimed
        fn = HANDLERS.get(kind)
        permanent = False
        try:
            if fn is None:
                raise LookupError(f"no handler for job kind {kind!r}")
            with heartbeat(sessions, job_id, attempt):
                result, error = fn(sessions, job_id, payload), None
        except LeaseLost:
            log.warning("job %s (%s): another runner took it over", job_id, kind)
            result, error = None, "lease lost"  # _finish leaves the job to its new runner
        except JobFailed as exc:
            log.warning("job %s (%s) failed for good: %s", job_id, kind, exc)
            result, error, permanent = None, str(exc)[:1000], True
        except Exception as exc:  # a failing job must not take the runner down
            log.exception("job %s (%s) failed", job_id, kind)
            result, error = None, f"{type(exc).__name__}: {exc}"[:1000]
        _finish(sessions, job_id, attempt, result, error, permanent=permanent)
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
