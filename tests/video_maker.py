"""Videos the tests make themselves with PyAV: shots of known pictures at known times."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import av
import numpy as np
from PIL import Image

BENIGN = Path(__file__).parent / "fixtures" / "benign"

Picture = Image.Image | Callable[[float], Image.Image]  # a still, or a picture per time from the shot's start


def photo(name: str) -> Image.Image:
    return Image.open(BENIGN / name).convert("RGB")


def fitted(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The picture scaled to cover `size` and centre-cropped (a full frame, no bars)."""
    scale = max(size[0] / image.width, size[1] / image.height)
    w, h = round(image.width * scale), round(image.height * scale)
    resized = image.resize((w, h), Image.Resampling.BILINEAR)
    left, top = (w - size[0]) // 2, (h - size[1]) // 2
    return resized.crop((left, top, left + size[0], top + size[1]))


def encode(shots: Sequence[tuple[float, Picture]], *, size: tuple[int, int] = (320, 240), fps: int = 10,
           fmt: str = "mp4", codec: str = "libx264", options: dict[str, str] | None = None,
           x264: str | None = None, display_rotation: int = 0) -> bytes:
    """Shots of (seconds, picture) one after the other, encoded with `codec` in container `fmt`.

    x264: libx264 parameters (e.g. "keyint=30:scenecut=0"); display_rotation: the display matrix's
    counter-clockwise turn in degrees, as a phone writes it (the pictures are given as stored)."""
    handle, path = tempfile.mkstemp(suffix=f".{fmt}")
    os.close(handle)
    try:
        with av.open(path, "w", format=fmt, options=options or {}) as container:
            stream = container.add_stream(codec, rate=fps)
            stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
            if x264:
                stream.options = {"x264-params": x264}
            if display_rotation:
                stream.set_display_rotation(display_rotation)
            for seconds, picture in shots:
                still = None if callable(picture) else fitted(picture, size)
                for i in range(round(seconds * fps)):
                    image = still if still is not None else picture(i / fps)  # type: ignore[operator]
                    frame = av.VideoFrame.from_ndarray(np.asarray(image.convert("RGB")), format="rgb24")
                    for packet in stream.encode(frame):
                        container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        return Path(path).read_bytes()
    finally:
        os.unlink(path)


def two_scenes(cut_s: float = 4.5, total_s: float = 10.0) -> bytes:
    return encode([(cut_s, photo("chelsea.jpg")), (total_s - cut_s, photo("coffee.jpg"))])


def buffer(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
