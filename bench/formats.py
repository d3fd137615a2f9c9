"""Decode time per image format for a 12-MP phone-photo-sized image, against JPEG in the same run.

    python bench/formats.py [--repeats 5]

One 4032x3024 picture (a fixture photo upscaled, with sensor-like noise so that encoders work as
hard as on a real photo) is encoded once in each format; then `decode_image` (what the API runs:
header checks, decode, EXIF orientation, the 512 px working copy; JPEG uses libjpeg's DCT scaling)
and a plain full-size decode (`Image.open(...).load()`) are timed, formats interleaved, best of
--repeats. Ratios are against JPEG's time in the same run. The byte limit is raised for the
run: a 12-MP BMP or TIFF is over the default TAMIS_MAX_IMAGE_BYTES (20 MiB), which the table marks.
"""

from __future__ import annotations

import argparse
import io
import platform
import time
from pathlib import Path

import numpy as np
from PIL import Image

from tamis.config import Settings
from tamis.media import decode_image
from tamis.media.images import allowed_formats

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "benign" / "coffee.jpg"
SIZE = (4032, 3024)  # 12.2 MP, a phone camera's
ENCODE = {  # typical settings of the software that writes each format
    "JPEG": {"quality": 90},
    "PNG": {"compress_level": 6},
    "WEBP": {"quality": 90},
    "GIF": {},
    "HEIF": {"quality": 90},
    "AVIF": {"quality": 90, "speed": 8},
    "TIFF": {"compression": "tiff_lzw"},
    "BMP": {},
}


SETTINGS = Settings(max_image_bytes=256 * 1024 * 1024)


def photo() -> Image.Image:
    base = Image.open(FIXTURE).convert("RGB").resize(SIZE, Image.Resampling.BICUBIC)
    noise = np.random.default_rng(0).normal(0, 6, (SIZE[1], SIZE[0], 3))
    return Image.fromarray(np.clip(np.asarray(base, dtype=np.float64) + noise, 0, 255).astype(np.uint8))


def encode(im: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **ENCODE[fmt])
    return buf.getvalue()


def best_ms(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def full_decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as im:
        im.load()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    formats = [f for f in ENCODE if f in allowed_formats()]
    im = photo()
    encoded = {fmt: encode(im, fmt) for fmt in formats}
    times: dict[str, dict[str, list[float]]] = {f: {"api": [], "full": []} for f in formats}
    for _ in range(args.repeats):  # interleaved: a busy moment costs every format alike
        for fmt, data in encoded.items():
            times[fmt]["api"].append(best_ms(lambda: decode_image(data, field="bench", settings=SETTINGS), 1))
            times[fmt]["full"].append(best_ms(lambda: full_decode(data), 1))
    default_limit = Settings().max_image_bytes
    jpeg_api, jpeg_full = min(times["JPEG"]["api"]), min(times["JPEG"]["full"])
    print(f"{SIZE[0]}x{SIZE[1]} photo, best of {args.repeats}; {platform.processor() or platform.machine()}")
    print(f"{'format':<6} {'bytes':>11} {'decode_image ms':>16} {'x JPEG':>7} {'full decode ms':>15} {'x JPEG':>7}")
    for fmt in formats:
        api, full = min(times[fmt]["api"]), min(times[fmt]["full"])
        over = "  (over the default byte limit: 413)" if len(encoded[fmt]) > default_limit else ""
        print(f"{fmt:<6} {len(encoded[fmt]):>11,} {api:>16.1f} {api / jpeg_api:>7.2f} {full:>15.1f} {full / jpeg_full:>7.2f}{over}")


if __name__ == "__main__":
    main()
