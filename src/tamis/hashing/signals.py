"""Signal types: the kinds of hash a bank can hold, one class each (as python-threatexchange does).

A signal type knows its name, how a value is checked and stored (`validate`: the canonical stored
form, or ValueError saying why), and whether it matches exactly or by distance. A new signal type
is one class here and one line in SIGNAL_TYPES; banks, exports and the API read them from there.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal, Protocol

import orjson

from tamis.errors import preview
from tamis.hashing.digests import validate_md5, validate_sha256
from tamis.hashing.pdq import validate_pdq
from tamis.hashing.vpdq import FrameHash

MAX_VPDQ_FRAMES = 100_000


class SignalType(Protocol):
    name: ClassVar[str]
    match: ClassVar[Literal["exact", "near"]]  # near: by Hamming distance up to a bank's threshold

    @staticmethod
    def validate(value: object) -> str: ...


class Pdq:
    name, match = "pdq", "near"

    @staticmethod
    def validate(value: object) -> str:
        return validate_pdq(value)  # type: ignore[arg-type]  # it refuses non-strings


class Md5:
    name, match = "md5", "exact"

    @staticmethod
    def validate(value: object) -> str:
        return validate_md5(value)  # type: ignore[arg-type]  # it refuses non-strings


class Sha256:
    name, match = "sha256", "exact"

    @staticmethod
    def validate(value: object) -> str:
        return validate_sha256(value)  # type: ignore[arg-type]  # it refuses non-strings


class Vpdq:
    """A video's frame hashes, stored as compact JSON frames {"t_ms", "pdq", "quality"}."""

    name, match = "vpdq", "near"

    @staticmethod
    def validate(value: object) -> str:
        if isinstance(value, str):
            try:
                value = orjson.loads(value)  # depth-limited: 100,000 "[" is an error, not a RecursionError
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"a vpdq hash is a JSON list of frames: {exc.msg} at character {exc.pos}") from exc
        if not isinstance(value, list) or not value:
            raise ValueError('a vpdq hash is a non-empty JSON list of frames {"t_ms", "pdq", "quality"}')
        if len(value) > MAX_VPDQ_FRAMES:
            raise ValueError(f"a vpdq hash has at most {MAX_VPDQ_FRAMES} frames; got {len(value)}")
        frames = []
        for i, frame in enumerate(value):
            try:
                frames.append(Vpdq._frame(frame))
            except ValueError as exc:
                raise ValueError(f"frame {i}: {exc}") from exc
        return json.dumps(frames, separators=(",", ":"))  # canonical, so exact duplicates compare equal

    @staticmethod
    def frames(stored: str) -> list[FrameHash]:
        """A stored value's frames (written by `validate`, so already valid)."""
        return [FrameHash(f["t_ms"], f["pdq"], f["quality"]) for f in json.loads(stored)]

    @staticmethod
    def _frame(frame: object) -> dict[str, Any]:
        """One frame: tamis's {"t_ms", "pdq", "quality"} ("hash" for "pdq", as /v1/hash answers), or
        ThreatExchange's "pdq,quality,seconds" (threatexchange/extensions/vpdq/vpdq_util.py)."""
        if isinstance(frame, str):
            parts = frame.split(",")
            if len(parts) != 3:
                raise ValueError(f"expected 'pdq,quality,seconds'; got {preview(frame)}")
            try:
                frame = {"t_ms": round(float(parts[2]) * 1000), "pdq": parts[0], "quality": int(parts[1])}
            except (ValueError, OverflowError) as exc:
                raise ValueError(f"expected 'pdq,quality,seconds'; got {preview(frame)}") from exc
        if isinstance(frame, dict) and set(frame) == {"t_ms", "hash", "quality"}:
            frame = {"t_ms": frame["t_ms"], "pdq": frame["hash"], "quality": frame["quality"]}
        if not isinstance(frame, dict) or set(frame) != {"t_ms", "pdq", "quality"}:
            raise ValueError('a frame is {"t_ms": int, "pdq": "<64 hex>", "quality": 0..100}')
        t_ms, quality = frame["t_ms"], frame["quality"]
        if isinstance(t_ms, bool) or not isinstance(t_ms, int) or not 0 <= t_ms < 2**53:
            raise ValueError(f"t_ms must be a whole number of milliseconds >= 0; got {preview(t_ms)}")
        if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100:
            raise ValueError(f"quality must be a whole number from 0 to 100; got {preview(quality)}")
        return {"t_ms": t_ms, "pdq": validate_pdq(frame["pdq"]), "quality": quality}


SIGNAL_TYPES: dict[str, type[SignalType]] = {t.name: t for t in (Pdq, Md5, Sha256, Vpdq)}  # type: ignore[misc]
SIGNALS: tuple[str, ...] = tuple(SIGNAL_TYPES)


def validate(signal: str, value: object) -> str:
    """The stored form of a hash (lowercase hex; vpdq: compact JSON frames), or ValueError saying why."""
    if signal not in SIGNAL_TYPES:
        raise ValueError(f"unknown signal {preview(signal)}; expected one of {', '.join(SIGNALS)}")
    return SIGNAL_TYPES[signal].validate(value)
