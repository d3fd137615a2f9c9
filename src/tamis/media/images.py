"""Image decoding: untrusted bytes in, a checked, oriented, RGB working copy out.

Formats: JPEG, PNG (and APNG), WebP, GIF, TIFF, BMP, AVIF (Pillow's own plugin) and HEIC/HEIF
(pillow-heif, registered below once per process). Animations (GIF, WebP, APNG, AVIF sequences)
keep up to MAX_FRAMES frames sampled evenly in play time; see `sample_frames`.

Every failure is a ProblemError naming the field: 413 for limits, 415 for what is not an
image we accept, 422 for an image we accept that does not decode.
"""

from __future__ import annotations

import io
from bisect import bisect_right

import numpy as np
import pillow_heif
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from tamis.config import Settings, get_settings
from tamis.errors import ProblemError, bad_input, too_large, unsupported_media
from tamis.schema import DecodedImage

# Longest side of the working copy analyzers see.
WORKING_SIZE = 512

_BASE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
# Optional formats, accepted only when this Pillow has a plugin for them (AVIF is built into
# Pillow 11.3+ wheels; HEIF comes from pillow-heif, whose decoder applies the HEIF rotation itself
# and resets the EXIF orientation to 1, so the two are never applied twice).
_OPTIONAL_FORMATS = ("AVIF", "HEIF")
# EXIF orientations that swap width and height.
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}
# Formats whose extra frames are an animation (a multi-page TIFF or an MPO's second picture is not).
_ANIMATED_FORMATS = ("GIF", "WEBP", "PNG", "AVIF")
# Frames of an animation that analyzers see, spread evenly over its play time.
MAX_FRAMES = 8
# Browsers play GIF/WebP/APNG frame delays of 10 ms or less as 100 ms; timestamps follow them.
_MIN_DELAY_MS, _DEFAULT_DELAY_MS = 10, 100

pillow_heif.register_heif_opener()


def allowed_formats() -> tuple[str, ...]:
    """The formats decode_image accepts with the Pillow plugins loaded in this process."""
    Image.init()  # loads every plugin so optional ones (e.g. pillow-heif) show up in OPEN
    return _BASE_FORMATS + tuple(f for f in _OPTIONAL_FORMATS if f in Image.OPEN)


def decode_image(data: bytes, *, field: str, settings: Settings | None = None) -> DecodedImage:
    """Check and decode an image; DecodedImage.image is a working copy at most 512 px long.

    width/height are the original dimensions after EXIF orientation; format is what the bytes
    say they are (file names and Content-Type headers are never trusted).
    """
    settings = settings or get_settings()
    if not data:
        raise bad_input("image is empty", field)
    if len(data) > settings.max_image_bytes:
        raise too_large(f"image is {len(data)} bytes, the limit is {settings.max_image_bytes}", field)

    try:
        im = _open(data, field)
        with im:
            width, height = im.size
            _check_pixels(width, height, field, settings)
            _draft(im)
            im.load()
            orientation = _orientation(im)
            if orientation in _SWAPPING_ORIENTATIONS:
                width, height = height, width
            # The working copy is a plain downscale only for 8-bit RGB/grey without alpha or rotation;
            # hashes that must agree with other tools' (PDQ) are computed from the bytes otherwise.
            plain = im.mode in ("RGB", "L") and orientation in (0, 1) and "transparency" not in im.info
            fmt = "JPEG" if im.format == "MPO" else (im.format or "unknown")  # MPO: multi-picture JPEG
            larger: Image.Image | None = None
            if _is_animation(im):
                frames = _animation_frames(im, orientation, field, settings)
                working = frames[0][1]
            else:
                frames = []
                working, larger = _still_copies(im, data, (width, height))
    except ProblemError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        # Pillow's own bomb guard (a warning only escapes when warnings are errors).
        raise too_large(f"image has too many pixels: {e}", field) from None
    except Exception as e:  # Pillow raises a grab-bag of types (OSError, ValueError, SyntaxError...) on bad data
        raise bad_input(f"could not decode image: {e}", field) from None
    decoded = DecodedImage(image=working, data=data, format=fmt, width=width, height=height, plain=plain, frames=frames)
    if larger is not None:
        decoded.derived["larger"] = larger
    return decoded


# Longest side of the larger copy that OCR (1280 px) and the second look for QR codes (2048 px) read.
LARGER_SIZE = 2048
# libjpeg decodes the larger copy at the smallest of 1/2, 1/4, 1/8 that keeps the longest side at
# least OCR's 1280 px and both sides at least half of LARGER_SIZE (the QR codes' second look).
LARGER_DRAFT, LARGER_DRAFT_MIN_SIDE = 1280, LARGER_SIZE // 2


