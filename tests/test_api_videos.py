"""`POST /v1/videos` and `GET /v1/jobs/{id}`: bad input refused before anything is stored, a job
that reports progress and ends in one decision (announced by webhook), and a worker killed in the
middle of a video whose job another worker then completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tamis import config
from tamis.services.jobs import run_due
from tamis.store.db import session_factory, transaction
from tamis.store.models import DecisionItem, Delivery, Job, JobMedia
from video_maker import encode, photo, two_scenes
from conftest import assert_problem

FIXTURES = Path(__file__).parent / "fixtures"
SRC = Path(__file__).parent.parent / "src"


def submit(client, auth, data: bytes, **fields: str):  # type: ignore[no-untyped-def]
    return client.post("/v1/videos", headers=auth, files={"file": ("clip.mp4", data, "video/mp4")}, data=fields)



def stored(project: str) -> tuple[int, int]:
    """(jobs, uploads) stored for the project."""
    with transaction() as session:
        jobs = session.scalar(select(func.count()).select_from(Job).where(Job.project_id == project))
        uploads = session.scalar(select(func.count()).select_from(JobMedia).join(Job, Job.id == JobMedia.job_id)
                                 .where(Job.project_id == project))
        return int(jobs or 0), int(uploads or 0)


def job_doc(client, auth, job_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.get(f"/v1/jobs/{job_id}", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def settings() -> config.Settings:
    return config.get_settings()


# --- accepted -------------------------------------------------------------------------------------


@pytest.mark.models
def test_upload_is_queued_then_judged_and_the_job_shows_the_decision(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    response = submit(client, auth, two_scenes(), data_id="reel-1")
    assert response.status_code == 202, response.text
    body = response.json()
    job_id = body["job"]["id"]
    assert body["job"] == {"id": job_id, "kind": "moderate_video", "status": "pending", "progress": 0.0}
    assert body["status_url"] == f"/v1/jobs/{job_id}" == response.headers["location"]
    assert body["video"]["codec"] == "h264" and body["video"]["duration_s"] == pytest.approx(10.0, abs=0.05)
    assert stored(project) == (1, 1)

    run_due(session_factory())
    done = job_doc(client, auth, job_id)
    assert (done["status"], done["progress"], done["error"]) == ("done", 1.0, None)
    result = done["result"]
    assert result["verdict"] == "pass" and result["frames"] == 11 and result["scene_changes"] == 1
    decision = client.get(result["decision_url"], headers=auth).json()
    assert decision["id"] == result["decision"] and decision["results"][0]["data_id"] == "reel-1"
    assert stored(project) == (1, 0)  # the upload is deleted once judged


@pytest.mark.slow
def test_video_by_url(client, auth, project: str, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    video = two_scenes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(video)))
            self.end_headers()
            self.wfile.write(video)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v/clip.mp4"
    try:
        refused = client.post("/v1/videos", headers=auth, json={"data_id": "u1", "video_url": url})
        assert "refused" in assert_problem(refused, 422, "video_url")["detail"]  # loopback, by default
        monkeypatch.setattr(settings, "fetch_allow_private", True)
        monkeypatch.setattr(settings, "max_image_bytes", 1000)  # the video limit applies, not the image one
        response = client.post("/v1/videos", headers=auth, json={"data_id": "u1", "video_url": url})
        assert response.status_code == 202, response.text
        monkeypatch.setattr(settings, "max_video_bytes", len(video) - 1)
        assert_problem(client.post("/v1/videos", headers=auth, json={"data_id": "u2", "video_url": url}), 413, "video_url")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert stored(project) == (1, 1)


@pytest.mark.models
def test_the_decision_is_announced_by_webhook(client, auth, project: str, allow_loopback_webhooks) -> None:  # type: ignore[no-untyped-def]
    hook = client.post("/v1/webhooks", headers=auth, json={"url": "http://127.0.0.1:9/hooks", "verdicts": ["pass", "review", "block"]})
    assert hook.status_code == 201, hook.text
    job_id = submit(client, auth, two_scenes(), data_id="reel-2").json()["job"]["id"]
    run_due(session_factory())
    decision_id = job_doc(client, auth, job_id)["result"]["decision"]
    with transaction() as session:
        (delivery,) = session.scalars(select(Delivery).where(Delivery.project_id == project))
        assert delivery.decision_id == decision_id and '"reel-2"' in delivery.body
        delivery.status, delivery.last_error = "failed", "settled at test teardown"  # nobody listens on port 9


# --- refused, with nothing stored -----------------------------------------------------------------


def test_bad_uploads_are_refused_naming_the_field(client, auth, project: str, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    video = two_scenes()
    assert_problem(submit(client, auth, b"plain text, not a video"), 415, "file")
    assert_problem(submit(client, auth, (FIXTURES / "benign" / "coffee.jpg").read_bytes()), 415, "file")
    assert_problem(submit(client, auth, b""), 422, "file")
    body = assert_problem(submit(client, auth, video[: len(video) // 2]), 422, "file")  # index cut off
    assert "damaged or truncated" in body["detail"]
    assert_problem(submit(client, auth, video, policy="Bad Name"), 422, "policy")
    assert_problem(submit(client, auth, video, policy="nope"), 404, "policy")
    assert_problem(client.post("/v1/videos", headers={**auth, "Content-Type": "video/mp4"}, content=video), 415, "Content-Type")
    assert_problem(client.post("/v1/videos", headers=auth, json={"data_id": "x"}), 422, "video_url")
    for name, value, words in (("max_video_bytes", len(video) - 1, "bytes"), ("max_video_seconds", 5.0, "lasts 10.0 s"),
                               ("max_video_pixels", 320 * 200, "320x240")):
        with monkeypatch.context() as patch:
            patch.setattr(settings, name, value)
            assert words in assert_problem(submit(client, auth, video), 413, "file")["detail"]
    assert stored(project) == (0, 0)


@pytest.mark.models
def test_a_corrupt_video_fails_its_job_with_the_reason_and_other_jobs_run(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    mkv = encode([(4.5, photo("chelsea.jpg")), (5.5, photo("coffee.jpg"))], fmt="matroska")
    broken = submit(client, auth, mkv[: len(mkv) // 2], data_id="cut").json()["job"]["id"]
    fine = submit(client, auth, two_scenes(), data_id="whole").json()["job"]["id"]
    run_due(session_factory())
    failed = job_doc(client, auth, broken)
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert "truncated or corrupt: decoding stopped at" in failed["error"] and failed["result"] is None
    assert job_doc(client, auth, fine)["status"] == "done"
    assert stored(project) == (2, 0)


@pytest.mark.models
def test_jobs_are_project_scoped(client, auth, key: str) -> None:  # type: ignore[no-untyped-def]
    from tamis.store import queries

    job_id = submit(client, auth, two_scenes()).json()["job"]["id"]
    with transaction() as session:
        _, other = queries.create_key(session, "another-project")
    response = client.get(f"/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 404
    run_due(session_factory())


# --- a worker killed in the middle ----------------------------------------------------------------


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen]]:  # type: ignore[type-arg]
    started: list[subprocess.Popen] = []  # type: ignore[type-arg]
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def start_worker(workers: list) -> subprocess.Popen:  # type: ignore[type-arg]
    """A job runner in its own process on the same database, with a 4 s lease."""
    env = {**os.environ, "TAMIS_JOB_LEASE_S": "4", "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    code = ("import time; from tamis.services.jobs import JobLoop; from tamis.store.db import session_factory; "
            "JobLoop(session_factory(), poll_s=0.1).start(); time.sleep(3600)")
    process = subprocess.Popen([sys.executable, "-c", code], env=env)
    workers.append(process)
    return process


def wait_for(predicate, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_job_whose_worker_is_killed_is_completed_by_another_with_one_decision(client, auth, project: str, workers) -> None:  # type: ignore[no-untyped-def]
    # 96 s at 1 frame/s whose picture changes every second (so no sampled frame repeats the one before
    # and all 96 are analyzed, in six batches): the job runs long enough to be seen half-way. Progress
    # is written between batches at most once a second (services/videos.py: RENEW_EVERY_S); at 48 s, three
    # batches, a fast worker wrote it only once, just before the end, and the test once missed it.
    shots = [photo(n) for n in ("chelsea.jpg", "coffee.jpg", "rocket.jpg")]
    video = encode([(1, shots[s % 3]) for s in range(96)], size=(160, 120), fps=5)
    job_id = submit(client, auth, video, data_id="long").json()["job"]["id"]
    first = start_worker(workers)
    seen: list[dict[str, Any]] = []

    def half_way() -> bool:
        seen.append(job_doc(client, auth, job_id))
        return seen[-1]["status"] == "running" and 0 < seen[-1]["progress"] < 1

    wait_for(half_way, 120, "the first worker to be half-way")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert seen[-1]["attempts"] == 1 and seen[-1]["result"] is None
    start_worker(workers)  # takes the job over once the killed worker's lease (4 s) has run out
    wait_for(lambda: job_doc(client, auth, job_id)["status"] == "done", 180, "the second worker to finish")
    done = job_doc(client, auth, job_id)
    assert done["attempts"] == 2 and done["result"]["frames"] == 96
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(DecisionItem).where(
            DecisionItem.project_id == project, DecisionItem.data_id == "long")) == 1
