"""Scale-out, for real: 2 API processes (`tamis serve --no-worker`) and 2 `tamis worker`s on one
PostgreSQL database, mixed traffic through both APIs (texts, images, videos, a webhook for every
decision), one worker killed with SIGKILL while it is in the middle of a video and of a webhook
delivery, a replacement started. Then: every accepted request has its decision, every job ran to
the end once (one decision each), every decision's webhook reached the receiver, and a bank entry
added through one API process is matched through the other within a second.

SQLite is one file on one machine: several processes on it is not scale-out, so this runs on
PostgreSQL only (CI runs the suite on both).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cluster import (SRC, Cluster, Outcome, Receiver, Request, create_key, drive, image_request, small_jpegs, text_request,
                     throwaway_database, video_request, wait_until)
from tamis.store.db import make_engine
from tamis.store.models import Decision, DecisionItem, Delivery, Job
from video_maker import encode, photo

PROBE_OFFSETS_S = (0.0, 0.25, 0.5, 1.0)  # after the entry is added; the 1 s one must match
ENV = {
    # A killed worker's video is taken over this long after its last renewal (a live job's lease is
    # renewed by a heartbeat every third of it, however long a batch of frames takes).
    "TAMIS_JOB_LEASE_S": "15",
    # Its claimed deliveries are sent again 6 s after the claim (the lease is at least 3 attempts' time).
    "TAMIS_WEBHOOK_LEASE_S": "4",
    "TAMIS_WEBHOOK_TIMEOUT_S": "2",
    "TAMIS_WEBHOOK_POLL_S": "0.2",
    "TAMIS_WEBHOOK_BACKOFF_BASE_S": "0.5",
    "TAMIS_WEBHOOK_BACKOFF_MAX_S": "2",
    "TAMIS_ONNX_THREADS": "1",  # four processes on a small machine: no thread oversubscription
}


def test_the_delivery_lease_is_the_setting_but_never_shorter_than_three_attempts() -> None:
    from tamis.config import Settings
    from tamis.services.delivery import lease_s

    assert lease_s(Settings(webhook_lease_s=7, webhook_timeout_s=1)) == 7
    assert lease_s(Settings(webhook_lease_s=7, webhook_timeout_s=10)) == 30
    assert lease_s(Settings()) == 60


def postgres_server() -> str:
    url = os.environ.get("TAMIS_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("scale-out needs PostgreSQL (several machines on one database); CI runs this on PostgreSQL")
    return url


@pytest.fixture
def cluster_db() -> Iterator[str]:
    with throwaway_database(postgres_server()) as own:
        yield own


@pytest.mark.postgresql_only  # several machines on one database
def test_processes_started_together_on_a_new_database_all_come_up() -> None:
    """Four processes migrate a new database at the same moment: one migrates, the others wait for
    it (they used to fail creating tables that another had just created)."""
    from alembic.script import ScriptDirectory
    from importlib import resources

    code = ("import sys, time; from tamis.store.db import make_engine, migrate; engine = make_engine(sys.argv[1]); "
            "time.sleep(max(0.0, float(sys.argv[2]) - time.time())); migrate(engine)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    with throwaway_database(postgres_server(), migrated=False) as fresh:
        at = str(time.time() + 8)  # after every process has imported tamis
        procs = [subprocess.Popen([sys.executable, "-c", code, fresh, at], env=env, stderr=subprocess.PIPE)
                 for _ in range(4)]
        failures = [err.decode()[-500:] for p in procs for err in [p.communicate(timeout=120)[1]] if p.returncode]
        assert failures == []
        engine = make_engine(fresh)
        with engine.connect() as connection:
            version = connection.scalar(text("SELECT version_num FROM alembic_version"))
        engine.dispose()
    scripts = ScriptDirectory(str(resources.files("tamis.store").joinpath("migrations")))
    assert version == scripts.get_current_head()


def videos() -> list[bytes]:
    """Three 90 s videos whose picture changes every second (so no sampled frame repeats the one
    before and each is analyzed: ~92 frames in six batches, progress written between them): each is
    half-way for seconds, however fast the models. (At 30 s, two batches, a fast machine wrote no
    progress before the end: the kill never came.)"""
    shots = [photo(n) for n in ("chelsea.jpg", "coffee.jpg", "rocket.jpg")]
    return [encode([(1, shots[(i + s) % 3]) for s in range(90)], size=(160, 120), fps=2) for i in range(3)]


def traffic(clips: list[bytes]) -> list[Request]:
    """The videos, then up to 150 requests: 4 texts, or (one in 4) a photo. The test stops sending a
    few seconds after the kill; at 2 requests/s there is always a webhook to deliver until then.
    Photos are few: on 2 cores they would slow the workers' videos down more than they test."""
    jpegs = small_jpegs()
    plan = [video_request(f"video-{i}", v) for i, v in enumerate(clips)]
    for i in range(150):
        if i % 4 == 3:
            plan.append(image_request(f"img-{i}", [jpegs[i % len(jpegs)]]))
        else:
            plan.append(text_request(f"txt-{i}"))
    return plan


