"""A video's signals from its frames' signals: what the policy then decides on, and when it was flagged.

Each sampled frame is judged like an image. The video's score per category (per analyzer) is the
highest any frame reached; where the policy flags a category on a frame (its review threshold, or a
list or bank action), consecutive flagged frames make one time range, given as `frame` evidence
(t_ms to end_ms: the first and last flagged frames; two flagged frames belong to one range when they
are at most GAP_INTERVALS sampling intervals apart). Other evidence keeps the frame's time where its
type has one (boxes); bank matches and URLs are listed once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from tamis.schema import BankMatchEvidence, BBoxEvidence, FrameEvidence, Signal, UrlEvidence
from tamis.engine.policy import Policy, decide

# Flagged frames this many sampling intervals apart (or closer) are one range: a scene-change
# sample between two regular ones does not split a range, a regular sample that is not flagged does.
GAP_INTERVALS = 1.5


@dataclass
class JudgedFrame:
    t_ms: int
    signals: list[Signal]


def flagged(policy: Policy, signals: Sequence[Signal]) -> dict[str, tuple[float | None, str]]:
    """Category (or list/bank key) -> (score, analyzer) for what the policy flags on one frame."""
    outcome = decide(policy, signals)
    found: dict[str, tuple[float | None, str]] = {}
    for category in outcome.categories:
        if category.flagged:
            best = max((s for s in signals if category.name in s.scores), key=lambda s: s.scores[category.name])
            found[category.name] = (category.score, best.analyzer)
    for signal in signals:
        for key in signal.actions:
            found.setdefault(key, (signal.scores.get(key), signal.analyzer))
    return found


def flagged_ranges(policy: Policy, frames: Sequence[JudgedFrame], interval_ms: float) -> list[FrameEvidence]:
    """Per flagged category, the time ranges where it was flagged, in time order."""
    by_category: dict[str, list[tuple[int, float | None, str]]] = defaultdict(list)
    for frame in sorted(frames, key=lambda f: f.t_ms):
        for category, (score, analyzer) in flagged(policy, frame.signals).items():
            by_category[category].append((frame.t_ms, score, analyzer))
    ranges: list[FrameEvidence] = []
    for category, hits in by_category.items():
        current: FrameEvidence | None = None
        for t_ms, score, analyzer in hits:
            if current is not None and current.end_ms is not None and t_ms - current.end_ms <= GAP_INTERVALS * interval_ms:
                current.end_ms = t_ms
                if score is not None and (current.score is None or score > current.score):
                    current.score, current.analyzer = score, analyzer
                continue
            current = FrameEvidence(t_ms=t_ms, end_ms=t_ms, category=category, score=score, analyzer=analyzer)
            ranges.append(current)
    return sorted(ranges, key=lambda r: (r.t_ms, r.category or ""))


def video_signals(policy: Policy, frames: Sequence[JudgedFrame], whole: Sequence[Signal] = ()) -> list[Signal]:
    """One signal per analyzer for the whole video: each category's highest frame score, the most
    severe list/bank action, and the frames' evidence. `whole`: signals about the video as a whole
    (its digests and vPDQ against the banks), merged with the frames' signals of the same analyzer."""
    merged: dict[str, Signal] = {}
    seen: dict[str, set[str]] = defaultdict(set)
    for frame in frames:
        keep_boxes = bool(flagged(policy, frame.signals))  # boxes only where the frame was flagged
        for signal in frame.signals:
            _merge(merged, seen, signal, frame.t_ms, keep_boxes)
    for signal in whole:
        _merge(merged, seen, signal, None, True)
    return list(merged.values())


def _merge(merged: dict[str, Signal], seen: dict[str, set[str]], signal: Signal, t_ms: int | None, keep_boxes: bool) -> None:
    into = merged.setdefault(signal.ref, Signal(signal.analyzer, signal.version))
    for category, score in signal.scores.items():
        into.scores[category] = max(score, into.scores.get(category, 0.0))
    for key, action in signal.actions.items():
        into.ask(key, action)
    for evidence in signal.evidence:
        kept = _evidence(evidence, t_ms, keep_boxes)
        if kept is None:
            continue
        key = _identity(kept)
        if key not in seen[signal.ref]:
            seen[signal.ref].add(key)
            into.evidence.append(kept)
        elif isinstance(kept, BankMatchEvidence):  # the same entry again: keep its closest match
            into.evidence = [_closer(e, kept) if _identity(e) == key else e for e in into.evidence]


def _evidence(evidence: BaseModel, t_ms: int | None, keep_boxes: bool) -> BaseModel | None:
    if isinstance(evidence, BBoxEvidence):
        return evidence.model_copy(update={"t_ms": t_ms}) if keep_boxes and evidence.t_ms is None else (evidence if keep_boxes else None)
    return evidence


def _identity(evidence: BaseModel) -> str:
    if isinstance(evidence, BankMatchEvidence):
        return f"bank:{evidence.bank}:{evidence.entry_id or evidence.entry}:{evidence.signal}"
    if isinstance(evidence, UrlEvidence):
        return f"url:{evidence.url}:{evidence.category}"
    return evidence.model_dump_json()


def _closer(a: BaseModel, b: BankMatchEvidence) -> BaseModel:
    return b if isinstance(a, BankMatchEvidence) and b.distance < a.distance else a
