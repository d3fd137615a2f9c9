"""The `moderate_video` job: a video's sampled frames through the policy's analyzers and the hash
banks, one decision for the video, its webhooks.

The upload waits in `job_media` (in the database, so any worker on any machine can run the job).
Frames are judged in batches; after each batch the job's progress is written and its lease
renewed. The decision, its webhook deliveries, the job's end and the upload's removal commit in
one transaction that first checks the job is still this runner's (queue.complete): a runner that
died or lost its lease records nothing, and the job's next run starts over, so a video gets
exactly one decision. A video that turns out damaged fails the job at once (JobFailed).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import av
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from tamis.banks.analyzer import HashMatch
from tamis.config import get_settings
from tamis.hashing import digests, pdq
from tamis.banks.matcher import get_matcher, match_hashes, match_vpdq
from tamis.hashing.vpdq import FrameHash
from tamis.schema import AnalyzerRun, DecisionDoc, Item, ItemResult, PolicyRef, Signal
from tamis.jobs.queue import JobFailed, complete, current_attempt, handler, renew
from tamis.media.video import FrameSampler, SampledFrame, VideoDecodeError
from tamis.engine.policy import Policy, decide
from tamis.store import queries
from tamis.store.models import Job, JobMedia, new_id
from tamis.engine.video_signals import JudgedFrame, flagged_ranges, video_signals

KIND = "moderate_video"
# Frames per analyzer batch: big enough for the models' batching, small enough for fresh progress.
BATCH = 16


def enqueue_video(session: Session, project: str, data: bytes, *, data_id: str, policy: str, filename: str,
                  info: dict[str, Any]) -> Job:
    """Queue a checked video (media.video.probe_video) with its upload, in the caller's transaction."""
    from tamis.jobs.queue import enqueue

    job = enqueue(session, project, KIND, {"data_id": data_id, "policy": policy, "video": info})
    session.add(JobMedia(job_id=job.id, filename=filename[:256], size=len(data), data=data))
    return job


