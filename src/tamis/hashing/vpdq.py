"""vPDQ: Meta's video hash, a PDQ hash per sampled frame, and its matching algorithm.

Hashing follows the reference (facebook/ThreatExchange vpdq, BSD licence): frames are decoded
(here with PyAV, the FFmpeg that pip installs), converted to RGB and PDQ-hashed at their native
resolution -- unlike still images, the reference does not shrink frames first, and shrinking
moves hashes of its sample videos by a median 10-24 bits. The reference hashes frame n when
n % round(fps * seconds_per_hash) == 0; we sample by timestamp instead (same frames for
constant frame rates, and correct for variable ones). Its sample files hash every frame:
fps=None here.

Damaged input: a frame the decoder rejects is skipped (the rest of the video is still
hashed); a container that breaks off (e.g. a truncated file) ends hashing with the frames
decoded so far. Input from which no frame decodes at all raises VideoError, as do non-video
bytes and videos past the limits.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import orjson
import numpy as np
import pdqhash

from tamis.hashing.pdq import MIN_QUALITY, _bits_to_hex, hex_to_bytes, validate_pdq

# Demuxers we open. Whitelisting keeps FFmpeg's playlist and concat demuxers (which open
# other files and URLs named inside the input) and image demuxers (stills go to PDQ) out.
ACCEPTED_CONTAINERS = ("mov", "matroska", "webm", "avi", "flv", "mpegts", "mpeg", "asf", "ogg", "gif")
# Largest frame we decode (8K UHD is 33 Mpx).
MAX_FRAME_PIXELS = 40_000_000
# Matching defaults of the reference (vpdq_util.py in python-threatexchange).
DISTANCE_THRESHOLD = 31
MATCH_THRESHOLD_PCT = 80.0


class VideoError(ValueError):
    """The bytes are not a video we can hash, or the video is past a limit."""


class VpdqFormatError(ValueError):
    """A vPDQ hash file or JSON is malformed; `errors` lists (line or frame number, problem),
    empty when the document as a whole is wrong."""

    def __init__(self, message: str, errors: list[tuple[int, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []

    @classmethod
    def listing(cls, what: str, errors: list[tuple[int, str]]) -> VpdqFormatError:
        shown = "; ".join(f"{what} {n}: {problem}" for n, problem in errors[:20])
        more = f"; and {len(errors) - 20} more" if len(errors) > 20 else ""
        return cls(f"{len(errors)} bad {what}(s): {shown}{more}", errors)


@dataclass(frozen=True)
class FrameHash:
    t_ms: int  # timestamp of the frame from the start of the video stream
    pdq: str  # 64 lowercase hex digits
    quality: int  # 0-100


@dataclass(frozen=True)
class VpdqMatch:
    query_match_pct: float  # share of the query's unique good frames found in the target
    target_match_pct: float  # and the other way round

    def is_match(
        self, query_threshold: float = MATCH_THRESHOLD_PCT, target_threshold: float = MATCH_THRESHOLD_PCT
    ) -> bool:
        return self.query_match_pct >= query_threshold and self.target_match_pct >= target_threshold


# ---------------------------------------------------------------- hashing


def vpdq_hash(
    source: bytes | Path,
    *,
    fps: float | None = 1.0,
    max_duration_s: float = 3600,
    max_frames: int = 10_000,
    dedupe: bool = True,
) -> list[FrameHash]:
    """PDQ hashes of the frames sampled at `fps` (None: every frame), with their timestamps.

    dedupe drops a frame whose hash equals the previous kept frame's (a still scene yields one
    hash); the reference's sample files keep them, hence the switch. max_frames bounds the
    frames hashed; both limits raise VideoError when passed.
    """
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number or None, got {fps!r}")
    frames: list[FrameHash] = []
    with _open(source) as container:
        stream = _video_stream(container, max_duration_s)
        sampled = _sampled_frames(container, stream, fps, max_duration_s)
        for count, (t_ms, rgb) in enumerate(sampled, start=1):
            if count > max_frames:
                rate = "every frame" if fps is None else f"{fps:g} fps"
                raise VideoError(f"video has more than {max_frames} frames to hash at {rate}, the limit")
            bits, quality = pdqhash.compute(rgb)
            frame = FrameHash(t_ms, _bits_to_hex(bits), int(quality))
            if not (dedupe and frames and frames[-1].pdq == frame.pdq):
                frames.append(frame)
    if not frames:
        raise VideoError("no video frame could be decoded (corrupt or truncated video)")
    return frames


def _open(source: bytes | Path) -> av.container.InputContainer:
    options = {"format_whitelist": ",".join(ACCEPTED_CONTAINERS)}
    target = str(source) if isinstance(source, Path) else io.BytesIO(source)
    if isinstance(source, Path):
        options["protocol_whitelist"] = "file"
    try:
        # metadata_errors: a tag that is not UTF-8 (a damaged or hostile file) must not fail the open.
        return av.open(target, mode="r", container_options=options, metadata_errors="replace")
    except av.FFmpegError as e:
        accepted = ", ".join(ACCEPTED_CONTAINERS)
        raise VideoError(f"not a readable video in an accepted container ({accepted}): {e}") from None


def _video_stream(container: av.container.InputContainer, max_duration_s: float) -> av.VideoStream:
    if not container.streams.video:
        raise VideoError(f"no video stream in this {container.format.name.split(',')[0]} file")
    stream = container.streams.video[0]
    if stream.codec_context is None:  # a codec id FFmpeg has no decoder for (e.g. a damaged sample entry)
        raise VideoError("the video stream's codec cannot be decoded")
    if container.duration is not None and container.duration / av.time_base > max_duration_s:
        seconds = container.duration / av.time_base
        raise VideoError(f"video lasts {seconds:.0f} s, the limit is {max_duration_s:g} s")
    _check_size(stream.codec_context.width, stream.codec_context.height)
    stream.thread_type = "AUTO"  # frame and slice threads: decoding is most of the cost
    return stream


def _check_size(width: int, height: int) -> None:
    if width * height > MAX_FRAME_PIXELS:
        raise VideoError(f"video frames are {width}x{height}, the limit is {MAX_FRAME_PIXELS} pixels")


def _sampled_frames(
    container: av.container.InputContainer, stream: av.VideoStream, fps: float | None, max_duration_s: float
) -> Iterator[tuple[int, np.ndarray]]:
    """(t_ms, H x W x 3 C-contiguous uint8) of each frame due at `fps`. Only the packets those frames
    need are decoded (wanted_packets): the very frames a full decode would give, at a fraction of it."""
    packets = _packets(container, stream)
    origin = stream.start_time
    if origin is None:
        origin = min((p.pts for p in packets if p.pts is not None), default=None)
    if fps is not None:
        times = [packet_t_ms(p, stream, origin) for p in packets]
        wanted = wanted_packets(packets, times, 1000 / fps, 0.0)
        packets = [p for p, keep in zip(packets, wanted) if keep]
    next_slot = 0  # index of the next 1/fps slot to fill
    for index, frame in enumerate(_decoded(packets)):
        if origin is None:
            origin = frame.pts if frame.pts is not None else 0
        t_ms = _t_ms(frame, index, stream, origin)
        if t_ms > max_duration_s * 1000:
            raise VideoError(f"video lasts more than {max_duration_s:g} s, the limit")
        if fps is not None:
            if t_ms + 0.5 < next_slot * 1000 / fps:  # half a ms of slack for rounded timestamps
                continue
            next_slot = math.floor((t_ms + 0.5) * fps / 1000) + 1
        _check_size(frame.width, frame.height)
        # Native resolution and upright, as the reference (FFmpeg rotates by the display matrix).
        yield t_ms, upright(frame.to_ndarray(format="rgb24"), quarter_turns(frame))


def quarter_turns(frame: av.VideoFrame) -> int:
    """Counter-clockwise quarter turns that make the frame upright, from the display matrix a phone
    writes (FFmpeg attaches it to each decoded frame): 0 to 3. Only right angles are applied, as
    FFmpeg's own autorotation does; flips are left alone."""
    try:
        return round((frame.rotation or 0) / 90) % 4
    except (AttributeError, TypeError, ValueError, OverflowError):  # a damaged matrix (NaN, ...) is no rotation
        return 0


