"""`text-model`: tamis's own multilingual text classifier (src/tamis/textmodel/weights/, see its model card).

Every category it was trained for gets a calibrated probability. Long texts are scored in chunks:
a category's score is its highest chunk's, and the evidence names that chunk's span. The language is
identified (py3langid) and reported with the result, with whether the model was trained on it.

`sexual/minors` is not learned (there is no training data for it, and there must not be): it is the
`sexual` score of a text that also names a minor in clear words (the cue list below), and 0 where no
such word appears. It claims nothing more than that.

The `extremism` head is trained but not served (RETIRED_HEADS): measured out of source
(`python -m tamis.textmodel.training.crossval`, see the model card) no threshold reaches precision 0.9, and the
shipped weights flagged religious practice ("We fast from dawn until sunset during Ramadan…"), political
anger and news of attacks as extremism. tamis does not judge faith or politics, so text is not assessed
for extremism until a head passes that bar; extremist content is caught by hash banks, the policy's term
lists and the violence, threat and hate heads.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np
import regex

from tamis.schema import Item, Signal, SpanEvidence
from tamis.taxonomy import is_category
from tamis.textmodel.features import MAX_CHARS
from tamis.textmodel.model import TextModel, detect_language

# Long texts are scored in chunks of a few sentences: short enough for one harmful sentence to carry
# its chunk's score and for the evidence span to point somewhere useful.
CHUNK_CHARS = min(300, MAX_CHARS)
WHOLE_TEXT_CHARS = 600
# A fragment without end punctuation shorter than this (a heading such as "# Notice", a signature)
# says too little to be scored alone: it is read with the next sentence. A short sentence that ends
# like one ("I will kill you.") keeps its own chunk, so nothing dilutes it.
MIN_CHUNK_CHARS = 24
SENTENCE_END = regex.compile(r"[.!?。！？…]\s*$")
SENTENCE = regex.compile(r"\S.*?(?:[.!?。！？…]+(?=\s|$)|\n|$)", regex.DOTALL)
LANGUAGE_CONFIDENCE = 0.7
# Heads of the weights that the analyzer does not report (see the module docstring).
RETIRED_HEADS = frozenset({"extremism"})
# Heads whose score is capped at REVIEW_ONLY_CAP, below the default policy's block thresholds: `sexual` is
# also the image models' category, so its block threshold is theirs, but out of source no threshold of the
# text head reaches precision 0.9 (weights/crossval.json): text is sent to review on it, never blocked by
# default (as the `links` model does for URLs). tests/test_text_default_policy.py holds this to the file.
REVIEW_ONLY_HEADS = frozenset({"sexual"})
REVIEW_ONLY_CAP = 0.85
# Evidence is given for categories whose chunk score reaches this.
EVIDENCE_MIN_SCORE = 0.5
# Clear words for a minor (English; the model's other languages are not covered by this rule).
MINOR_CUES = regex.compile(
    r"\b(?:child(?:ren)?|kids?|minors?|under-?age(?:d)?|preteens?|pre-teens?|toddlers?|infants?|"
    r"little (?:girls?|boys?)|schoolgirls?|schoolboys?|(?:[1-9]|1[0-7])[ -]?(?:yo|y/o|years?[ -]old))\b",
    regex.IGNORECASE,
)


def _pieces(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Cut [start, end) into pieces of at most `size` characters, at whitespace where possible."""
    spans = []
    while start < end:
        stop = min(end, start + size)
        if stop < end:
            cut = text.rfind(" ", start + size // 2, stop)
            stop = cut if cut > start else stop
        spans.append((start, stop))
        start = stop
    return spans


def _sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans, a short fragment joined to the next sentence (the last to the one before)."""
    spans: list[tuple[int, int]] = []
    pending: int | None = None  # start of a short sentence waiting for the next
    for match in SENTENCE.finditer(text):
        start, end = match.span()
        start = start if pending is None else pending
        piece = text[start:end].strip()
        pending = start if len(piece) < MIN_CHUNK_CHARS and not SENTENCE_END.search(piece) else None
        if pending is None:
            spans.append((start, end))
    if pending is not None:
        end = len(text.rstrip())
        spans[-1:] = [(spans[-1][0], end)] if spans else [(pending, end)]
    return spans


def chunks(text: str, size: int = CHUNK_CHARS) -> list[tuple[int, int]]:
    """[start, end) spans to score: each sentence (cut at `size` characters), and the whole text
    when it is short. A text's score is its best chunk's, so one threatening sentence in a long post
    is not averaged away, while a short post is also read whole, for context."""
    spans = [piece for start, end in _sentences(text) for piece in _pieces(text, start, end, size)]
    # The whole text without its surrounding whitespace: evidence must not mark a trailing newline.
    whole = (len(text) - len(text.lstrip()), len(text.rstrip()))
    if whole[0] < whole[1] and whole[1] - whole[0] <= WHOLE_TEXT_CHARS and spans != [whole]:
        spans.insert(0, whole)
    return spans or [(0, len(text))]


class TextModelAnalyzer:
    name = "text-model"
    media = frozenset({"text"})

    def __init__(self, model: TextModel | None = None) -> None:
        self.model = model or TextModel.load()
        self.version = self.model.version
        self._columns = [(i, c) for i, c in enumerate(self.model.categories)
                         if is_category(c) and c not in RETIRED_HEADS]

    @cached_property
    def categories(self) -> tuple[str, ...]:  # type: ignore[override]
        scored = tuple(c for _, c in self._columns)
        return scored + (("sexual/minors",) if "sexual" in scored else ())

    def analyze(self, batch: Sequence[Item]) -> list[Signal]:
        if not batch:
            return []
        texts = [item.text or "" for item in batch]
        spans = [chunks(t) for t in texts]
        flat = [t[s:e] for t, item_spans in zip(texts, spans) for s, e in item_spans]
        probs = self.model.predict(flat)
        signals, row = [], 0
        for text, item_spans in zip(texts, spans):
            signals.append(self._signal(text, item_spans, probs[row : row + len(item_spans)]))
            row += len(item_spans)
        return signals

    def _signal(self, text: str, spans: list[tuple[int, int]], probs: np.ndarray) -> Signal:
        signal = Signal(self.name, self.version)
        best = probs.argmax(axis=0)  # each category's evidence: its highest piece
        text_scores = self.model.blend(probs.max(axis=0)[None, :])[0]
        for column, category in self._columns:
            score = float(np.clip(text_scores[column], 0.0, 1.0))
            if category in REVIEW_ONLY_HEADS:
                score = min(score, REVIEW_ONLY_CAP)
            signal.scores[category] = score
            if score >= EVIDENCE_MIN_SCORE:
                start, end = spans[best[column]]
                signal.evidence.append(SpanEvidence(start=start, end=end, category=category, analyzer=self.name))
        if "sexual" in signal.scores:
            self._minors(text, signal)
        code, confidence = detect_language(text)
        # Short texts fool language identification: below LANGUAGE_CONFIDENCE we do not claim to know.
        supported = code in self.model.languages if confidence >= LANGUAGE_CONFIDENCE else None
        signal.language = {"code": code, "confidence": round(confidence, 3), "supported": supported}
        return signal

    def _minors(self, text: str, signal: Signal) -> None:
        cues = list(MINOR_CUES.finditer(text))
        signal.scores["sexual/minors"] = signal.scores["sexual"] if cues else 0.0
        if cues and signal.scores["sexual"] >= EVIDENCE_MIN_SCORE:
            signal.evidence += [SpanEvidence(start=m.start(), end=m.end(), category="sexual/minors", analyzer=self.name)
                                for m in cues]
