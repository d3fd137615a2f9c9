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


def steady_gop_video(seconds: int = 12, keyint: int = 30, fps: int = 30) -> bytes:
    """A pan (every frame differs) with a keyframe every `keyint` frames and none at scene cuts: how phones write."""
    big = photo("astronaut.jpg").resize((640, 240))

    def panned(t: float) -> Image.Image:
        x = int(t / seconds * (big.width - SIZE[0]))
        return big.crop((x, 0, x + SIZE[0], SIZE[1]))

    return encode([(seconds, panned)], fps=fps, x264=f"keyint={keyint}:min-keyint={keyint}:scenecut=0")


def test_only_what_the_samples_need_is_decoded_and_times_stay_exact() -> None:
    data = steady_gop_video(keyint=30)  # a keyframe every second, on the slots
    keyed, frames = sample(data)
    everything, all_frames = sample(data, sample_only=False)
    assert [f.t_ms for f in frames] == [f.t_ms for f in all_frames] == [i * 1000 for i in range(12)]
    assert everything.sent == everything.packets == 360
    assert keyed.sent == 12 and keyed.decoded == 12  # the keyframes, nothing else
    assert keyed.last_t_ms == everything.last_t_ms == 11967  # the stream's real end, decoded or not
    assert [f.pdq for f in frames] == [f.pdq for f in all_frames]  # the very same pictures

    data = steady_gop_video(keyint=60)  # a keyframe every 2 s: each group is decoded up to its 1 s slot
    sparse, frames = sample(data)
    _, all_frames = sample(data, sample_only=False)
    assert [f.t_ms for f in frames] == [f.t_ms for f in all_frames]  # the same frames (a B-frame's slot: the next one)
    assert [round(f.t_ms / 1000 - 0.05) for f in frames] == list(range(12))
    assert sparse.sent < sparse.packets * 0.6


def test_the_end_of_a_group_after_its_last_slot_is_not_decoded_but_a_cut_with_a_keyframe_is_seen() -> None:
    # two_scenes: x264 puts a keyframe on the cut at 4.5 s; the frames from 4.1 s to 4.4 s are not needed.
    sampler, frames = sample(two_scenes(cut_s=4.5))
    assert sampler.sent < sampler.packets
    assert [f.t_ms for f in frames if f.scene_change] == [4500]


def rotated_video(turn: int) -> tuple[bytes, Image.Image]:
    """A portrait picture stored turned, as a phone's camera writes it, with the display matrix that
    stands it up (`turn` degrees counter-clockwise, as FFmpeg and PyAV count)."""
    upright = fitted(photo("rocket.jpg"), (240, 320))
    stored = upright.rotate(-turn, expand=True)
    return encode([(2, stored)], size=stored.size, display_rotation=turn), upright


@pytest.mark.parametrize("turn", [90, -90, 180])
def test_phone_rotation_is_applied_so_frames_are_upright(turn: int) -> None:
    import numpy as np

    from tamis.media.near_duplicates import distance

    data, upright = rotated_video(turn)
    assert probe_video(data, field="file").width == (240 if turn == 180 else 320)  # stored on its side
    _, frames = sample(data)
    frame = frames[0]
    assert frame.image.image.size == (frame.image.width, frame.image.height) == upright.size == (240, 320)
    got = np.asarray(frame.image.image, dtype=np.int16)
    error = float(np.abs(got - np.asarray(upright, dtype=np.int16)).mean())
    upside_down = float(np.abs(got - np.asarray(upright.rotate(180), dtype=np.int16)).mean())
    assert error < 10 < upside_down, (error, upside_down)
    # The frame's hash (bank matching, vPDQ) is the upright picture's too.
    assert distance(frame.pdq.hex, pdq.pdq_hash(upright).hex) <= 31 < distance(frame.pdq.hex, pdq.pdq_hash(upright.rotate(180)).hex)


def test_vpdq_hashes_rotated_videos_upright() -> None:
    from tamis.hashing.vpdq import vpdq_hash
    from tamis.media.near_duplicates import distance

    data, upright = rotated_video(90)
    first = vpdq_hash(data)[0]
    assert distance(first.pdq, pdq.pdq_hash(upright).hex) <= 31


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
                           "frames": 11, "scene_changes": 1, "analyzed_frames": 2}  # two stills: analyzed once each
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