def upright(rgb: np.ndarray, turns: int) -> np.ndarray:
    """The H x W x 3 picture turned `turns` quarter turns counter-clockwise, C-contiguous (as pdqhash needs)."""
    return np.ascontiguousarray(np.rot90(rgb, turns) if turns else rgb)


def _t_ms(frame: av.VideoFrame, index: int, stream: av.VideoStream, origin: int) -> int:
    if frame.pts is None or stream.time_base is None:  # no timestamps: count frames
        rate = stream.average_rate or stream.guessed_rate or 30
        return round(index * 1000 / float(rate))
    return max(0, round((frame.pts - origin) * stream.time_base * 1000))


def _packets(container: av.container.InputContainer, stream: av.VideoStream) -> list[av.Packet]:
    """The stream's packets, read before decoding (to know where the keyframes are); a container
    that breaks off keeps the packets read so far."""
    packets: list[av.Packet] = []
    try:
        for packet in container.demux(stream):
            packets.append(packet)
    except av.FFmpegError:  # truncated or broken container: keep what we have
        pass
    return packets


def _decoded(packets: Iterable[av.Packet]) -> Iterator[av.VideoFrame]:
    """Decoded frames; skips packets the decoder rejects."""
    for packet in packets:
        try:
            frames = packet.decode()
        except av.FFmpegError:  # a corrupt frame: skip it
            continue
        yield from frames