def _batches(frames: Iterable[SampledFrame], size: int) -> Iterator[list[SampledFrame]]:
    batch: list[SampledFrame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class VideoJudge:
    """Judges one video's frames batch by batch, then the video."""

    def __init__(self, project: str, policy: Policy, data: bytes, data_id: str) -> None:
        self.project, self.policy, self.data, self.data_id = project, policy, data, data_id
        self.digests = {"md5": digests.md5_hex(data), "sha256": digests.sha256_hex(data)}
        self.hasher = HashMatch(project)  # builds hash-match signals (bank rules: negative, shadow, roll-out)
        self.frames: list[JudgedFrame] = []
        self.frame_hashes: list[FrameHash] = []
        self.ms: dict[tuple[str, str], float] = {}

    def judge_batch(self, batch: list[SampledFrame]) -> None:
        from tamis.services.moderation import analyze  # late: the pipeline imports the analyzers

        items = [Item(f"{self.data_id}@{f.t_ms}", image=f.image) for f in batch]
        signals, runs = analyze(self.project, self.policy, items, hash_match=False)
        for item_runs in runs:
            for run in item_runs:
                self.ms[(run.name, run.version)] = self.ms.get((run.name, run.version), 0.0) + run.ms
        start = time.perf_counter()
        hashed = [f.pdq or pdq.pdq_hash(f.image.image) for f in batch]
        queries_ = [{"pdq": [h.hex] if h.quality >= pdq.MIN_QUALITY else []} for h in hashed]
        with self._session() as session:
            # One frame per call: match_hashes gives each bank entry to one query of a batch only.
            hits = [match_hashes(session, get_matcher(), self.project, [q])[0] for q in queries_]
        for frame, h, frame_hits, frame_signals in zip(batch, hashed, hits, signals):
            self.frame_hashes.append(FrameHash(frame.t_ms, h.hex, h.quality))
            hashes = {"pdq_hex": h.hex, "pdq_quality": str(h.quality), **self.digests}
            # The video's SHA-256 places every frame in or out of a bank's staged roll-out together.
            frame_signals.append(self.hasher._signal(hashes, frame_hits))
            self.frames.append(JudgedFrame(frame.t_ms, frame_signals))
        key = (self.hasher.name, self.hasher.version)
        self.ms[key] = self.ms.get(key, 0.0) + (time.perf_counter() - start) * 1000

    def _session(self) -> Session:
        from tamis.store.db import session_factory

        return session_factory()()

    def whole_video(self) -> Signal:
        """The video's digests (exact) and its frames' vPDQ against the banks."""
        with self._session() as session:
            (hits,) = match_hashes(session, get_matcher(), self.project, [dict(self.digests)])
            hits += [hit for hit, _ in match_vpdq(session, self.project, self.frame_hashes)]
        return self.hasher._signal({"pdq_hex": "", "pdq_quality": "0", **self.digests}, hits)

    def decision(self, sampler: FrameSampler, interval_ms: float) -> DecisionDoc:
        signals = video_signals(self.policy, self.frames, [self.whole_video()])
        outcome = decide(self.policy, signals)
        duration = sampler.info.duration_s if sampler.info and sampler.info.duration_s else sampler.last_t_ms / 1000
        reasons = [*outcome.reasons, f"{sampler.sampled} frames judged over {duration:.1f} s "
                   f"({sampler.scene_changes} at scene changes)", *sampler.notes]
        result = ItemResult(
            data_id=self.data_id, verdict=outcome.verdict, categories=outcome.categories,
            evidence=[*flagged_ranges(self.policy, self.frames, interval_ms), *(e for s in signals for e in s.evidence)],  # type: ignore[list-item]
            analyzers=[AnalyzerRun(name=n, version=v, ms=round(ms, 3)) for (n, v), ms in self.ms.items()],
            reasons=reasons,
        )
        return DecisionDoc(id=new_id("dec"), project=self.project,
                           policy=PolicyRef(id=self.policy.id, version=self.policy.version, shadow=False),
                           created_at=datetime.now(UTC).isoformat(), results=[result])


def _load(sessions: sessionmaker[Session], job_id: str, project: str, policy_id: str) -> tuple[bytes, Policy]:
    with sessions() as session:
        data = session.scalar(select(JobMedia.data).where(JobMedia.job_id == job_id))
        if data is None:
            raise JobFailed("the video's upload is gone (job_media row missing)")
        try:
            policy, _ = queries.active_policies(session, project, policy_id)
        except LookupError:
            raise JobFailed(f"policy {policy_id!r} no longer exists") from None
    return data, policy


@handler(KIND)
def moderate_video(sessions: sessionmaker[Session], job_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    from tamis.services.moderation import record

    with sessions() as session:
        project = session.scalar(select(Job.project_id).where(Job.id == job_id))
    attempt = current_attempt(sessions, job_id)
    data, policy = _load(sessions, job_id, str(project), payload["policy"])
    settings = get_settings()
    sampler = FrameSampler(data, fps=settings.video_fps, scene_threshold=settings.video_scene_threshold,
                           max_frames=settings.video_max_frames, settings=settings)
    judge = VideoJudge(str(project), policy, data, payload["data_id"])
    duration_ms = 1000 * float((payload.get("video") or {}).get("duration_s") or 0)
    try:
        for batch in _batches(sampler, BATCH):
            judge.judge_batch(batch)
            progress = batch[-1].t_ms / duration_ms if duration_ms else 0.5
            renew(sessions, job_id, attempt, min(0.99, progress))
    except VideoDecodeError as exc:
        raise JobFailed(str(exc)) from None
    except av.FFmpegError as exc:  # the decoder gave up in a way the sampler did not foresee
        raise JobFailed(f"video could not be decoded: {exc}") from None
    doc = judge.decision(sampler, 1000 / (sampler.rate or settings.video_fps))
    verdict = doc.results[0].verdict
    result = {"decision": doc.id, "verdict": verdict, "decision_url": f"/v1/decisions/{doc.id}",
              "frames": sampler.sampled, "scene_changes": sampler.scene_changes}
    with sessions.begin() as session:
        complete(session, job_id, attempt, result)  # first: LeaseLost rolls everything back
        record(session, doc, shadow=False, source="video", hashes=[judge.digests])
        session.execute(delete(JobMedia).where(JobMedia.job_id == job_id))
    return result