def video_jobs(engine: Engine) -> dict[str, Job]:
    with Session(engine) as session:
        return {j.id: j for j in session.scalars(select(Job).where(Job.kind == "moderate_video"))}


def settled(engine: Engine) -> bool:
    """No job left to run, no webhook left to deliver."""
    with Session(engine) as session:
        open_jobs = session.scalar(select(func.count()).select_from(Job).where(Job.status.in_(("pending", "running"))))
        pending = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "pending"))
    return open_jobs == 0 and pending == 0


def first_match_after(urls: list[str], headers: dict[str, str], value: str, entry_id: int, t0: float) -> dict[str, float]:
    """Match `value` through each API at PROBE_OFFSETS_S after t0 (all in parallel); per API, the first
    offset at which the entry was among the matches. The probe at 1 s must find it everywhere."""
    found: dict[tuple[str, float], bool] = {}
    errors: list[str] = []

    def probe(url: str, dt: float) -> None:
        time.sleep(max(0.0, t0 + dt - time.monotonic()))
        response = httpx.post(url + "/v1/match", headers=headers, json={"hashes": [{"signal": "pdq", "value": value}]},
                              timeout=30)
        if response.status_code != 200:
            errors.append(response.text)
            return
        found[(url, dt)] = any(m["entry_id"] == entry_id for m in response.json()["results"][0]["matches"])

    threads = [threading.Thread(target=probe, args=(url, dt)) for url in urls for dt in PROBE_OFFSETS_S]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(found[(url, 1.0)] for url in urls), found
    return {url: min(dt for dt in PROBE_OFFSETS_S if found[(url, dt)]) for url in urls}