def packet_t_ms(packet: av.Packet, stream: av.VideoStream, origin: int | None) -> int | None:
    if packet.pts is None or stream.time_base is None or origin is None:
        return None
    return max(0, round((packet.pts - origin) * stream.time_base * 1000))


def wanted_packets(packets: Sequence[av.Packet], times: Sequence[int | None], interval_ms: float, lateness_ms: float) -> list[bool]:
    """Which packets the decoder needs for the samples at multiples of interval_ms: every keyframe,
    and in each group of pictures the packets up to the first one (in decoding order) showing at or
    after the last slot the group serves, plus those shown before that one (B-frames). A slot at
    most lateness_ms before the next keyframe is served by the keyframe. Without timestamps or
    keyframe flags, everything is needed."""
    wanted = [True] * len(packets)
    keys = [i for i, p in enumerate(packets) if p.is_keyframe and times[i] is not None]
    if not keys or any(t is None for p, t in zip(packets, times) if p.size):
        return wanted
    for start, end in zip(keys, [*keys[1:], len(packets)]):
        if end < len(packets):  # the last slot before the next keyframe, less the lateness it may serve
            last_slot_ms = math.floor((times[end] - lateness_ms - 0.5) / interval_ms) * interval_ms  # type: ignore[operator]
        else:  # the last group: the last slot before its last frame
            last = max(t for t in times[start:end] if t is not None)
            last_slot_ms = math.floor((last + 0.5) / interval_ms) * interval_ms
        anchor = next((i for i in range(start, end) if times[i] + 0.5 >= last_slot_ms), None)  # type: ignore[operator]
        if anchor is None:
            continue  # the slot lies past the group's last frame: decode all of it
        for i in range(anchor + 1, end):
            wanted[i] = not packets[i].size or times[i] < times[anchor]  # type: ignore[operator]
    return wanted



# ---------------------------------------------------------------- matching


def vpdq_match(
    query: Sequence[FrameHash],
    target: Sequence[FrameHash],
    *,
    distance: int = DISTANCE_THRESHOLD,
    quality: int = MIN_QUALITY,
) -> VpdqMatch:
    """The reference's brute-force vPDQ comparison (match_VPDQ_hash_brute).

    Both sides: unique hashes only, frames below `quality` dropped; then the percentage of
    query hashes within `distance` of some target hash, and of target hashes within `distance`
    of some query hash. A side with no frame left matches 0% (the reference divides by zero).
    """
    a, b = _filtered(query, quality), _filtered(target, quality)
    if not len(a) or not len(b):
        return VpdqMatch(0.0, 0.0)
    a_hits, b_hits = _hits(a, b, distance)
    return VpdqMatch(100.0 * int(a_hits.sum()) / len(a), 100.0 * int(b_hits.sum()) / len(b))


def _filtered(frames: Sequence[FrameHash], quality: int) -> np.ndarray:
    """Unique hashes of the frames of at least `quality`, as (n, 4) uint64."""
    unique = dict.fromkeys(f.pdq for f in frames if f.quality >= quality)
    return hex_to_bytes(list(unique)).view(np.uint64)


