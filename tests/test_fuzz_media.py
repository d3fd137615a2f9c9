"""The malformed-media corpus (tests/malformed_media.py, over 1,000 items made at test time) through
the API: `/v1/moderate`, `/v1/hash` and `/v1/match` for images, `/v1/videos`, `/v1/hash` and
`/v1/match` for videos.

Every answer is a success or a 4xx problem document naming the field (never a 5xx, never an
exception); what was refused left no record. The time bounds are only a guard against hangs.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conftest import assert_problem, unlimited_key
from malformed_media import Sample, corpus, seeds
from tamis.store.db import transaction
from tamis.store.models import Decision, Job

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

CORPUS_SEED = int(os.environ.get("TAMIS_FUZZ_SEED", "10"))
# Every Nth image is judged under the default policy (every analyzer, OCR included); the others under a
# policy that runs the QR-code reader only, so that the corpus costs minutes, not tens of them.
FULL_POLICY_EVERY = 10
# Hang guards, not speed targets: generous for a busy 2-core machine.
ITEM_BOUND_S = 60.0
CORPUS_BOUND_S = 15 * 60.0
REFUSALS = {413, 415, 422}


@pytest.fixture(scope="module")
def samples() -> list[Sample]:
    made = corpus(CORPUS_SEED)
    assert len(made) >= 1000
    return made


@pytest.fixture(scope="module")
def corpus_project(client: TestClient) -> tuple[str, dict[str, str]]:
    project = "fuzz-media"
    auth = {"Authorization": f"Bearer {unlimited_key(project)}"}  # over 4,000 requests: no 429s
    response = client.put("/v1/policies/qr-only", headers=auth, json={"analyzers": ["links"]})
    assert response.status_code == 201, response.text
    return project, auth


def _count(model: Any, project: str) -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(model.project_id == project)) or 0


def _problem_names_the_file(response: Any) -> str | None:
    """Why the answer is wrong, or None: a success, or a 4xx problem document naming `file`."""
    if response.status_code in (200, 202):
        return None
    if response.status_code not in REFUSALS:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return f"HTTP {response.status_code} without a problem document"
    body = response.json()
    if body.get("status") != response.status_code or body.get("field") != "file" or not body.get("detail"):
        return f"HTTP {response.status_code} problem does not name the file: {body}"
    return None


def run_corpus(items: list[Sample], send: Callable[[int, Sample], Any]) -> dict[int, int]:
    """Send every item; fail with every wrong answer (not only the first), the slowest items and
    the time. Returns how many answers had each status."""
    wrong, took, statuses = [], [], {}
    started = time.perf_counter()
    for i, sample in enumerate(items):
        t0 = time.perf_counter()
        try:
            response = send(i, sample)
            why = _problem_names_the_file(response)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        except Exception as exc:  # an exception the app let through (TestClient re-raises it)
            why = f"{type(exc).__name__}: {exc}"
        took.append((time.perf_counter() - t0, sample.name))
        if why:
            wrong.append((sample.name, why))
    total = time.perf_counter() - started
    slowest = sorted(took, reverse=True)[:5]
    assert not wrong, (len(wrong), wrong[:20])
    assert slowest[0][0] < ITEM_BOUND_S, slowest
    assert total < CORPUS_BOUND_S, (total, slowest)
    return statuses


def _file(sample: Sample) -> dict[str, tuple[str, bytes]]:
    return {"file": (sample.name.replace("/", "_"), sample.data)}


@pytest.mark.models
def test_images_through_moderate(client: TestClient, samples: list[Sample], corpus_project) -> None:  # type: ignore[no-untyped-def]
    project, auth = corpus_project
    images = [s for s in samples if s.kind == "image"]
    before = _count(Decision, project)

    def send(i: int, sample: Sample) -> Any:
        policy = "default" if i % FULL_POLICY_EVERY == 0 else "qr-only"
        return client.post("/v1/moderate", headers=auth, files=_file(sample), data={"policy": policy, "data_id": sample.name})

    statuses = run_corpus(images, send)
    # Refused images left no decision; judged ones left one each.
    assert _count(Decision, project) - before == statuses.get(200, 0)
    # The corpus reaches both sides: images that still decode, and each kind of refusal.
    assert statuses.get(200, 0) >= 50 and statuses.get(422, 0) >= 50 and statuses.get(415, 0) >= 50, statuses
    assert statuses.get(413, 0) >= 5, statuses


@pytest.mark.parametrize("endpoint", ["/v1/hash", "/v1/match"])
def test_images_and_videos_through_hash_and_match(client: TestClient, samples: list[Sample], corpus_project, endpoint: str) -> None:  # type: ignore[no-untyped-def]
    _, auth = corpus_project
    statuses = run_corpus(samples, lambda i, sample: client.post(endpoint, headers=auth, files=_file(sample)))
    assert statuses.get(200, 0) >= 100 and statuses.get(415, 0) >= 50, statuses


def test_videos_through_videos(client: TestClient, samples: list[Sample], corpus_project) -> None:  # type: ignore[no-untyped-def]
    project, auth = corpus_project
    videos = [s for s in samples if s.kind == "video"]
    before = _count(Job, project)

    def send(i: int, sample: Sample) -> Any:
        return client.post("/v1/videos", headers=auth, files=_file(sample), data={"data_id": sample.name})

    statuses = run_corpus(videos, send)
    # Refused videos queued nothing; accepted ones one job each.
    assert _count(Job, project) - before == statuses.get(202, 0)
    assert statuses.get(202, 0) >= 20 and statuses.get(422, 0) >= 20, statuses


# --- regressions the corpus found (each failed with a 500 before its fix) ---------------------------------


@pytest.fixture(scope="module")
def mp4() -> bytes:
    return seeds(random.Random(1))["mp4"][0]


def test_a_video_whose_metadata_is_not_utf8_is_hashed_and_queued(client: TestClient, corpus_project, mp4: bytes) -> None:  # type: ignore[no-untyped-def]
    # PyAV decoded container tags as strict UTF-8: one flipped bit in the ftyp brand raised UnicodeDecodeError.
    data = mp4.replace(b"ftypisom", b"ftypis\xefm", 1)
    _, auth = corpus_project
    hashed = client.post("/v1/hash", headers=auth, files={"file": ("v.mp4", data)})
    assert hashed.status_code == 200, hashed.text
    assert hashed.json()["kind"] == "video" and hashed.json()["vpdq"]
    queued = client.post("/v1/videos", headers=auth, files={"file": ("v.mp4", data)})
    assert queued.status_code == 202, queued.text


def test_a_video_stream_without_a_decoder_is_refused_naming_the_file(client: TestClient, corpus_project, mp4: bytes) -> None:  # type: ignore[no-untyped-def]
    # A vmhd atom whose size swallows the sample table leaves the stream with no codec context.
    assert b"\x00\x00\x00\x14vmhd" in mp4
    data = mp4.replace(b"\x00\x00\x00\x14vmhd", b"\x00\x00\x00\x34vmhd", 1)
    _, auth = corpus_project
    for endpoint in ("/v1/hash", "/v1/match"):
        assert_problem(client.post(endpoint, headers=auth, files={"file": ("v.mp4", data)}), 415, "file")
    assert_problem(client.post("/v1/videos", headers=auth, files={"file": ("v.mp4", data)}), 422, "file")
