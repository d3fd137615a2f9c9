"""Video decoding and sampling (tamis.media.video), and the moderate_video job with the real analyzers
and hash matcher on videos encoded here with PyAV (known pictures at known times)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from tamis import config
from tamis.errors import ProblemError
from tamis.hashing import pdq
from tamis.services.jobs import run_due
from tamis.media.video import FrameSampler, VideoDecodeError, probe_video
from tamis.store.db import session_factory, transaction
from tamis.store.models import Decision, DecisionItem, Job, JobMedia
from video_maker import encode, fitted, photo, two_scenes

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_VIDEO = FIXTURES / "pdq" / "vpdq" / "sample-videos" / "test-padded-dimensions.mp4"
SIZE = (320, 240)


def sample(data: bytes, fps: float = 1.0, **options: object) -> tuple[FrameSampler, list]:  # type: ignore[type-arg]
    settings = config.get_settings()
    sampler = FrameSampler(data, fps=fps, scene_threshold=settings.video_scene_threshold, max_frames=1000,
                           settings=settings, **options)  # type: ignore[arg-type]
    return sampler, list(sampler)


# --- probing ------------------------------------------------------------------------------------


def test_probe_reads_container_codec_duration_size_and_rate() -> None:
    info = probe_video(two_scenes(), field="file")
    assert (info.container, info.codec, info.width, info.height, info.fps) == ("mov", "h264", 320, 240, 10.0)
    assert info.duration_s == pytest.approx(10.0, abs=0.05)


@pytest.mark.parametrize(("data", "status"), [
    (b"", 422),
    (b"hello, this is text and not a video at all", 415),
    ((FIXTURES / "benign" / "coffee.jpg").read_bytes(), 415),  # an image is not a video
])
def test_probe_refuses_what_is_not_a_video(data: bytes, status: int) -> None:
    with pytest.raises(ProblemError) as caught:
        probe_video(data, field="file")
    assert (caught.value.status, caught.value.field) == (status, "file")


def test_probe_calls_a_video_whose_index_is_cut_off_damaged() -> None:
    data = two_scenes()  # mp4 with its index (moov) at the end: half the file has none
    with pytest.raises(ProblemError) as caught:
        probe_video(data[: len(data) // 2], field="video_url")
    assert (caught.value.status, caught.value.field) == (422, "video_url")
    assert "damaged or truncated" in caught.value.detail


def test_probe_enforces_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = config.get_settings()
    data = two_scenes()
    for name, value, words in (("max_video_bytes", len(data) - 1, "bytes"), ("max_video_seconds", 9.0, "lasts 10.0 s"),
                               ("max_video_pixels", 320 * 240 - 1, "320x240")):
        with monkeypatch.context() as patch:
            patch.setattr(settings, name, value)
            with pytest.raises(ProblemError) as caught:
                probe_video(data, field="file")
            assert caught.value.status == 413 and words in caught.value.detail, caught.value.detail
    assert probe_video(data, field="file").duration_s  # at the defaults: fine


# --- sampling -----------------------------------------------------------------------------------


def test_samples_once_a_second_and_at_a_cut_between_samples() -> None:
    sampler, frames = sample(two_scenes(cut_s=4.5))
    times = [f.t_ms for f in frames]
    scene = [f.t_ms for f in frames if f.scene_change]
    assert scene == [4500]  # the cut, between the samples at 4 s and 5 s
    assert len(times) == 11 and times == sorted(times)
    regular = [t for t in times if t not in scene]
    # One per second (on the nearest decoded reference frame: B-frames are skipped, at most 1/10 s late).
    assert [round(t / 1000 - 0.05) for t in regular] == list(range(10))
    assert all(0 <= t % 1000 <= 100 for t in regular)
    assert sampler.scene_changes == 1 and sampler.sampled == 11
    first = frames[0].image
    assert (first.width, first.height, first.image.size, first.image.mode) == (320, 240, (320, 240), "RGB")


def test_every_frame_decoded_gives_exact_times() -> None:
    _, frames = sample(two_scenes(cut_s=4.5), skip_nonref=False)
    assert [f.t_ms for f in frames] == [0, 1000, 2000, 3000, 4000, 4500, 5000, 6000, 7000, 8000, 9000]


def test_a_pan_is_not_a_scene_change() -> None:
    big = photo("astronaut.jpg")

    def panned(t: float) -> Image.Image:  # a steady pan across the photo, 5 s long
        x = int(t / 5 * (big.width - 200))
        return big.resize((big.width, big.height)).crop((x, 100, x + 200, 250)).resize(SIZE)

    _, frames = sample(encode([(5, panned)]))
    assert [f.scene_change for f in frames] == [False] * 5


def test_working_copies_are_at_most_512_px() -> None:
    wide = encode([(1, photo("rocket.jpg"))], size=(1280, 720))
    _, frames = sample(wide)
    assert frames[0].image.image.size == (512, 288) and (frames[0].image.width, frames[0].image.height) == (1280, 720)


def test_the_sampling_rate_drops_to_fit_the_frame_limit() -> None:
    settings = config.get_settings()
    sampler = FrameSampler(two_scenes(), fps=1.0, scene_threshold=settings.video_scene_threshold, max_frames=5,
                           settings=settings, scene_detection=False)
    frames = list(sampler)
    assert sampler.rate == pytest.approx(0.5) and len(frames) == 5
    assert "instead of 1" in sampler.notes[0]


@pytest.mark.slow
def test_a_truncated_video_raises_a_clear_error() -> None:
    data = two_scenes(cut_s=4.5)
    mkv = encode([(4.5, photo("chelsea.jpg")), (5.5, photo("coffee.jpg"))], fmt="matroska")
    with pytest.raises(VideoDecodeError, match=r"truncated .*stopped at [0-9.]+ s of its 10.0 s"):
        sample(mkv[: len(mkv) // 2])
    assert len(sample(data)[1]) == 11  # the whole file: fine


def test_the_reference_sample_video_is_sampled() -> None:
    data = SAMPLE_VIDEO.read_bytes()
    info = probe_video(data, field="file")
    sampler, frames = sample(data)
    assert info.duration_s == 5.0 and sampler.last_t_ms == 4967  # 30 fps: the last frame starts at 4.967 s
    assert len(frames) == 5 + sampler.scene_changes
    assert frames[0].t_ms == 0 and all(b.t_ms > a.t_ms for a, b in zip(frames, frames[1:]))


# --- the job, with the real analyzers and bank matcher --------------------------------------------


def queue_video(project: str, data: bytes, data_id: str = "clip", policy: str = "default") -> str:
    from tamis.services.videos import enqueue_video

    info = probe_video(data, field="file")
    with transaction() as session:
        return enqueue_video(session, project, data, data_id=data_id, policy=policy, filename="clip.mp4",
                             info=info.as_dict()).id


def job(job_id: str) -> Job:
    with transaction() as session:
        return session.get(Job, job_id)  # type: ignore[return-value]


def decision(job_id: str) -> dict:  # type: ignore[type-arg]
    with transaction() as session:
        found = session.get(Job, job_id)
        assert found is not None and found.status == "done", (found.status, found.last_error)
        return session.get(Decision, found.result["decision"]).doc  # type: ignore[index, union-attr]


def make_bank(client, auth, *entries: dict) -> None:  # type: ignore[no-untyped-def, type-arg]
    response = client.post("/v1/banks", headers=auth, json={"name": "terror", "category": "extremism", "action": "block"})
    assert response.status_code == 201, response.text
    response = client.post("/v1/banks/terror/entries", headers=auth, json=list(entries))
    assert response.status_code == 200, response.text


@pytest.mark.models
def test_a_clean_video_passes_with_one_decision(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    job_id = queue_video(project, two_scenes(), data_id="holiday")
    run_due(session_factory())
    doc = decision(job_id)
    (result,) = doc["results"]
    assert (result["data_id"], result["verdict"]) == ("holiday", "pass")
    assert {c["name"] for c in result["categories"]} >= {"sexual", "violence/graphic"}  # the image analyzers ran
    assert not [e for e in result["evidence"] if e["type"] == "frame"]
    assert any("11 frames judged over 10.0 s (1 at scene changes)" in r for r in result["reasons"])
    assert {a["name"] for a in result["analyzers"]} >= {"nsfw-image", "image-safety", "hash-match"}
    done = job(job_id)
    assert done.result == {"decision": doc["id"], "verdict": "pass", "decision_url": f"/v1/decisions/{doc['id']}",
                           "frames": 11, "scene_changes": 1}
    with transaction() as session:
        assert session.get(JobMedia, job_id) is None  # the upload is gone
        assert session.scalar(select(func.count()).select_from(DecisionItem).where(
            DecisionItem.project_id == project, DecisionItem.data_id == "holiday")) == 1


@pytest.mark.models
def test_a_video_under_a_shadow_policy_gets_a_shadow_decision_too(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    """Every path records what the shadow policy would have decided; videos once did not."""
    cat, coffee = photo("chelsea.jpg"), photo("coffee.jpg")
    make_bank(client, auth, {"signal": "pdq", "value": pdq.pdq_hash(fitted(cat, SIZE)).hex, "label": "still"})
    shadow = {"shadow": True, "analyzers": ["nsfw-image"], "categories": {"sexual": {"review": 0.5, "block": None}}}
    assert client.put("/v1/policies/default", json=shadow, headers=auth).status_code == 201
    job_id = queue_video(project, encode([(3, coffee), (3, cat)]), data_id="clip-s")
    run_due(session_factory())
    enforced = decision(job_id)
    assert enforced["policy"] == {"id": "default", "version": 0, "shadow": False}
    assert enforced["results"][0]["verdict"] == "block"  # the bank's action, under the enforced policy
    with transaction() as session:
        rows = session.scalars(select(Decision).where(Decision.project_id == project, Decision.shadow.is_(True))).all()
        (row,) = rows
        assert (row.source, row.policy_version) == ("video", 1)
        (result,) = row.doc["results"]
    assert row.doc["policy"] == {"id": "default", "version": 1, "shadow": True}
    assert result["data_id"] == "clip-s" and row.doc["id"] != enforced["id"]
    # the shadow policy's own analyzers (the banks apply to both) and its own thresholds
    assert {a["name"] for a in result["analyzers"]} == {"nsfw-image", "hash-match"}
    assert {a["name"] for a in enforced["results"][0]["analyzers"]} >= {"nsfw-image", "image-safety", "hash-match"}
    assert [e["t_ms"] for e in result["evidence"] if e["type"] == "frame"] == [
        e["t_ms"] for e in enforced["results"][0]["evidence"] if e["type"] == "frame"]


@pytest.mark.models
def test_a_segment_matching_a_bank_is_flagged_at_its_times(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    cat, coffee = photo("chelsea.jpg"), photo("coffee.jpg")
    banned = pdq.pdq_hash(fitted(cat, SIZE)).hex  # as a platform would have banked a still of it
    make_bank(client, auth, {"signal": "pdq", "value": banned, "label": "still-17"})
    # coffee 0-3 s, the banned picture 3-6.5 s, coffee again until 10 s
    job_id = queue_video(project, encode([(3, coffee), (3.5, cat), (3.5, coffee)]))
    run_due(session_factory())
    (result,) = decision(job_id)["results"]
    assert result["verdict"] == "block"
    frames = [e for e in result["evidence"] if e["type"] == "frame"]
    assert frames == [{"type": "frame", "t_ms": 3000, "end_ms": 6000, "category": "extremism", "score": 1.0,
                       "analyzer": "hash-match"}]
    (match,) = [e for e in result["evidence"] if e["type"] == "bank_match"]
    assert (match["bank"], match["entry"], match["signal"]) == ("terror", "still-17", "pdq") and match["distance"] <= 31
    assert {c["name"]: c["score"] for c in result["categories"]}["extremism"] == 1.0


@pytest.mark.models
def test_the_sample_video_matches_its_vpdq_bank_entry(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    from tamis.hashing.vpdq import parse_vpdq_file

    reference = parse_vpdq_file((FIXTURES / "pdq" / "vpdq" / "sample-hashes" / "test-padded-dimensions.txt").read_text())
    once_a_second = [f for f in reference if f.t_ms % 1000 == 0]  # the reference's hashes of frames 0, 30, 60...
    assert len(once_a_second) == 5
    make_bank(client, auth, {"signal": "vpdq", "label": "sample",
                             "value": [{"t_ms": f.t_ms, "pdq": f.pdq, "quality": f.quality} for f in once_a_second]})
    job_id = queue_video(project, SAMPLE_VIDEO.read_bytes())
    run_due(session_factory())
    (result,) = decision(job_id)["results"]
    (match,) = [e for e in result["evidence"] if e["type"] == "bank_match"]
    assert (match["signal"], match["entry"]) == ("vpdq", "sample")
    assert result["verdict"] == "block"
    assert not [e for e in result["evidence"] if e["type"] == "frame"]  # a whole-video match has no time range


@pytest.mark.models
def test_a_truncated_video_fails_its_job_at_once_and_the_runner_goes_on(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    mkv = encode([(4.5, photo("chelsea.jpg")), (5.5, photo("coffee.jpg"))], fmt="matroska")
    broken = queue_video(project, mkv[: len(mkv) // 2], data_id="broken")
    fine = queue_video(project, two_scenes(), data_id="fine")
    assert run_due(session_factory()) >= 2
    failed = job(broken)
    assert (failed.status, failed.attempts) == ("failed", 1)  # no retries: another try cannot help
    assert failed.last_error.startswith("video is truncated or corrupt: decoding stopped at")
    assert job(fine).status == "done"
    with transaction() as session:
        assert session.get(JobMedia, broken) is None
        assert session.scalar(select(func.count()).select_from(DecisionItem).where(
            DecisionItem.project_id == project, DecisionItem.data_id == "broken")) == 0