# Modes the larger copy is made from (16-bit or float greys are not: the working copy scaled them right).
_LARGER_MODES = ("RGB", "RGBA", "L", "LA", "P", "PA", "CMYK", "YCbCr")


def larger_copy(image: DecodedImage) -> Image.Image | None:
    """The original at a larger size, once per image for every analyzer that needs more than the
    working copy: oriented, RGB, alpha flattened onto white, longest side at most LARGER_SIZE (a big
    JPEG is decoded at 1/2, 1/4 or 1/8 scale, never below LARGER_DRAFT px). decode_image keeps it when
    its own decode is at that scale (every still but the largest JPEGs); otherwise the bytes are decoded
    again here. None when the original is no larger than the working copy, or when a second decode fails
    (the bytes passed decode_image: an unusual file, e.g. an animation frame Pillow decodes differently;
    the working copy was read already)."""
    with image.derived_lock:
        if "larger" not in image.derived:
            image.derived["larger"] = _decode_larger(image)
        return image.derived["larger"]


def _draft_larger(im: Image.Image) -> None:
    if im.format in ("JPEG", "MPO"):
        scale = LARGER_DRAFT / max(im.size)
        im.draft("RGB", (max(LARGER_DRAFT_MIN_SIDE, int(im.size[0] * scale) + 1),
                         max(LARGER_DRAFT_MIN_SIDE, int(im.size[1] * scale) + 1)))


def _decode_larger(image: DecodedImage) -> Image.Image | None:
    if not image.data or max(image.width, image.height) <= max(image.image.size):
        return None
    try:
        with Image.open(io.BytesIO(image.data)) as im:
            _draft_larger(im)
            im.load()
            if im.mode not in _LARGER_MODES:
                return None
            upright = ImageOps.exif_transpose(im)
            copy = _flattened(upright)
    except Exception:  # Pillow raises many types on unusual files
        return None
    copy.thumbnail((LARGER_SIZE, LARGER_SIZE), Image.Resampling.BILINEAR)
    return copy


def _larger_decode_size(data: bytes) -> tuple[int, int] | None:
    """The size _decode_larger decodes these bytes at (JPEG's draft scale), read from the header alone."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            _draft_larger(probe)
            return probe.size
    except Exception:  # the bytes decoded once already; a probe that fails just means no reuse
        return None


def _flattened(im: Image.Image) -> Image.Image:
    """RGB, alpha flattened onto white. An opaque RGB or grey picture is converted directly: compositing
    it onto white gives the same pixels at three more full-size copies' cost (a photo's second look)."""
    if im.mode in ("RGB", "L") and not im.has_transparency_data:
        return im if im.mode == "RGB" else im.convert("RGB")
    rgba = im.convert("RGBA")
    flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat.alpha_composite(rgba)
    return flat.convert("RGB")


def _open(data: bytes, field: str) -> Image.Image:
    """Identify the format from the bytes alone, trying only the formats we accept."""
    try:
        return Image.open(io.BytesIO(data), formats=allowed_formats())
    except UnidentifiedImageError:
        claimed = _claimed_format(data)
        if claimed:  # e.g. a cut-off AVIF or HEIC fails in its plugin's open, not in decoding
            raise bad_input(f"could not decode image: the bytes start as {claimed} but do not open as one", field) from None
        accepted = ", ".join(allowed_formats())
        raise unsupported_media(f"not an image in an accepted format ({accepted})", field) from None


def image_format_of(data: bytes) -> str | None:
    """The accepted image format whose signature the bytes start with, if any (nothing decoded)."""
    return _claimed_format(data)


def _claimed_format(data: bytes) -> str | None:
    """The accepted format whose signature the bytes start with, if any."""
    for fmt in allowed_formats():
        accept = Image.OPEN[fmt][1]
        try:
            if accept and accept(data[:16]):
                return fmt
        except Exception:  # a plugin's check that trips over a short prefix claims nothing
            continue
    return None


def _check_pixels(width: int, height: int, field: str, settings: Settings) -> None:
    """Refuse decompression bombs from the header, before any pixel is decoded."""
    pixels = width * height
    if pixels > settings.max_image_pixels:
        raise too_large(
            f"image is {width}x{height} = {pixels} pixels, the limit is {settings.max_image_pixels}",
            field,
        )


def _draft(im: Image.Image) -> None:
    """Let libjpeg decode a big JPEG at 1/2, 1/4 or 1/8 scale: far less work and memory.

    Asks for at least twice the working size so the final resampling still has detail to use.
    """
    if im.format not in ("JPEG", "MPO"):
        return
    width, height = im.size
    longest = max(width, height)
    if longest <= 2 * WORKING_SIZE:
        return
    scale = 2 * WORKING_SIZE / longest
    im.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation, 1 when absent or unreadable (broken EXIF is no reason to refuse a photo)."""
    try:
        value = im.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _is_animation(im: Image.Image) -> bool:
    return im.format in _ANIMATED_FORMATS and getattr(im, "n_frames", 1) > 1


