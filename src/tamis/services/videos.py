"""The `moderate_video` job: a video's sampled frames through the policy's analyzers and the hash
banks, one decision for the video (and one under its shadow policy, if any), its webhooks.

The upload waits in `job_media` (in the database, so any worker on any machine can run the job).
A thread decodes the sampled frames while the analyzers run on the previous ones (decoding and
inference overlap). Frames are judged in batches; a frame that repeats the last analyzed one
(media.near_duplicates) takes its signals without running the analyzers again, its bank matching
is its own. After each batch the job's progress is written (a heartbeat renews its lease meanwhile). The decision, its webhook deliveries, the job's end and the upload's removal commit in
one transaction that first checks the job is still this runner's (queue.complete): a runner that
died or lost its lease records nothing, and the job's next run starts over, so a video gets
exactly one decision. A video that turns out damaged fails the job at once (JobFailed).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import av
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from tamis.banks.matcher import get_matcher, match_hashes, match_vpdq
from tamis.banks.rules import NAME, VERSION, bank_signal
from tamis.config import get_settings
from tamis.engine import judge as engine
from tamis.engine.decision import decision, item_result
from tamis.engine.policy import Policy
from tamis.engine.video_signals import JudgedFrame, flagged, flagged_ranges, video_signals
from tamis.hashing import digests, pdq
from tamis.hashing.vpdq import FrameHash
from tamis.jobs.queue import JobFailed, complete, current_attempt, enqueue, handler, renew
from tamis.media.near_duplicates import NearDuplicates
from tamis.media.thumbnails import Thumbnail, blurred_thumbnail
from tamis.media.video import FrameSampler, SampledFrame, VideoDecodeError
from tamis.schema import AnalyzerRun, DecisionDoc, Item, Signal
from tamis.services import review_media
from tamis.services.moderation import active_policies, record
from tamis.store import queries
from tamis.store.db import session_factory
from tamis.store.models import Job, JobMedia

KIND = "moderate_video"
# Frames per analyzer batch: big enough for the models' batching, small enough for fresh progress.
BATCH = 16
# Frames decoded ahead of the analyzers: the next batch is ready when the current one is done.
AHEAD = 2 * BATCH
# Frames kept (blurred, like thumbnails) for the video's reviewers: flagged ones only, at most this
# many, at least REVIEW_FRAME_GAP_MS apart; they follow TAMIS_MEDIA_RETENTION_DAYS like thumbnails.
REVIEW_FRAMES = 12
REVIEW_FRAME_GAP_MS = 2000
# The job's progress and lease are written at most this often (batches can be a frame or two).
RENEW_EVERY_S = 1.0


def enqueue_video(session: Session, project: str, data: bytes, *, data_id: str, policy: str, filename: str,
                  info: dict[str, Any]) -> Job:
    """Queue a checked video (media.video.probe_video) with its upload, in the caller's transaction."""
    job = enqueue(session, project, KIND, {"data_id": data_id, "policy": policy, "video": info})
    session.add(JobMedia(job_id=job.id, filename=filename[:256], size=len(data), data=data))
    return job


_END = object()


@contextmanager
def decoded_ahead(frames: Iterable[SampledFrame], batch: int = BATCH, depth: int = AHEAD) -> Iterator[Iterator[list[SampledFrame]]]:
    """`frames` in batches of what is ready (1 to `batch` frames: the analyzers never wait for a full
    batch while the decoder works), produced by a thread up to `depth` ahead of the consumer. The
    producer's exception is raised in the consumer; leaving the block early stops the producer."""
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for frame in frames:
                if not put(frame):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
            return
        put(_END)

    def consume() -> Iterator[list[SampledFrame]]:
        while True:
            ready_now: list[SampledFrame] = []
            item = ready.get()  # wait for one frame, then take what else is ready
            while item is not _END:
                if isinstance(item, BaseException):
                    raise item
                ready_now.append(item)  # type: ignore[arg-type]
                if len(ready_now) == batch:
                    break
                try:
                    item = ready.get_nowait()
                except queue.Empty:
                    break
            if ready_now:
                yield ready_now
            if item is _END:
                return

    producer = threading.Thread(target=produce, name="video-decode", daemon=True)
    producer.start()
    try:
        yield consume()
    finally:
        stop.set()
        producer.join()


