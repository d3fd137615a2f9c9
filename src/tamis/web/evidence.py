"""What the case view draws over a case's media: the evidence boxes on its blurred thumbnail or
video frames (in the pixels of the original they were found in), and a video's flagged time ranges
on a timeline. Pure: the pages draw these as SVG (no inline styles, which the CSP forbids)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int
    label: str  # the category (or the detector's label); never the words read in the box


@dataclass(frozen=True)
class Picture:
    """A stored blurred image (a thumbnail or a video frame) and the boxes to draw over it."""

    media_id: int
    source_width: int | None  # the boxes' coordinate space; None: an old thumbnail, no boxes drawn
    source_height: int | None
    boxes: list[Box]
    t_ms: int | None = None
    ranges: list[str] = field(default_factory=list)  # categories of the flagged ranges the frame is in


@dataclass(frozen=True)
class Range:
    t_ms: int
    end_ms: int
    category: str
    score: float | None

    @property
    def span(self) -> str:
        return f"{clock(self.t_ms)}–{clock(self.end_ms)}"


@dataclass(frozen=True)
class Timeline:
    end_ms: int  # the scale: past the last range and frame
    ranges: list[Range]
    marks: list[int]  # the kept frames' times


def clock(ms: int) -> str:
    seconds, tenths = divmod(ms // 100, 10)
    return f"{seconds // 60}:{seconds % 60:02d}.{tenths}"


def boxes(evidence: Sequence[dict[str, Any]], t_ms: int | None = None) -> list[Box]:
    """The bbox evidence of one picture: the still image's (t_ms None), or one video frame's."""
    found = []
    for e in evidence:
        if e.get("type") != "bbox" or e.get("t_ms") != t_ms:
            continue
        x, y, w, h = (e.get(k) for k in ("x", "y", "w", "h"))
        if all(isinstance(v, int) for v in (x, y, w, h)) and w > 0 and h > 0:  # type: ignore[operator]
            found.append(Box(x, y, w, h, str(e.get("category") or e.get("label") or "")))  # type: ignore[arg-type]
    return found


def ranges(evidence: Sequence[dict[str, Any]]) -> list[Range]:
    """A video's flagged time ranges (frame evidence), in time order."""
    found = [Range(e["t_ms"], e.get("end_ms") if isinstance(e.get("end_ms"), int) else e["t_ms"], str(e.get("category") or ""),
                   e.get("score"))
             for e in evidence if e.get("type") == "frame" and isinstance(e.get("t_ms"), int)]
    return sorted(found, key=lambda r: (r.t_ms, r.category))


def picture(media: Any, evidence: Sequence[dict[str, Any]], flagged: Sequence[Range] = ()) -> Picture:
    """An ItemMedia row (thumbnail or frame) with the boxes found on it."""
    t_ms = media.t_ms if media.kind == "frame" else None
    known = bool(media.source_width and media.source_height)
    inside = sorted({r.category for r in flagged if t_ms is not None and r.t_ms <= t_ms <= r.end_ms})
    return Picture(media.id, media.source_width, media.source_height, boxes(evidence, t_ms) if known else [], t_ms, inside)


def timeline(flagged: Sequence[Range], frames: Sequence[Picture]) -> Timeline | None:
    if not flagged and not frames:
        return None
    last = max([r.end_ms for r in flagged] + [f.t_ms or 0 for f in frames] + [0])
    return Timeline(end_ms=last + 1000, ranges=list(flagged), marks=[f.t_ms or 0 for f in frames])


# --- text --------------------------------------------------------------------------------------------

# Evidence that marks words, not sentences: term-list matches and the profanity analyzer's words.
# These are masked until revealed (the text model's spans are whole sentences: masking them would
# hide the text, so they are highlighted only).
WORD_ANALYZERS = frozenset({"profanity-text"})


@dataclass(frozen=True)
class Segment:
    text: str
    categories: list[str]  # of the evidence spans covering it (highlighted)
    masked: bool  # a flagged word, hidden until revealed


def word_spans(evidence: Sequence[dict[str, Any]]) -> list[tuple[int, int, str | None]]:
    """(start, end, category) of the evidence that points at words."""
    return [(e["start"], e["end"], e.get("category"))
            for e in evidence if isinstance(e.get("start"), int) and isinstance(e.get("end"), int) and e["start"] < e["end"]
            and (e.get("type") == "list" or (e.get("type") == "span" and e.get("analyzer") in WORD_ANALYZERS))]


def segments(text: str, evidence: Sequence[dict[str, Any]], hidden: Any = None) -> list[Segment]:
    """The text cut at evidence span edges. `hidden(category) -> bool` says whose words are masked
    (None: none)."""
    spans = [(e["start"], e["end"], e.get("category") or e.get("list") or "")
             for e in evidence if isinstance(e.get("start"), int) and isinstance(e.get("end"), int) and e["start"] < e["end"]]
    words = [(s, e) for s, e, category in word_spans(evidence) if hidden is not None and hidden(category)]
    cuts = sorted({0, len(text), *(max(0, min(len(text), p)) for s, e, _ in spans for p in (s, e))})
    return [Segment(text[a:b], sorted({c for s, e, c in spans if s <= a and b <= e}), any(s <= a and b <= e for s, e in words))
            for a, b in zip(cuts, cuts[1:])]