@pytest.mark.postgresql_only  # several machines on one database
def test_two_apis_two_workers_a_worker_killed_nothing_lost(cluster_db: str, tmp_path: Path) -> None:
    started = time.monotonic()
    project = f"scale-{secrets.token_hex(3)}"
    key = create_key(cluster_db, project)
    headers = {"Authorization": f"Bearer {key}"}
    engine = make_engine(cluster_db)
    receiver = Receiver(delay_s=0.5, fail_first_every=5).start()
    outcomes: list[Outcome] = []
    enough = threading.Event()  # stop sending
    try:
        with Cluster(tmp_path, {**ENV, "TAMIS_DATABASE_URL": cluster_db}) as cluster:
            apis = [cluster.api("api-1"), cluster.api("api-2")]
            victim = cluster.worker("worker-1")
            clips = videos()  # encoded while the processes load their models
            plan = traffic(clips)
            cluster.wait_ready(cluster.procs)
            ready_s = time.monotonic() - started
            one, two = (str(api.url) for api in apis)
            hook = httpx.post(f"{one}/v1/webhooks", headers=headers, timeout=30,
                              json={"url": receiver.url, "verdicts": ["pass", "review", "block"]})
            assert hook.status_code == 201, hook.text
            receiver.secret = hook.json()["secret"]
            bank = httpx.post(f"{two}/v1/banks", headers=headers, json={"name": "known", "action": "block"}, timeout=30)
            assert bank.status_code == 201, bank.text

            sender = threading.Thread(target=lambda: outcomes.extend(
                drive(plan, [one, two], key, threads=3, rate_per_s=2.0, stop=enough)))
            sender.start()

            # worker-1 claims a video alone: that job is its own. Then worker-2 starts and takes another.
            wait_until(lambda: any(j.status == "running" for j in video_jobs(engine).values()), 90, "a video claimed")
            (mine,) = [i for i, j in video_jobs(engine).items() if j.status == "running"]
            cluster.wait_ready([cluster.worker("worker-2")])

            # kill -9 worker-1 when its video is half-way (still its first claim) and it sends a webhook.
            at_kill: dict[str, set[str]] = {}

            def caught_mid_work() -> bool:
                # Kill when it sends a webhook mid-video; past half-way, kill anyway (what it was sending,
                # if anything, is still checked below). One predicate: waiting for both moments first and
                # only then for "mid-video" once let the video finish in between, so the kill never came.
                in_flight = receiver.in_flight_from(victim)
                at_kill.update(deliveries=in_flight)
                job = video_jobs(engine)[mine]
                mid_video = job.status == "running" and job.attempts == 1 and 0 < job.progress < 1
                return mid_video and (bool(in_flight) or job.progress >= 0.5)

            wait_until(caught_mid_work, 120, "worker-1 half-way through its video", 0.02)
            victim.kill()
            kill_s = time.monotonic() - started
            cluster.wait_ready([cluster.worker("worker-3")])  # the replacement

            # A new bank entry, added through API 1, matched through both API processes.
            value = secrets.token_hex(32)  # a random hash: no image of the traffic is near it
            added = httpx.post(f"{one}/v1/banks/known/entries", headers=headers, timeout=30,
                               json=[{"signal": "pdq", "value": value}])
            assert added.status_code == 200, added.text
            first_seen = first_match_after([one, two], headers, value, added.json()["ids"][0], time.monotonic())

            time.sleep(2)  # traffic through the cluster as it now is, then stop sending
            enough.set()
            sender.join(180)
            assert not sender.is_alive(), "the traffic script did not finish"
            wait_until(lambda: settled(engine), 300, "every job to end and every webhook to be delivered", 0.25)
            assert all(proc.alive() for proc in cluster.procs if proc is not victim), "a process died"
    finally:
        enough.set()
        receiver.close()

    with Session(engine) as session:
        decisions = set(session.scalars(select(Decision.id).where(Decision.project_id == project)))
        items = session.execute(select(DecisionItem.decision_id, DecisionItem.data_id)
                                .where(DecisionItem.project_id == project)).all()
        jobs = {j.id: j for j in session.scalars(select(Job).where(Job.project_id == project))}
        deliveries = list(session.scalars(select(Delivery).where(Delivery.project_id == project)))
    engine.dispose()

    # Every request sent was accepted, and every accepted request has its decision, with its items.
    assert len(plan) > len(outcomes) > len(clips)
    refused = [(o.request.path, o.status, o.body) for o in outcomes if o.status not in (200, 202)]
    assert refused == [], refused
    data_ids_of: dict[str, set[str]] = {}
    decisions_of: dict[str, int] = {}
    for decision_id, data_id in items:
        data_ids_of.setdefault(decision_id, set()).add(data_id)
        decisions_of[data_id] = decisions_of.get(data_id, 0) + 1
    moderated = [o for o in outcomes if o.request.kind != "video"]
    for o in moderated:
        assert data_ids_of.get(o.body["id"]) == set(o.request.data_ids), o.body["id"]

    # Every job ended, done, once: one decision per video; the killed worker's video ran again elsewhere.
    submitted = {o.body["job"]["id"]: o.request.data_ids[0] for o in outcomes if o.request.kind == "video"}
    assert len(submitted) == len(clips) and set(submitted) <= set(jobs)
    assert {j.status for j in jobs.values()} == {"done"}, {j.id: (j.status, j.last_error) for j in jobs.values()}
    for job_id, data_id in submitted.items():
        assert decisions_of[data_id] == 1, data_id
        assert jobs[job_id].result["decision"] in decisions
    assert jobs[mine].attempts >= 2  # the killed worker's video ran again, elsewhere
    assert len(decisions) == len(moderated) + len(submitted)

    # Every decision's webhook was delivered, signed, at least once: those cut off by the kill too.
    assert sorted(d.decision_id for d in deliveries) == sorted(decisions)
    assert {d.status for d in deliveries} == {"delivered"}
    assert receiver.bad_signatures == 0
    assert [d.id for d in deliveries if receiver.seen.get(d.id, 0) < 1] == []
    assert at_kill["deliveries"] <= set(receiver.seen)  # what was in flight at the kill arrived
    assert receiver.refused, "no delivery was retried"

    twice = sum(n - 1 for n in receiver.seen.values())
    print(f"\nscale-out: processes ready in {ready_s:.1f} s, worker killed at {kill_s:.1f} s, "
          f"total {time.monotonic() - started:.1f} s; {len(outcomes)} requests, {len(decisions)} decisions, "
          f"{len(deliveries)} deliveries ({twice} received twice, {len(receiver.refused)} refused once), "
          f"new bank entry first matched after {first_seen[one]:.2f} s (API 1) / {first_seen[two]:.2f} s (API 2)")