class VideoJudge:
    """Judges one video's frames batch by batch under its policies (the enforced one, and the shadow
    one if any), then the video: one decision per policy."""

    def __init__(self, project: str, policies: Sequence[Policy], data: bytes, data_id: str) -> None:
        self.project, self.policies, self.data, self.data_id = project, list(policies), data, data_id
        self.digests = {"md5": digests.md5_hex(data), "sha256": digests.sha256_hex(data)}
        self.frames: list[list[JudgedFrame]] = [[] for _ in self.policies]
        self.frame_hashes: list[FrameHash] = []
        self.ms: list[dict[tuple[str, str], float]] = [{} for _ in self.policies]
        self.duplicates = NearDuplicates()
        self.analyzed = 0  # frames the analyzers ran on (the others repeat one of them)
        self._anchor: list[list[Signal]] = [[] for _ in self.policies]  # per policy, the last analyzed frame's signals
        self.review_frames: list[Thumbnail] = []  # flagged frames under the enforced policy, blurred
        self.sharp_frames: list[Thumbnail] = []  # the same frames sharp, for reviewers who reveal them

    def judge_batch(self, batch: list[SampledFrame]) -> None:
        # Per frame, its index among the frames analyzed in this batch (-1: the anchor of an earlier batch).
        fresh: list[SampledFrame] = []
        sources = []
        for frame in batch:
            if not self.duplicates.repeat(frame.t_ms, frame.image.image, frame.pdq):
                fresh.append(frame)
            sources.append(len(fresh) - 1)
        self.analyzed += len(fresh)
        items = [Item(f"{self.data_id}@{f.t_ms}", image=f.image) for f in fresh]
        bank_signals = self._bank_signals(batch)
        cache: engine.Cache = {}  # the policies share each analyzer's run on this batch
        for p, (frames, ms, policy) in enumerate(zip(self.frames, self.ms, self.policies)):
            signals, runs = engine.analyze(policy, items, cache) if items else ([], [])
            for item_runs in runs:
                for run in item_runs:
                    ms[(run.name, run.version)] = ms.get((run.name, run.version), 0.0) + run.ms
            for frame, source, (bank, bank_ms) in zip(batch, sources, bank_signals):
                frame_signals = signals[source] if source >= 0 else self._anchor[p]
                frames.append(JudgedFrame(frame.t_ms, [*frame_signals, bank]))
                ms[(NAME, VERSION)] = ms.get((NAME, VERSION), 0.0) + bank_ms
            if signals:
                self._anchor[p] = signals[-1]
        self._keep_for_review(batch, self.frames[0][-len(batch):])

    def _keep_for_review(self, batch: list[SampledFrame], judged: list[JudgedFrame]) -> None:
        """A blurred copy of the frames the enforced policy flags, for the case view."""
        for frame, verdict in zip(batch, judged):
            if len(self.review_frames) >= REVIEW_FRAMES:
                return
            if self.review_frames and frame.t_ms - (self.review_frames[-1].t_ms or 0) < REVIEW_FRAME_GAP_MS:
                continue
            if flagged(self.policies[0], verdict.signals):
                data, width, height = blurred_thumbnail(frame.image.image)
                self.review_frames.append(Thumbnail(self.data_id, data, width, height, frame.image.width,
                                                    frame.image.height, t_ms=frame.t_ms))
                sharp = review_media.sharp_frame(frame.image, frame.t_ms, self.data_id)
                if sharp is not None:
                    self.sharp_frames.append(sharp)

    def _bank_signals(self, batch: list[SampledFrame]) -> list[tuple[Signal, float]]:
        """Each frame's PDQ against the project's banks, as a `hash-match` signal and its ms."""
        start = time.perf_counter()
        hashed = [f.pdq or pdq.pdq_hash(f.image.image) for f in batch]
        queries_ = [{"pdq": [h.hex] if h.quality >= pdq.MIN_QUALITY else []} for h in hashed]
        with session_factory()() as session:
            # One frame per call: match_hashes gives each bank entry to one query of a batch only.
            hits = [match_hashes(session, get_matcher(), self.project, [q])[0] for q in queries_]
        ms = (time.perf_counter() - start) * 1000 / max(1, len(batch))
        signals = []
        for frame, h, frame_hits in zip(batch, hashed, hits):
            self.frame_hashes.append(FrameHash(frame.t_ms, h.hex, h.quality))
            # The video's SHA-256 places every frame in or out of a bank's staged roll-out together.
            signals.append((bank_signal({"pdq_hex": h.hex, "pdq_quality": str(h.quality), **self.digests}, frame_hits), ms))
        return signals

    def whole_video(self) -> Signal:
        """The video's digests (exact) and its frames' vPDQ against the banks."""
        with session_factory()() as session:
            (hits,) = match_hashes(session, get_matcher(), self.project, [dict(self.digests)])
            hits += [hit for hit, _ in match_vpdq(session, self.project, self.frame_hashes)]
        return bank_signal({"pdq_hex": "", "pdq_quality": "0", **self.digests}, hits)

    def decisions(self, sampler: FrameSampler, interval_ms: float) -> list[DecisionDoc]:
        """One decision per policy, in the order of `policies`."""
        whole = self.whole_video()
        duration = sampler.info.duration_s if sampler.info and sampler.info.duration_s else sampler.last_t_ms / 1000
        how = [f"{sampler.sampled} frames judged over {duration:.1f} s ({sampler.scene_changes} at scene changes)",
               f"analyzers ran on {self.analyzed} of them; the others repeat the frame analyzed before them",
               *sampler.notes]
        docs = []
        for policy, frames, ms in zip(self.policies, self.frames, self.ms):
            signals = video_signals(policy, frames, [whole])
            runs = [AnalyzerRun(name=n, version=v, ms=round(t, 3)) for (n, v), t in ms.items()]
            result = item_result(policy, self.data_id, signals, runs,
                                 evidence=flagged_ranges(policy, frames, interval_ms), reasons=how)
            docs.append(decision(self.project, policy, [result]))
        return docs


