"""`image-text`: memes are judged by their text. The text read in an image (tamis.media.ocr) becomes a
derived text item that goes through the same text analyzers as the policy's text (its registry
analyzers that read text, its lists); their signals join the image item's, with evidence moved from
offsets in the read text to boxes in the image (original pixels).

The analyzer itself only reads: it scores nothing, so a photo without text comes out exactly as it
would without it, apart from its own run in the result's `analyzers`.

Read text is judged as what it is: spam and scam scores from the text models count only when the read
text is a message, that is when it carries a link, a QR code, a phone number, a handle or a call to
action (tamis.analyzers.message_cues). Labels, part numbers, lot codes and signs are not messages.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cachetools import LRUCache
from pydantic import BaseModel

from tamis.analyzers.base import Analyzer
from tamis.analyzers.message_cues import cue
from tamis.config import get_settings
from tamis.schema import AnalyzerRun, BBoxEvidence, Item, ListEvidence, Signal, SpanEvidence, UrlEvidence
from tamis.media import ocr

NAME = "image-text"

# Categories that only a message can carry (someone must be reached, paid or sent somewhere).
MESSAGE_CATEGORIES = frozenset({"spam", "scam"})
# The policy's own block lists are the operator's explicit terms: they apply to read text as written.
LISTS = "lists"

Runner = Callable[[Analyzer, Sequence[Item]], tuple[dict[int, Signal], float]]


@dataclass
class ReadSignal(Signal):
    """The image-text analyzer's signal: no scores, and the text it read (None when none worth reading)."""

    read: ocr.ReadText | None = None
    # What makes the read text a message ("link", "phone", ...), None when it is not one.
    cue: str | None = None


class ImageText:
    name = NAME
    media = frozenset({"image"})
    categories: tuple[str, ...] = ()
    # An animation is read on its first frame only: a read costs seconds, and its ReadSignal (the text
    # with its boxes) is not a score that tamis.engine.frames could take the max of.
    per_frame = False

    def __init__(self) -> None:
        self.engine = ocr.get_engine()  # loads the models now, once per process
        self.gate = ocr.get_gate() if self.engine else None
        self.version = f"1+{self.engine.name}-{self.engine.version}" if self.engine else "1+off"
        if self.gate is not None and self.gate.pre_session is not None:
            self.version += "+int8-gate"
        # image bytes' SHA-256 -> (text read, its cue): a read costs seconds, a popular meme comes back often
        self._seen: LRUCache[bytes, tuple[ocr.ReadText | None, str | None]] = LRUCache(
            maxsize=max(1, get_settings().ocr_cache_size))
        self._caching = get_settings().ocr_cache_size > 0
        self._lock = threading.Lock()

    def analyze(self, batch: Sequence[Item]) -> list[Signal]:
        return [self._signal(item) for item in batch]

    def _signal(self, item: Item) -> ReadSignal:
        key = _key(item) if self._caching else None
        with self._lock:
            hit = self._seen.get(key) if key else None
        if hit is None:
            read = self._read(item)
            hit = read, cue(read.text, item.image) if read else None
            if key:
                with self._lock:
                    self._seen[key] = hit
        read, found = hit
        return ReadSignal(self.name, self.version, read=read, cue=found)

    def _read(self, item: Item) -> ocr.ReadText | None:
        if self.engine is None or item.image is None:
            return None
        return ocr.read_image(item.image, self.engine, self.gate)


def _key(item: Item) -> bytes | None:
    """The cache key of an item's image: its bytes' SHA-256, or its pixels' for a picture without
    bytes (a video frame: every frame of every video has the same empty bytes)."""
    image = item.image
    if image is None:
        return None
    if image.data:
        return hashlib.sha256(image.data).digest()
    pixels = image.image
    return hashlib.sha256(f"{pixels.mode}{pixels.size}".encode() + pixels.tobytes()).digest()


