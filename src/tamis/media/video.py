"""Video decoding: untrusted bytes in, checked metadata and sampled frames out (PyAV, i.e. FFmpeg).

Two steps, at two times:

- `probe_video` runs when the video is submitted: size, container, codec, duration, frame size
  and one decodable frame are checked, and every failure is a ProblemError naming the field
  (413 past a limit, 415 not a video, 422 a video container that is damaged), so nothing bad is
  ever stored or queued.
- `FrameSampler` runs in the job: it reads the packets once, then decodes only what the samples
  need -- every keyframe, and in each group of pictures (a keyframe up to the next one) the
  packets up to the frame that serves its last 1/fps slot -- and keeps a frame every 1/fps
  seconds and at each scene change seen on the decoded frames, as an upright DecodedImage
  working copy (at most 512 px, like still images) so frames go through the same analyzers and
  hash matcher as images. Times are the decoded frames' own timestamps: exact, never rounded
  to a slot.

Damage found while decoding (the probe only reads the start): a container that ends well before
its declared duration (truncated), or more than BAD_PACKET_SHARE of packets the decoder rejects,
raise VideoDecodeError -- the job fails with that reason rather than judge a video it partly did
not see. A few rejected packets are skipped and reported in `notes`.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import av
import numpy as np
import pdqhash
from PIL import Image

from tamis.config import Settings, get_settings
from tamis.errors import bad_input, too_large, unsupported_media
from tamis.hashing.pdq import PdqHash, _bits_to_hex, pdq_hash
from tamis.hashing.vpdq import ACCEPTED_CONTAINERS, packet_t_ms, quarter_turns, upright, wanted_packets
from tamis.schema import DecodedImage
from tamis.media.images import WORKING_SIZE

# A share of rejected packets above this fails the video: too much of it was not seen.
BAD_PACKET_SHARE = 0.05
# A stream that stops this long before its declared end is truncated (plus a frame or two of slack).
TRUNCATION_SLACK_S = 1.0
# Scene detection looks at the luma plane on a grid about this wide: enough to see a cut, and
# reading ~2,000 pixels of each decoded frame costs nothing next to decoding it (bench/video.py).
SCENE_GRID = 64
# A scene change is sampled only this long after the previous sample: a strobe cannot flood the job.
SCENE_MIN_GAP_S = 0.25
# Frames are PDQ-hashed at their own resolution up to this longest side, as the vPDQ reference does:
# hashing the 512 px working copy moves hashes by a median 6 to 24 bits (bench/video.py), too
# close to the usual match distance of 31.
PDQ_MAX_SIDE = 1920

# A slot is served by the next keyframe when that keyframe comes at most this share of the sampling
# interval after it: the end of the group of pictures before it is then not decoded at all (phones
# write a keyframe every second or two, so their videos decode keyframes only).
KEYFRAME_LATENESS = 0.25

# Leading bytes of the containers we accept: a file that starts like one of them but does not
# open is a damaged video (422), anything else is not a video (415).
_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (4, b"ftyp"), (4, b"moov"), (4, b"mdat"), (4, b"free"), (4, b"wide"),  # mp4, mov
    (0, b"\x1a\x45\xdf\xa3"),  # matroska, webm
    (0, b"RIFF"), (0, b"FLV"), (0, b"\x00\x00\x01\xba"), (0, b"\x30\x26\xb2\x75"), (0, b"OggS"), (0, b"GIF8"),
)


class VideoDecodeError(ValueError):
    """The video broke while decoding (truncated, corrupt) or passed a limit its header hid."""


@dataclass(frozen=True)
class VideoInfo:
    container: str
    codec: str
    duration_s: float | None  # None when the container does not say (checked while decoding)
    width: int
    height: int
    fps: float | None

    def as_dict(self) -> dict[str, object]:
        return {"container": self.container, "codec": self.codec, "duration_s": self.duration_s,
                "width": self.width, "height": self.height, "fps": self.fps}


@dataclass(frozen=True)
class SampledFrame:
    t_ms: int
    image: DecodedImage
    scene_change: bool  # sampled because the picture changed, not because its slot came
    pdq: PdqHash | None = None  # of the frame at its own resolution (FrameSampler.hash_frames)


def _open(data: bytes) -> av.container.InputContainer:
    # The whitelist keeps FFmpeg's playlist/concat demuxers (which open other files and URLs) out.
    # metadata_errors: a tag that is not UTF-8 (a damaged or hostile file) must not fail the open.
    return av.open(io.BytesIO(data), mode="r", container_options={"format_whitelist": ",".join(ACCEPTED_CONTAINERS)},
                   metadata_errors="replace")


def _looks_like_video(data: bytes) -> bool:
    return any(data[offset:offset + len(magic)] == magic for offset, magic in _SIGNATURES) or data[:1] == b"\x47"


def probe_video(data: bytes, *, field: str, settings: Settings | None = None) -> VideoInfo:
    """Check an uploaded video before it is queued; ProblemError (naming `field`) when it will not do."""
    settings = settings or get_settings()
    if not data:
        raise bad_input("video is empty", field)
    if len(data) > settings.max_video_bytes:
        raise too_large(f"video is {len(data)} bytes, the limit is {settings.max_video_bytes}", field)
    try:
        container = _open(data)
    except av.FFmpegError as exc:
        if _looks_like_video(data):
            raise bad_input(f"video container is damaged or truncated and cannot be read: {exc}", field) from None
        accepted = ", ".join(ACCEPTED_CONTAINERS)
        raise unsupported_media(f"not a video in an accepted container ({accepted})", field) from None
    with container:
        if not container.streams.video:
            raise unsupported_media(f"no video stream in this {_name(container)} file", field)
        stream = container.streams.video[0]
        if stream.codec_context is None:  # a codec id FFmpeg has no decoder for (e.g. a damaged sample entry)
            raise bad_input(f"the video stream's codec cannot be decoded: this {_name(container)} file is damaged", field)
        info = VideoInfo(
            container=_name(container), codec=stream.codec_context.name, duration_s=_duration_s(container, stream),
            width=stream.codec_context.width, height=stream.codec_context.height,
            fps=float(stream.average_rate) if stream.average_rate else None,
        )
        check_limits(info.width, info.height, info.duration_s, field=field, settings=settings)
        if _first_frame(container, stream) is None:
            raise bad_input("no frame of the video decodes: it is corrupt or truncated", field)
    return info


def check_limits(width: int, height: int, duration_s: float | None, *, field: str, settings: Settings) -> None:
    if duration_s is not None and duration_s > settings.max_video_seconds:
        raise too_large(f"video lasts {duration_s:.1f} s, the limit is {settings.max_video_seconds:g} s", field)
    if width * height > settings.max_video_pixels:
        raise too_large(f"video frames are {width}x{height} = {width * height} pixels, "
                        f"the limit is {settings.max_video_pixels}", field)


def _name(container: av.container.InputContainer) -> str:
    return container.format.name.split(",")[0]


def _duration_s(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _first_frame(container: av.container.InputContainer, stream: av.VideoStream) -> av.VideoFrame | None:
    """The first frame that decodes; None when the start of the stream is all damage."""
    try:
        for packet in container.demux(stream):
            try:
                for frame in packet.decode():
                    return frame
            except av.FFmpegError:
                continue
        for frame in stream.codec_context.decode(None):  # frames the decoder still holds
            return frame
    except av.FFmpegError:
        return None
    return None


@dataclass
class FrameSampler:
    """Decode once and keep the frames worth judging. Iterate it; read `notes` and the counts after.

    fps: regular samples per second (lowered so that duration x fps fits in max_frames).
    scene_threshold: FFmpeg's scene score (min(MAFD, |MAFD - previous MAFD|) / 100 on the luma
    grid): a cut scores high, steady motion (a pan) does not, because its MAFD does not jump.
    skip_nonref: let the decoder drop non-reference frames (B-frames): about half the decoding
    work for H.264 (bench/video.py); a sample then lands on the nearest reference frame, and a
    flash shorter than the distance between reference frames can be missed by scene detection.
    sample_only: send the decoder only the packets the samples need (see the module docstring):
    scene detection then sees the decoded frames only, and catches a cut between samples where
    the encoder put a keyframe on it (x264 and most software encoders do; phones write keyframes
    on a fixed period). False decodes every (reference) frame, as before.
    """

    data: bytes
    fps: float
    scene_threshold: float
    max_frames: int
    settings: Settings = field(default_factory=get_settings)
    skip_nonref: bool = True
    sample_only: bool = True
    scene_detection: bool = True
    hash_frames: bool = True
    # False: frames are PDQ-hashed on their 512 px working copy (a quarter of the cost at 720p, more at
    # 1080p), enough to find near-duplicate frames when no bank needs the reference's full-size hashes.
    full_size_hash: bool = True
    info: VideoInfo | None = None
    notes: list[str] = field(default_factory=list)
    sampled: int = 0
    scene_changes: int = 0
    decoded: int = 0
    packets: int = 0  # in the stream
    sent: int = 0  # of them, given to the decoder
    last_t_ms: int = 0  # the last frame's time (decoded or not)
    rate: float = 0.0  # the sampling rate used (fps, or lower to fit max_frames)
    scene_s: float = 0.0  # time spent on scene detection (bench/video.py reports it)

    def __iter__(self) -> Iterator[SampledFrame]:
        with _open(self.data) as container:
            stream = container.streams.video[0]
            self.info = VideoInfo(_name(container), stream.codec_context.name, _duration_s(container, stream),
                                  stream.codec_context.width, stream.codec_context.height,
                                  float(stream.average_rate) if stream.average_rate else None)
            stream.thread_type = "AUTO"  # frame and slice threads: decoding is most of the cost
            if self.skip_nonref:
                stream.codec_context.skip_frame = "NONREF"
            packets = _demuxed(container, stream)
            yield from self._sample(packets, stream)

    def _rate(self) -> float:
        duration = self.info.duration_s if self.info else None
        if duration and duration * self.fps > self.max_frames:
            rate = self.max_frames / duration
            self.notes.append(f"sampled at {rate:.3g} frames/s instead of {self.fps:g} to stay within {self.max_frames} frames")
            return rate
        return self.fps

    def _sample(self, packets: list[av.Packet], stream: av.VideoStream) -> Iterator[SampledFrame]:
        self.rate = rate = self._rate()
        interval_ms = 1000.0 / rate
        next_slot_ms, last_sample_ms = 0.0, -math.inf
        previous: np.ndarray | None = None
        previous_mafd = 0.0
        origin = stream.start_time
        if origin is None:
            origin = min((p.pts for p in packets if p.pts is not None), default=None)
        times = [packet_t_ms(p, stream, origin) for p in packets]
        self.packets = sum(1 for p in packets if p.size)
        self.last_t_ms = max((t for t in times if t is not None), default=0)
        self._check_length(self.last_t_ms)
        wanted = wanted_packets(packets, times, interval_ms, KEYFRAME_LATENESS * interval_ms) if self.sample_only else None
        sent = [p for i, p in enumerate(packets) if wanted is None or wanted[i]]
        self.sent = sum(1 for p in sent if p.size)
        for frame in _decoded(sent, self):
            if origin is None:
                origin = frame.pts if frame.pts is not None else 0
            t_ms = _t_ms(frame, self.decoded, stream, origin)
            self.decoded += 1
            self.last_t_ms = max(self.last_t_ms, t_ms)
            self._check_length(t_ms)
            scene = False
            if self.scene_detection:
                started = time.perf_counter()
                grid = _luma_grid(frame)
                if previous is not None and grid.shape == previous.shape:
                    mafd = float(np.abs(grid - previous).mean())
                    scene = min(mafd, abs(mafd - previous_mafd)) / 100.0 > self.scene_threshold
                    previous_mafd = mafd
                previous = grid
                self.scene_s += time.perf_counter() - started
            due = t_ms + 0.5 >= next_slot_ms  # half a ms of slack for rounded timestamps
            scene = scene and not due and t_ms - last_sample_ms >= SCENE_MIN_GAP_S * 1000
            if not (due or scene):
                continue
            if self.sampled >= self.max_frames:
                self.notes.append(f"stopped at {self.max_frames} sampled frames (the limit), at {t_ms / 1000:.1f} s")
                return
            if due:
                next_slot_ms = (math.floor((t_ms + 0.5) / interval_ms) + 1) * interval_ms
            self.sampled += 1
            self.scene_changes += scene
            last_sample_ms = t_ms
            copy = self._working_copy(frame)
            frame_hash = None
            if self.hash_frames:
                frame_hash = _pdq(frame) if self.full_size_hash else pdq_hash(copy.image)
            yield SampledFrame(t_ms, copy, scene, frame_hash)
        self._check_complete()

    def _check_length(self, t_ms: int) -> None:
        if t_ms > self.settings.max_video_seconds * 1000:
            raise VideoDecodeError(f"video lasts more than {self.settings.max_video_seconds:g} s, the limit")

    def _working_copy(self, frame: av.VideoFrame) -> DecodedImage:
        width, height = frame.width, frame.height
        if width * height > self.settings.max_video_pixels:  # the stream changed size mid-way
            raise VideoDecodeError(f"a frame is {width}x{height}, over the limit of {self.settings.max_video_pixels} pixels")
        scale = min(1.0, WORKING_SIZE / max(width, height))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        # swscale resizes and converts in one pass, far cheaper than Pillow on the full frame;
        # the quarter turns of a phone video's display matrix are applied to the small copy.
        rgb = frame.reformat(width=size[0], height=size[1], format="rgb24", interpolation="AREA").to_ndarray()
        turns = quarter_turns(frame)
        image = Image.fromarray(upright(rgb, turns))
        if turns % 2:
            width, height = height, width
        return DecodedImage(image=image, data=b"", format="video-frame", width=width, height=height)

    def _check_complete(self) -> None:
        if self.decoded == 0:
            raise VideoDecodeError("no frame of the video decodes: it is corrupt or truncated")
        duration = self.info.duration_s if self.info else None
        end_s = self.last_t_ms / 1000  # the last packet's time: the stream really goes on that long
        if duration is not None and end_s < duration - TRUNCATION_SLACK_S - 0.05 * duration:
            raise VideoDecodeError(f"video is truncated or corrupt: decoding stopped at {end_s:.1f} s "
                                   f"of its {duration:.1f} s")


def _demuxed(container: av.container.InputContainer, stream: av.VideoStream) -> list[av.Packet]:
    """The stream's packets, read before decoding (cheap: no decoding) so that the sampler knows
    where the keyframes are; the last one is the empty packet that flushes the decoder."""
    try:
        return list(container.demux(stream))
    except av.FFmpegError as exc:  # the container itself broke off
        raise VideoDecodeError(f"video container is corrupt or truncated: {exc}") from None


def _decoded(packets: Iterable[av.Packet], sampler: FrameSampler) -> Iterator[av.VideoFrame]:
    """Decoded frames; a packet the decoder rejects is skipped and counted, too many fail the video."""
    count = bad = 0
    for packet in packets:
        count += 1
        try:
            frames = packet.decode()
        except av.FFmpegError:
            bad += 1
            if count >= 20 and bad > BAD_PACKET_SHARE * count:
                raise VideoDecodeError(f"video is corrupt or truncated: {bad} of the first {count} packets do not decode") from None
            continue
        yield from frames
    if bad:
        sampler.notes.append(f"{bad} of {count} packets did not decode and were skipped")


def _t_ms(frame: av.VideoFrame, index: int, stream: av.VideoStream, origin: int) -> int:
    if frame.pts is None or stream.time_base is None:  # no timestamps: count frames
        rate = stream.average_rate or stream.guessed_rate or 30
        return round(index * 1000 / float(rate))
    return max(0, round((frame.pts - origin) * stream.time_base * 1000))


def _pdq(frame: av.VideoFrame) -> PdqHash:
    turns = quarter_turns(frame)  # of the decoded frame: a reformatted copy need not carry its display matrix
    scale = min(1.0, PDQ_MAX_SIDE / max(frame.width, frame.height))
    if scale < 1.0:
        frame = frame.reformat(width=round(frame.width * scale), height=round(frame.height * scale), interpolation="AREA")
    # Not hashing.pdq.pdq_hash: it shrinks to 512 px, as the references do for still images.
    bits, quality = pdqhash.compute(upright(frame.to_ndarray(format="rgb24"), turns))
    return PdqHash(_bits_to_hex(bits), int(quality))


def _luma_grid(frame: av.VideoFrame) -> np.ndarray:
    """A coarse grey picture of the frame, as float32 in 0..255, read straight from the luma plane
    where the pixel format has one (no conversion); through swscale otherwise."""
    if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "gray"):
        plane = frame.planes[0]
        step = max(1, frame.width // SCENE_GRID)
        luma = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        return luma[: frame.height : step, : frame.width : step].astype(np.float32)
    small = frame.reformat(width=SCENE_GRID, height=max(1, SCENE_GRID * frame.height // max(1, frame.width)), format="gray")
    return small.to_ndarray().astype(np.float32)