def _load(sessions: sessionmaker[Session], job_id: str, project: str, policy_id: str) -> tuple[bytes, list[Policy]]:
    with sessions() as session:
        data = session.scalar(select(JobMedia.data).where(JobMedia.job_id == job_id))
    if data is None:
        raise JobFailed("the video's upload is gone (job_media row missing)")
    try:
        enforced, shadow = active_policies(project, policy_id)
    except LookupError:
        raise JobFailed(f"policy {policy_id!r} no longer exists") from None
    return data, [enforced] if shadow is None else [enforced, shadow]


@handler(KIND)
def moderate_video(sessions: sessionmaker[Session], job_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    with sessions() as session:
        project = session.scalar(select(Job.project_id).where(Job.id == job_id))
        # The reference's full-size frame hashes only where a PDQ or vPDQ entry may match them.
        full_size_hash = queries.has_picture_bank_entries(session, str(project))
    attempt = current_attempt(sessions, job_id)
    data, policies = _load(sessions, job_id, str(project), payload["policy"])
    settings = get_settings()
    sampler = FrameSampler(data, fps=settings.video_fps, scene_threshold=settings.video_scene_threshold,
                           max_frames=settings.video_max_frames, settings=settings, full_size_hash=full_size_hash)
    judge = VideoJudge(str(project), policies, data, payload["data_id"])
    duration_ms = 1000 * float((payload.get("video") or {}).get("duration_s") or 0)
    try:
        renewed = time.monotonic()
        with decoded_ahead(sampler) as batches:
            for batch in batches:
                judge.judge_batch(batch)
                if time.monotonic() - renewed >= RENEW_EVERY_S:
                    progress = batch[-1].t_ms / duration_ms if duration_ms else 0.5
                    renew(sessions, job_id, attempt, min(0.99, progress))
                    renewed = time.monotonic()
    except VideoDecodeError as exc:
        raise JobFailed(str(exc)) from None
    except av.FFmpegError as exc:  # the decoder gave up in a way the sampler did not foresee
        raise JobFailed(f"video could not be decoded: {exc}") from None
    doc, *shadow = judge.decisions(sampler, 1000 / (sampler.rate or settings.video_fps))
    verdict = doc.results[0].verdict
    result = {"decision": doc.id, "verdict": verdict, "decision_url": f"/v1/decisions/{doc.id}",
              "frames": sampler.sampled, "scene_changes": sampler.scene_changes, "analyzed_frames": judge.analyzed}
    with sessions.begin() as session:
        complete(session, job_id, attempt, result)  # first: LeaseLost rolls everything back
        opened = record(session, doc, shadow=False, source="video", hashes=[judge.digests])
        sharp = judge.sharp_frames if review_media.wanted(doc.results[0], opened_case=bool(opened)) else []
        queries.save_thumbnails(session, doc, [*judge.review_frames, *sharp])
        for shadow_doc in shadow:
            record(session, shadow_doc, shadow=True, source="video")
        session.execute(delete(JobMedia).where(JobMedia.job_id == job_id))
    return result
