"""The job queue: enqueue in a transaction, claim with a lease, retry with backoff, give up, loop."""

from __future__ import annotations

import time

import pytest

from tamis.jobs import queue
from tamis.store.db import session_factory, transaction
from tamis.store.models import Job


@pytest.fixture
def flaky():  # type: ignore[no-untyped-def]
    calls: list[dict] = []

    def run(sessions, job_id, payload):  # type: ignore[no-untyped-def]
        calls.append(payload)
        if len(calls) <= payload.get("fail_times", 0):
            raise RuntimeError(f"attempt {len(calls)} failed")
        queue.set_progress(sessions, job_id, 0.5)
        return {"ok": True, "calls": len(calls)}

    queue.HANDLERS["test_flaky"] = run
    yield calls
    queue.HANDLERS.pop("test_flaky", None)


def enqueue(project: str, kind: str = "test_flaky", **payload: object) -> str:
    with transaction() as session:
        return queue.enqueue(session, project, kind, payload).id


def job(job_id: str) -> Job:
    with transaction() as session:
        return session.get(Job, job_id)  # type: ignore[return-value]


def make_due(job_id: str) -> None:
    with transaction() as session:
        session.get(Job, job_id).run_after = time.time()  # type: ignore[union-attr]


def test_a_job_runs_once_and_records_its_result(project: str, flaky) -> None:  # type: ignore[no-untyped-def]
    job_id = enqueue(project)
    queue.run_due(session_factory())
    done = job(job_id)
    assert (done.status, done.result, done.progress, done.attempts) == ("done", {"ok": True, "calls": 1}, 1.0, 1)
    queue.run_due(session_factory())
    assert len(flaky) == 1  # not run again


def test_failures_are_retried_with_backoff_then_succeed(project: str, flaky) -> None:  # type: ignore[no-untyped-def]
    job_id = enqueue(project, fail_times=2)
    queue.run_due(session_factory())
    first = job(job_id)
    assert first.status == "pending" and "attempt 1 failed" in first.last_error and first.run_after > time.time()
    make_due(job_id)
    queue.run_due(session_factory())
    make_due(job_id)
    queue.run_due(session_factory())
    assert job(job_id).status == "done" and len(flaky) == 3


def test_a_job_that_keeps_failing_is_marked_failed(project: str, flaky) -> None:  # type: ignore[no-untyped-def]
    job_id = enqueue(project, fail_times=100)
    for _ in range(queue.MAX_ATTEMPTS):
        make_due(job_id)
        queue.run_due(session_factory())
    failed = job(job_id)
    assert failed.status == "failed" and failed.attempts == queue.MAX_ATTEMPTS and failed.finished_at is not None


def test_unknown_kind_fails_with_a_reason(project: str) -> None:
    job_id = enqueue(project, kind="no_such_kind")
    queue.run_due(session_factory())
    assert "no handler" in job(job_id).last_error


def test_a_claimed_job_whose_runner_died_runs_again_after_its_lease(project: str, flaky) -> None:  # type: ignore[no-untyped-def]
    job_id = enqueue(project)
    claimed = queue._claim(session_factory())  # a runner claims it, then crashes
    assert claimed is not None and claimed[0] == job_id
    assert job(job_id).status == "running"
    queue.run_due(session_factory())
    assert flaky == []  # the lease holds
    make_due(job_id)  # the lease ran out
    queue.run_due(session_factory())
    assert job(job_id).status == "done"


def test_the_loop_runs_jobs_in_the_background(project: str, flaky) -> None:  # type: ignore[no-untyped-def]
    loop = queue.JobLoop(session_factory(), poll_s=0.05)
    loop.start()
    try:
        job_id = enqueue(project)
        deadline = time.monotonic() + 10
        while job(job_id).status != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert job(job_id).status == "done"
    finally:
        loop.stop()


@pytest.mark.slow
def test_a_live_job_keeps_its_lease_however_long_one_step_takes(project: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A handler busy for several leases in one step (a batch of video frames on a busy machine)
    is not taken over by another runner polling meanwhile: the heartbeat renews its lease."""
    import threading

    # 3 s: a beat every second, so a busy CI machine may delay one beat by two seconds without a takeover
    monkeypatch.setattr(queue, "lease_s", lambda: 3.0)
    runs: list[str] = []
    beats: list[str] = []
    renew = queue.renew

    def logged_renew(*args, **kwargs):  # type: ignore[no-untyped-def]
        t = time.monotonic() - start
        try:
            renew(*args, **kwargs)
            beats.append(f"{t:.2f}s ok")
        except Exception as exc:
            beats.append(f"{t:.2f}s {type(exc).__name__}")
            raise

    monkeypatch.setattr(queue, "renew", logged_renew)

    def slow(sessions, job_id, payload):  # type: ignore[no-untyped-def]
        runs.append(job_id)
        time.sleep(7)  # one step, over two leases long, with no renew of its own
        return {"ok": True}

    queue.HANDLERS["test_slow"] = slow
    try:
        job_id = enqueue(project, kind="test_slow")
        start = time.monotonic()
        first = threading.Thread(target=queue.run_due, args=(session_factory(),))
        first.start()
        while time.monotonic() < start + 7:  # a second runner polls all along
            queue.run_due(session_factory())
            time.sleep(0.1)
        first.join(30)
        done = job(job_id)
        assert runs == [job_id] and (done.status, done.attempts) == ("done", 1), beats
    finally:
        queue.HANDLERS.pop("test_slow", None)


@pytest.mark.slow
def test_runners_polling_together_never_run_one_job_twice(project: str) -> None:
    """Several runners claiming at the same moment (API processes and workers polling one database):
    each job runs once. On SQLite the claim's read happens outside the write lock, so this needs the
    claim's compare-and-set."""
    import threading

    runs: list[str] = []

    def quick(sessions, job_id, payload):  # type: ignore[no-untyped-def]
        runs.append(job_id)
        time.sleep(0.01)
        return {"ok": True}

    queue.HANDLERS["test_quick"] = quick
    try:
        jobs = [enqueue(project, kind="test_quick") for _ in range(40)]
        go = threading.Barrier(4)

        def runner() -> None:
            go.wait()
            queue.run_due(session_factory())

        threads = [threading.Thread(target=runner) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(runs) == sorted(jobs)
        assert {(job(j).status, job(j).attempts) for j in jobs} == {("done", 1)}
    finally:
        queue.HANDLERS.pop("test_quick", None)