def add_read_text_signals(
    items: Sequence[Item],
    analyzers: Sequence[Analyzer],
    signals: list[list[Signal]],
    runs: list[list[AnalyzerRun]],
    cache: dict,  # type: ignore[type-arg]
    run: Runner,
    mask: Callable[[str], str] | None = None,
) -> None:
    """Run every text analyzer on the text read in each image, and add its signals to the image's item.

    `mask` blanks allow-listed spans, as it does for the item's own text; runs are shared through
    `cache` with the shadow policy when it sees the same read text.
    """
    found = {i: s for i, sigs in enumerate(signals) for s in sigs if isinstance(s, ReadSignal) and s.read}
    if not found:
        return
    reads = {i: s.read for i, s in found.items() if s.read}
    order = list(reads)
    derived = [Item(f"{items[i].data_id}#{NAME}", text=mask(reads[i].text) if mask else reads[i].text) for i in order]
    texts = (NAME,) + tuple(d.text for d in derived)
    for analyzer in analyzers:
        if "text" not in analyzer.media:
            continue
        key = (f"{analyzer.name}@{analyzer.version}", texts)
        if key not in cache:
            cache[key] = run(analyzer, derived)
        by_index, ms = cache[key]
        for j, signal in by_index.items():
            i = order[j]
            if found[i].cue is None and analyzer.name != LISTS:
                signal = not_a_message(signal)
            signals[i].append(mapped(signal, reads[i]))
            _add_run(runs[i], analyzer, ms)


def _add_run(runs: list[AnalyzerRun], analyzer: Analyzer, ms: float) -> None:
    """One run per analyzer per item: time on the read text adds to time on the item's own text."""
    for k, existing in enumerate(runs):
        if existing.name == analyzer.name:
            runs[k] = AnalyzerRun(name=existing.name, version=existing.version, ms=round(existing.ms + ms, 3))
            return
    runs.append(AnalyzerRun(name=analyzer.name, version=analyzer.version, ms=round(ms, 3)))


def not_a_message(signal: Signal) -> Signal:
    """A copy of a signal on read text that is no message: without spam and scam scores or evidence."""
    return Signal(
        signal.analyzer, signal.version,
        {c: v for c, v in signal.scores.items() if c not in MESSAGE_CATEGORIES},
        [e for e in signal.evidence if getattr(e, "category", None) not in MESSAGE_CATEGORIES],
        {c: a for c, a in signal.actions.items() if c not in MESSAGE_CATEGORIES},
        language=signal.language,
    )


def mapped(signal: Signal, read: ocr.ReadText) -> Signal:
    """A copy of a signal on the read text, with its evidence moved onto the image."""
    evidence = [moved for e in signal.evidence for moved in _evidence(e, signal, read)]
    return Signal(signal.analyzer, signal.version, dict(signal.scores), evidence, dict(signal.actions),
                  language=signal.language)


def _evidence(e: BaseModel, signal: Signal, read: ocr.ReadText) -> list[BaseModel]:
    if isinstance(e, SpanEvidence):
        return _boxes(read, e.start, e.end, "text", e.category, e.analyzer or signal.analyzer, signal)
    if isinstance(e, ListEvidence):
        if e.start is None or e.end is None:
            return []
        return _boxes(read, e.start, e.end, f"list:{e.list}", e.category, signal.analyzer, signal)
    if isinstance(e, UrlEvidence):
        boxes = [] if e.start is None or e.end is None else _boxes(
            read, e.start, e.end, "url", e.category, e.analyzer or signal.analyzer, signal, e.score)
        return [e.model_copy(update={"source": "ocr", "start": None, "end": None}), *boxes]
    return [e]  # evidence that names no place in the text (none of today's text analyzers give any)


def _boxes(
    read: ocr.ReadText, start: int, end: int, label: str, category: str | None, analyzer: str | None,
    signal: Signal, score: float | None = None,
) -> list[BaseModel]:
    if score is None and category is not None:
        score = signal.scores.get(category)
    return [
        BBoxEvidence(x=x, y=y, w=w, h=h, label=label, analyzer=analyzer, category=category,
                     score=None if score is None else round(score, 4), text=words)
        for (x, y, w, h), words in read.boxes(start, end)
    ]