def test_a_long_still_shot_is_analyzed_a_few_times_and_its_range_covers_all_of_it(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    from tamis.analyzers import get_analyzer
    from tamis.schema import Item

    nsfw = get_analyzer("nsfw-image")
    stills = {name: sample(encode([(1, photo(name))]))[1][0] for name in ("astronaut.jpg", "chelsea.jpg")}
    score = {name: nsfw.analyze([Item(name, image=f.image)])[0].scores["sexual"] for name, f in stills.items()}
    assert score["astronaut.jpg"] > 10 * score["chelsea.jpg"]
    # A policy that flags the one picture and not the other, on any CPU: a threshold between their scores.
    threshold = (score["astronaut.jpg"] * score["chelsea.jpg"]) ** 0.5
    response = client.put("/v1/policies/strict", headers=auth,
                          json={"analyzers": ["nsfw-image"], "categories": {"sexual": {"review": threshold}}})
    assert response.status_code in (200, 201), response.text
    # chelsea 0-3 s, the flagged picture still for 37 s (3-40 s), chelsea again until 45 s
    job_id = queue_video(project, encode([(3, photo("chelsea.jpg")), (37, photo("astronaut.jpg")), (5, photo("chelsea.jpg"))]),
                         policy="strict")
    run_due(session_factory())
    (result,) = decision(job_id)["results"]
    assert result["verdict"] == "review"
    (flagged,) = [e for e in result["evidence"] if e["type"] == "frame"]
    assert (flagged["category"], flagged["t_ms"]) == ("sexual", 3000)
    assert 39000 <= flagged["end_ms"] < 40000  # the last sample of the shot: every second of it is covered
    done = job(job_id).result
    # 45 samples; the analyzers ran on the first frame of each shot and once per 15 s of the still shot.
    assert done["frames"] == 45 and 3 <= done["analyzed_frames"] <= 6, done
    assert any(f"analyzers ran on {done['analyzed_frames']} of them" in r for r in result["reasons"])


def test_near_duplicates_repeat_a_still_but_not_a_small_inset_nor_a_new_shot() -> None:
    import io

    from tamis.media.near_duplicates import MAX_REPEAT_MS, NearDuplicates

    still = fitted(photo("coffee.jpg"), SIZE)
    buffer = io.BytesIO()
    still.save(buffer, "JPEG", quality=70)
    recompressed = Image.open(buffer).convert("RGB")
    inset = still.copy()
    inset.paste(fitted(photo("astronaut.jpg"), (40, 30)), (270, 200))  # 1/64 of the frame, in a corner
    other = fitted(photo("rocket.jpg"), SIZE)
    duplicates = NearDuplicates()

    def repeat(t_ms: int, image: Image.Image) -> bool:
        return duplicates.repeat(t_ms, image, pdq.pdq_hash(image))

    assert not repeat(0, still)  # the first frame is analyzed
    assert repeat(1000, still) and repeat(2000, recompressed)
    assert not repeat(3000, inset)  # something appeared: analyzed, and the new anchor
    assert repeat(4000, inset)
    assert not repeat(4000 + MAX_REPEAT_MS, inset)  # still the same, but long enough: analyzed again
    assert not repeat(20000, other)
    assert duplicates.repeats == 3


def test_decoding_ahead_gives_what_is_ready_hands_over_the_decoder_error_and_stops_when_left() -> None:
    import itertools
    import threading

    from tamis.services.videos import decoded_ahead

    def broken():  # type: ignore[no-untyped-def]
        yield "frame 1"
        yield "frame 2"
        raise VideoDecodeError("video is corrupt or truncated: at 2 s")

    got = []
    with decoded_ahead(broken(), batch=1, depth=1) as batches, pytest.raises(VideoDecodeError, match="at 2 s"):
        for batch in batches:
            got += batch
    assert got == ["frame 1", "frame 2"]

    with decoded_ahead(iter(range(10)), batch=4) as batches:
        sizes = [len(b) for b in batches]
    assert sum(sizes) == 10 and max(sizes) <= 4

    with decoded_ahead(itertools.count(), batch=2, depth=4) as batches:  # endless: the consumer leaves
        assert 1 <= len(next(batches)) <= 2
    assert not [t for t in threading.enumerate() if t.name == "video-decode"]


def test_vpdq_decodes_only_the_sampled_frames_and_hashes_the_very_same_ones() -> None:
    import math

    from tamis.hashing.vpdq import vpdq_hash

    data = steady_gop_video(keyint=60)  # a pan with a keyframe every 2 s and B-frames
    every = vpdq_hash(data, fps=None, dedupe=False)
    due, next_slot = [], 0
    for frame in every:  # the reference's choice over every frame: the first at or after each 1 s slot
        if frame.t_ms + 0.5 >= next_slot * 1000:
            due.append(frame)
            next_slot = math.floor((frame.t_ms + 0.5) / 1000) + 1
    assert vpdq_hash(data, fps=1.0, dedupe=False) == due and len(due) == 12


def test_frames_are_hashed_at_full_size_only_when_a_bank_can_match_them(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    from tamis.store import queries

    def needs_full_size() -> bool:
        with transaction() as session:
            return queries.has_picture_bank_entries(session, project)

    assert not needs_full_size()
    response = client.post("/v1/banks", headers=auth, json={"name": "files", "category": "extremism", "action": "block"})
    assert response.status_code == 201, response.text
    response = client.post("/v1/banks/files/entries", headers=auth, json=[{"signal": "md5", "value": "0" * 32}])
    assert response.status_code == 200, response.text
    assert not needs_full_size()  # a file digest does not look at frames
    make_bank(client, auth, {"signal": "pdq", "value": pdq.pdq_hash(photo("coffee.jpg")).hex})
    assert needs_full_size()
    # Without: the 512 px working copy's hash, enough to find near-duplicate frames.
    _, cheap = sample(two_scenes(), full_size_hash=False)
    assert all(f.pdq == pdq.pdq_hash(f.image.image) for f in cheap)
