"""Animated images: every sampled frame goes through the image analyzers, and the item scores as its
worst frame.

`decode_image` keeps up to 8 frames of a GIF, animated WebP or APNG (see media/images.py). Here
each image analyzer sees them as one batch, and its per-frame signals merge into one signal per
item: each category's score is the maximum over frames; each category that a frame carries (score
at least EVIDENCE_MIN_SCORE) gets `frame` evidence with that frame's time; a frame's own evidence
(e.g. boxes) keeps its time in `t_ms`.

Hash matching is not per frame: banks hold hashes of files (and of first frames), as other tools
compute them. An analyzer opts out with a class attribute `per_frame = False`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pydantic import BaseModel

from tamis.analyzers.base import Analyzer
from tamis.schema import FrameEvidence, Item, Signal

# The same floor as the text model's span evidence: a frame scoring below it did not carry the
# category (the policy, not the analyzer, decides what is flagged).
EVIDENCE_MIN_SCORE = 0.5


def per_frame(analyzer: Analyzer) -> bool:
    """Whether an analyzer looks at each frame: image analyzers do, unless they say otherwise."""
    default = analyzer.media == frozenset({"image"}) and analyzer.name != "hash-match"
    return bool(getattr(analyzer, "per_frame", default))


def analyze_frames(analyzer: Analyzer, batch: Sequence[Item]) -> list[Signal]:
    """`analyzer.analyze(batch)`, with each animated image's frames analyzed and merged."""
    if not per_frame(analyzer) or not any(item.image and item.image.frames for item in batch):
        return analyzer.analyze(batch)
    expanded: list[Item] = []
    spans: list[tuple[int, int]] = []  # each item's slice of `expanded`
    for item in batch:
        start = len(expanded)
        expanded += _frame_items(item)
        spans.append((start, len(expanded)))
    signals = analyzer.analyze(expanded)
    merged = []
    for item, (start, end) in zip(batch, spans):
        if item.image and item.image.frames:
            times = [t_ms for t_ms, _ in item.image.frames]
            merged.append(merge(signals[start:end], times))
        else:
            merged.append(signals[start])
    return merged


def _frame_items(item: Item) -> list[Item]:
    image = item.image
    if image is None or not image.frames:
        return [item]
    return [replace(item, image=replace(image, image=frame, frames=[])) for _, frame in image.frames]


def merge(signals: Sequence[Signal], times: Sequence[int]) -> Signal:
    """One signal from one analyzer's signals on an animation's frames (starting at `times` ms)."""
    first = signals[0]
    merged = Signal(first.analyzer, first.version, hashes=dict(first.hashes), language=first.language)
    for signal, t_ms in zip(signals, times):
        for category, score in signal.scores.items():
            merged.scores[category] = max(score, merged.scores.get(category, 0.0))
        for key, action in signal.actions.items():
            merged.ask(key, action)
        merged.evidence += [_at(evidence, t_ms) for evidence in signal.evidence]
    for category in merged.scores:
        merged.evidence += [
            FrameEvidence(t_ms=t_ms, category=category, score=round(signal.scores[category], 4), analyzer=first.analyzer)
            for signal, t_ms in zip(signals, times)
            if signal.scores.get(category, 0.0) >= EVIDENCE_MIN_SCORE
        ]
    return merged


def _at(evidence: BaseModel, t_ms: int) -> BaseModel:
    """Evidence found on a frame, stamped with the frame's time where its type has a place for it."""
    if "t_ms" in type(evidence).model_fields and getattr(evidence, "t_ms") is None:
        return evidence.model_copy(update={"t_ms": t_ms})
    return evidence
