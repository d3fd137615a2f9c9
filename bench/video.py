"""Video moderation speed, against decoding alone measured in the same run (issue #5's target).

    python bench/video.py [--seconds 60]

Encodes (with PyAV, into a temporary folder) a 1280x720 30 fps H.264 video: the photos of
tests/fixtures/benign panned across the frame with a moving overlay, cut to the next photo every
6 s and once mid-shot. Then measures, each on the same bytes:

- decoding alone at 1 frame/s (the anchor): the stream decoded as the job decodes it (non-reference
  frames skipped) and each sampled frame made into its 512 px working copy;
- the same with every frame decoded (what skipping non-reference frames saves), and with scene
  detection on (its cost), and with the frames PDQ-hashed at their own size (its cost);
- the full moderation: the real `moderate_video` job on a fresh SQLite database (sampling, the
  default policy's analyzers, hashing and bank matching, decision, record), models loaded before.

Target: the full moderation of 60 s under 6 s on 2 cores (10x real time). Also prints how far
PDQ hashes of the 512 px working copies are from hashes of the frames at their own size.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
FPS, SIZE, SHOT_S = 30, (1280, 720), 6.0


def make_video(path: Path, seconds: int) -> None:
    import av
    from PIL import Image

    photos = [Image.open(p).convert("RGB") for p in sorted((ROOT / "tests" / "fixtures" / "benign").glob("*.jpg"))]
    # Each photo once at 1.5x the frame height: a frame is a window panned across it (slicing, no resampling).
    wide = []
    for im in photos:
        scale = max(1.5 * SIZE[1] / im.height, 1.2 * SIZE[0] / im.width)
        wide.append(np.asarray(im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.BILINEAR)))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}  # CABAC, B-frames, scene-cut keyframes: a usual upload
        for i in range(seconds * FPS):
            t = i / FPS
            shot = int(t // SHOT_S) * 2 + (t % SHOT_S >= SHOT_S * 0.55)  # a second cut mid-shot, between samples
            source = wide[shot % len(wide)]
            u = (t % SHOT_S) / SHOT_S
            x = int((source.shape[1] - SIZE[0]) * (u if shot % 2 else 1 - u))
            y = int((source.shape[0] - SIZE[1]) * 0.5 * (1 + np.sin(2 * np.pi * u)) / 2)
            frame = np.ascontiguousarray(source[y : y + SIZE[1], x : x + SIZE[0]])
            bx = int((SIZE[0] - 160) * u)  # a moving caption bar
            frame[600:660, bx : bx + 160] = (240, 240, 240)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def sampler_seconds(data: bytes, **options: object) -> tuple[float, object]:
    from tamis.config import get_settings
    from tamis.media.video import FrameSampler

    settings = get_settings()
    sampler = FrameSampler(data, fps=1.0, scene_threshold=settings.video_scene_threshold,
                           max_frames=settings.video_max_frames, settings=settings, **options)  # type: ignore[arg-type]
    start = time.perf_counter()
    frames = list(sampler)
    return time.perf_counter() - start, (sampler, frames)


def best_of(n: int, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    runs = [fn(*args, **kwargs) for _ in range(n)]
    return min(r[0] for r in runs), runs[0][1]


def moderate_seconds(data: bytes) -> tuple[float, dict]:  # type: ignore[type-arg]
    from tamis.analyzers import get_analyzer
    from tamis.services.jobs import run_due
    from tamis.services.videos import enqueue_video
    from tamis.media.video import probe_video
    from tamis.engine.policy import default_body
    from tamis.store import queries
    from tamis.store.db import session_factory, transaction
    from tamis.store.models import Decision, Job

    for name in default_body().analyzers:
        get_analyzer(name)  # models load once per process: not part of a video's cost
    info = probe_video(data, field="file")
    with transaction() as session:
        queries.ensure_project(session, "bench")
        job_id = enqueue_video(session, "bench", data, data_id="bench", policy="default", filename="bench.mp4",
                               info=info.as_dict()).id
    start = time.perf_counter()
    run_due(session_factory())
    elapsed = time.perf_counter() - start
    with transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == "done", (job.status if job else None, job.last_error if job else None)
        doc = session.get(Decision, job.result["decision"]).doc  # type: ignore[index, union-attr]
    return elapsed, doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tamis-bench-video-") as folder:
        os.environ["TAMIS_DATA_DIR"] = folder  # a fresh SQLite database for the job
        from tamis.hashing import pdq

        path = Path(folder) / "bench.mp4"
        start = time.perf_counter()
        make_video(path, args.seconds)
        data = path.read_bytes()
        print(f"video: {SIZE[0]}x{SIZE[1]} {FPS} fps H.264, {args.seconds} s, {len(data) / 1e6:.1f} MB "
              f"(encoded in {time.perf_counter() - start:.1f} s); {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")

        anchor, (sampler, frames) = best_of(2, sampler_seconds, data, scene_detection=False, hash_frames=False)
        every, _ = best_of(1, sampler_seconds, data, scene_detection=False, hash_frames=False, skip_nonref=False)
        scenes, (scene_sampler, _) = best_of(2, sampler_seconds, data, hash_frames=False)
        hashed, (_, hashed_frames) = best_of(2, sampler_seconds, data)
        total, doc = moderate_seconds(data)

        rt = args.seconds
        print(f"decoding alone at 1 frame/s (anchor): {anchor:.2f} s = {rt / anchor:.1f}x real time "
              f"({sampler.decoded} frames decoded, {sampler.sampled} sampled)")
        print(f"  decoding every frame instead:        {every:.2f} s (skipping non-reference frames saves {1 - anchor / every:.0%})")
        print(f"  + scene detection:                   {scenes:.2f} s (of which {scene_sampler.scene_s:.3f} s in scene "
              f"detection over {scene_sampler.decoded} frames; "
              f"{scene_sampler.scene_changes} sampled at scene changes; "
              f"{args.seconds // int(SHOT_S)} cuts fall between 1 s samples)")
        print(f"  + PDQ of each sampled frame:         {hashed:.2f} s (+{hashed - scenes:.2f} s)")
        result = doc["results"][0]
        per_analyzer = ", ".join(f"{a['name']} {a['ms'] / 1000:.2f} s" for a in result["analyzers"])
        print(f"full moderation at 1 frame/s:          {total:.2f} s = {rt / total:.1f}x real time; "
              f"ratio to the anchor {total / anchor:.1f}x; verdict {result['verdict']}")
        print(f"  analyzers: {per_analyzer}")
        print(f"  target: under 6 s for 60 s (10x real time): {'met' if total < 6 * args.seconds / 60 else 'NOT met'}")
        distances = [int(np.unpackbits(np.frombuffer(bytes.fromhex(pdq.pdq_hash(f.image.image).hex), np.uint8)
                                       ^ np.frombuffer(bytes.fromhex(f.pdq.hex), np.uint8)).sum())
                     for f in hashed_frames]
        print(f"PDQ of the 512 px working copy vs the frame at its own size: median {np.median(distances):.0f} bits, "
              f"max {max(distances)} ({len(distances)} frames)")


if __name__ == "__main__":
    main()