def sample_frames(delays_ms: list[int], n: int = MAX_FRAMES) -> list[tuple[int, int]]:
    """(frame index, start in ms) of up to n frames: all of them when there are no more than n, else
    the frames on screen at n instants spread evenly over the play time (a frame shown long counts
    for more than a flash, as a viewer sees it)."""
    played = [d if d > _MIN_DELAY_MS else _DEFAULT_DELAY_MS for d in delays_ms]
    starts = [0]
    for delay in played[:-1]:
        starts.append(starts[-1] + delay)
    if len(played) <= n:
        return list(enumerate(starts))
    total = starts[-1] + played[-1]
    chosen: list[int] = []
    for k in range(n):
        index = bisect_right(starts, k * total / n) - 1
        if not chosen or chosen[-1] != index:
            chosen.append(index)
    return [(i, starts[i]) for i in chosen]


def _animation_frames(im: Image.Image, orientation: int, field: str, settings: Settings) -> list[tuple[int, Image.Image]]:
    """Working copies of the sampled frames, with their start times. Frames decode in sequence (each
    is drawn over the last), so the whole animation is decoded twice: once for the delays, once for
    the frames; its pixels in all frames are held to the image pixel limit."""
    count = im.n_frames
    width, height = im.size
    if count * width * height > settings.max_image_pixels:
        raise too_large(
            f"animation has {count} frames of {width}x{height} = {count * width * height} pixels to decode, "
            f"the limit is {settings.max_image_pixels}",
            field,
        )
    delays = []
    for index in range(count):
        im.seek(index)
        im.load()  # WebP reports a frame's delay only once it is decoded
        delays.append(int(im.info.get("duration") or 0))
    frames = []
    for index, t_ms in sample_frames(delays):
        im.seek(index)
        im.load()
        frames.append((t_ms, _working_copy(im.copy(), orientation)))
    return frames


def _still_copies(im: Image.Image, data: bytes, original: tuple[int, int]) -> tuple[Image.Image, Image.Image | None]:
    """The working copy of a decoded still, and its larger copy (see larger_copy) when these pixels are
    the ones larger_copy would decode: a 12-MP photo's QR codes are read again at 2016 px, and decoding
    it a second time would cost ~35 ms of the ~240 its moderation takes (bench/api_throughput.py --size).
    Same pixels as a second decode (tests/test_media.py holds them equal)."""
    # Only a JPEG is decoded at a scale (libjpeg's draft): other formats are decoded whole both times.
    reuse = (max(original) > WORKING_SIZE and im.mode in _LARGER_MODES
             and (im.format not in ("JPEG", "MPO") or im.size == _larger_decode_size(data)))
    if not reuse:
        return _working_copy(im), None
    if _orientation(im) != 1:
        ImageOps.exif_transpose(im, in_place=True)
    larger = _flattened(im)
    if larger is im:
        larger = im.copy()  # detach from the file object that is about to close
    larger.thumbnail((LARGER_SIZE, LARGER_SIZE), Image.Resampling.BILINEAR)
    return _working_copy(im, orientation=1), larger


def _working_copy(im: Image.Image, orientation: int | None = None) -> Image.Image:
    """Oriented, RGB, alpha flattened onto white, longest side at most WORKING_SIZE."""
    if orientation is None:
        orientation = _orientation(im)
    if orientation != 1:
        ImageOps.exif_transpose(im, in_place=True)
    rgb = _to_rgb(im)
    if rgb is im:
        rgb = im.copy()  # detach from the file object that is about to close
    rgb.thumbnail((WORKING_SIZE, WORKING_SIZE), Image.Resampling.LANCZOS)
    return rgb


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("I", "F") or im.mode.startswith("I;"):
        im = _to_8bit(im)
    if im.has_transparency_data:
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        background.alpha_composite(im.convert("RGBA"))
        return background.convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")


def _to_8bit(im: Image.Image) -> Image.Image:
    """Scale 16-bit and float greyscale to 8 bits; Pillow's convert() would clip them to white."""
    values = np.asarray(im, dtype=np.float64)
    if im.mode == "F":
        values = values * 255.0 if values.size and np.nanmax(values) <= 1.0 else values
    else:
        values = values / 257.0  # 16-bit range (65535 -> 255)
    return Image.fromarray(np.nan_to_num(values).clip(0, 255).astype(np.uint8))  # 2-D uint8: mode L
