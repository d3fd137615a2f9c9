"""The domain types: item, signal, evidence, and the decision's result shape (documented in README.md)."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

from PIL import Image
from pydantic import BaseModel, Field


def new_id(prefix: str) -> str:
    """Sortable by creation time (millisecond timestamp first), unguessable (80 random bits)."""
    return f"{prefix}_{int(time.time() * 1000):012x}{secrets.token_hex(10)}"


# Names of policies, banks and lists: lowercase letters, digits, "_", ".", "-"; at most 64.
NAME_PATTERN = r"[a-z0-9][a-z0-9_.-]{0,63}"
NUL_REFUSED = "must not contain NUL (U+0000) characters"


def storable(value: str) -> str:
    """`value`, or ValueError: PostgreSQL can neither store nor compare text with U+0000 in it."""
    if "\x00" in value:
        raise ValueError(NUL_REFUSED)
    return value


Verdict = Literal["pass", "review", "block"]
MediaKind = Literal["text", "image"]
VERDICT_RANK: dict[str, int] = {"pass": 0, "review": 1, "block": 2}


# --- evidence: why a score is what it is -------------------------------------------------------


class SpanEvidence(BaseModel):
    type: Literal["span"] = "span"
    start: int
    end: int
    category: str | None = None
    analyzer: str | None = None


class BBoxEvidence(BaseModel):
    """A region of an image (in the original's pixels, after EXIF orientation), or of a video frame."""

    type: Literal["bbox"] = "bbox"
    x: int
    y: int
    w: int
    h: int
    label: str
    analyzer: str | None = None
    category: str | None = None
    score: float | None = None
    text: str | None = Field(None, description="The words read in the box (OCR), when the box is text.")
    t_ms: int | None = Field(None, description="The video frame the box is on.")


class BankMatchEvidence(BaseModel):
    type: Literal["bank_match"] = "bank_match"
    bank: str
    entry: str  # the entry's label, or its id when it has none
    signal: str  # pdq, md5, sha256, vpdq
    distance: int
    entry_id: int | None = None
    negative: bool = False  # a known-benign bank: its match suppresses the others
    shadow: bool = False  # a bank in shadow mode: recorded, never acted on
    suppressed: bool = False  # a positive match cancelled by a negative bank


class ListEvidence(BaseModel):
    type: Literal["list"] = "list"
    list: str
    entry: str
    start: int | None = None
    end: int | None = None
    category: str | None = None


class FrameEvidence(BaseModel):
    """A flagged stretch of a video: from the frame at t_ms to end_ms (inclusive), with its best score."""

    type: Literal["frame"] = "frame"
    t_ms: int
    end_ms: int | None = None
    category: str | None = None
    score: float | None = None
    analyzer: str | None = None


class UrlEvidence(BaseModel):
    """A link found in the item: in its text, in text read from an image, or in a QR code or barcode."""

    type: Literal["url"] = "url"
    url: str = Field(description="The normalised URL.")
    domain: str
    source: Literal["text", "ocr", "qr", "barcode"]
    start: int | None = None  # offsets in the item's text, when source is text
    end: int | None = None
    category: str | None = None
    score: float | None = None
    list: str | None = Field(None, description="The project list the domain is on, if any.")
    analyzer: str | None = None


Evidence = Annotated[
    Union[SpanEvidence, BBoxEvidence, BankMatchEvidence, ListEvidence, FrameEvidence, UrlEvidence],
    Field(discriminator="type"),
]


# --- what goes in ------------------------------------------------------------------------------


@dataclass
class DecodedImage:
    """An image that passed the media checks: decoded, oriented, RGB."""

    image: Image.Image
    data: bytes
    format: str
    width: int
    height: int
    plain: bool = True  # the working copy is a plain downscale of the original (8-bit, no alpha, upright)
    # An animation's sampled frames as (start ms, working copy); frames[0] is `image`. Empty for a still.
    frames: list[tuple[int, Image.Image]] = field(default_factory=list)
    # What is derived from the bytes once and shared by the analyzers: the larger copy
    # (tamis.media.images.larger_copy), the codes in the working copy (tamis.media.codes.first_look).
    derived: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    derived_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)


@dataclass
class Item:
    """One piece of content to judge. It may carry text and an image together."""

    data_id: str
    text: str | None = None
    image: DecodedImage | None = None
    # The platform's author id and context (a thread, a title): shown to reviewers, never a signal.
    author_id: str | None = None
    context: str | None = None

    def has(self, kind: MediaKind) -> bool:
        return (self.text is not None) if kind == "text" else (self.image is not None)


# --- what analyzers find -----------------------------------------------------------------------


@dataclass
class Signal:
    """What one analyzer found in one item: category scores in [0, 1] and evidence.

    A category absent from `scores` was not assessed by this analyzer.
    """

    analyzer: str
    version: str
    scores: dict[str, float] = field(default_factory=dict)
    evidence: list[BaseModel] = field(default_factory=list)
    # A list or bank match carries the action its list or bank asks for; the policy reads it.
    actions: dict[str, Verdict] = field(default_factory=dict)
    # Hashes computed on the way (pdq, md5, sha256), kept for retroactive matching.
    hashes: dict[str, str] = field(default_factory=dict)
    # The text's language, where a text analyzer identified it: {"code", "confidence", "supported"}.
    language: dict[str, object] | None = None

    @property
    def ref(self) -> str:
        return f"{self.analyzer}@{self.version}"

    def ask(self, key: str, action: str) -> None:
        """Ask for `action` on `key` (a category, a list, a bank); of two asks, the most severe holds."""
        if VERDICT_RANK[action] > VERDICT_RANK[self.actions.get(key, "pass")]:
            self.actions[key] = action  # type: ignore[assignment]


# --- what comes out: the result shape (README.md) ---------------------------------------------


class CategoryResult(BaseModel):
    name: str
    score: float
    flagged: bool
    analyzers: list[str]


class AnalyzerRun(BaseModel):
    name: str
    version: str
    ms: float


class Language(BaseModel):
    code: str
    confidence: float
    supported: bool | None = Field(description="Whether the text model was trained on it; null when the language is uncertain.")


class ItemResult(BaseModel):
    data_id: str
    verdict: Verdict
    categories: list[CategoryResult]
    evidence: list[Evidence]
    analyzers: list[AnalyzerRun]
    reasons: list[str] = Field(default_factory=list, description="Why the verdict: the rules that fired.")
    language: Language | None = Field(None, description="The text's language, and whether the text model was trained on it.")


class PolicyRef(BaseModel):
    id: str
    version: int
    shadow: bool


class DecisionDoc(BaseModel):
    id: str
    project: str
    policy: PolicyRef
    created_at: str
    results: list[ItemResult]
    follows: str | None = Field(None, description="The earlier decision this one follows (e.g. a retroactive bank match).")