def _hits(a: np.ndarray, b: np.ndarray, distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of a have a neighbour in b, and which rows of b have one in a."""
    a_hits = np.zeros(len(a), dtype=bool)
    b_hits = np.zeros(len(b), dtype=bool)
    chunk = max(1, (1 << 20) // len(b))  # bounds the (chunk, len(b), 4) temporary
    for start in range(0, len(a), chunk):
        near = _popcount(a[start : start + chunk, None, :] ^ b[None, :, :]).sum(axis=2) <= distance
        a_hits[start : start + chunk] = near.any(axis=1)
        b_hits |= near.any(axis=0)
    return a_hits, b_hits


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return np.bitwise_count(x)
    return np.unpackbits(x.view(np.uint8), axis=-1).reshape(*x.shape, 64).sum(axis=-1)


# ---------------------------------------------------------------- serialisation


def frames_to_json(frames: Sequence[FrameHash]) -> str:
    """The vPDQ signal string of python-threatexchange/HMA: a JSON list of "hex,quality,seconds"."""
    return json.dumps([f"{f.pdq},{f.quality},{f.t_ms / 1000:.3f}" for f in frames])


def frames_from_json(text: str) -> list[FrameHash]:
    """Inverse of frames_to_json (also reads HMA's vPDQ signals); VpdqFormatError lists bad frames."""
    try:
        items = orjson.loads(text)  # depth-limited: deep nesting is an error, not a RecursionError
    except (orjson.JSONDecodeError, TypeError) as e:
        raise VpdqFormatError(f"vPDQ frames are not JSON: {e}") from None
    if not isinstance(items, list):
        raise VpdqFormatError('vPDQ frames are a JSON list of "hex,quality,seconds" strings')
    frames, errors = [], []
    for n, item in enumerate(items):
        try:
            if not isinstance(item, str):
                raise ValueError(f'expected a "hex,quality,seconds" string, got {type(item).__name__}')
            parts = item.split(",")
            if len(parts) != 3:
                raise ValueError(f'expected "hex,quality,seconds", got {len(parts)} fields')
            frames.append(_frame(parts[0], parts[1], parts[2]))
        except ValueError as e:
            errors.append((n, str(e)))
    if errors:
        raise VpdqFormatError.listing("frame", errors)
    return frames


def parse_vpdq_file(text: str) -> list[FrameHash]:
    """Read the reference's hash file: `frame,quality,hash,timestamp_seconds` lines.

    Blank lines are skipped; VpdqFormatError lists every bad line by its number (from 1).
    """
    frames, errors = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(",")
        try:
            if len(parts) != 4:
                raise ValueError(f"expected 4 fields (frame,quality,hash,timestamp), got {len(parts)}")
            if not parts[0].strip().isdigit():
                raise ValueError(f"frame number {parts[0].strip()!r} is not a whole number")
            frames.append(_frame(parts[2], parts[1], parts[3]))
        except ValueError as e:
            errors.append((n, str(e)))
    if errors:
        raise VpdqFormatError.listing("line", errors)
    return frames


def format_vpdq_file(frames: Sequence[FrameHash]) -> str:
    """Write the reference's hash file format. FrameHash keeps no frame number: frames are
    numbered in list order."""
    return "".join(f"{i},{f.quality},{f.pdq},{f.t_ms / 1000:.3f}\n" for i, f in enumerate(frames))


def _frame(pdq: str, quality: str, seconds: str) -> FrameHash:
    """A validated FrameHash from text fields; ValueError names the bad field."""
    hex_ = validate_pdq(pdq)
    try:
        q = int(quality.strip())
    except ValueError:
        raise ValueError(f"quality {quality.strip()!r} is not a whole number") from None
    if not 0 <= q <= 100:
        raise ValueError(f"quality {q} is outside 0-100")
    try:
        t = float(seconds.strip())
    except ValueError:
        raise ValueError(f"timestamp {seconds.strip()!r} is not a number of seconds") from None
    if not (math.isfinite(t) and t >= 0):
        raise ValueError(f"timestamp {seconds.strip()!r} is not a time from the start of the video")
    return FrameHash(round(t * 1000), hex_, q)
