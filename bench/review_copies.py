"""What a sharp review copy costs when an item is judged (made outside the transaction, for items a
person may judge: services/review_media.py), against the blurred thumbnail every image gets, in
the same run.

For each photo of tests/fixtures/benign, scaled up to --side px on its longest side and encoded as a
JPEG (a phone photo's size), times: decoding it as a request does (media.images.decode_image), the
blurred thumbnail of the working copy, and the sharp copy (a fresh decode each round, so the larger
decode it needs is paid here, as it is when no OCR ran before it). Prints medians in ms and the
ratio sharp / thumbnail, and the stored bytes of each.

    python bench/review_copies.py [--side 4000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

from PIL import Image

from tamis.media.images import decode_image
from tamis.media.review_copies import sharp_copy
from tamis.media.thumbnails import blurred_thumbnail

PHOTOS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "benign"


def _jpeg(path: Path, side: int) -> bytes:
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    scale = side / max(rgb.size)
    big = rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    big.save(out, "JPEG", quality=90)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    photos = [_jpeg(p, args.side) for p in sorted(PHOTOS.glob("*.jpg"))]
    decode_ms, thumb_ms, sharp_ms, thumb_bytes, sharp_bytes = [], [], [], [], []
    for _ in range(args.rounds):
        for data in photos:
            t = time.perf_counter()
            image = decode_image(data, field="image")
            decode_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            thumb = blurred_thumbnail(image.image)[0]
            thumb_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            sharp = sharp_copy(image)[0]
            sharp_ms.append((time.perf_counter() - t) * 1000)
            thumb_bytes.append(len(thumb))
            sharp_bytes.append(len(sharp))
    med = statistics.median
    print(f"{len(photos)} photos at {args.side} px, {args.rounds} rounds")
    print(f"decode (request): median {med(decode_ms):.1f} ms")
    print(f"blurred thumbnail (anchor): median {med(thumb_ms):.1f} ms, {med(thumb_bytes) / 1024:.1f} KiB")
    print(f"sharp review copy: median {med(sharp_ms):.1f} ms, {med(sharp_bytes) / 1024:.1f} KiB; "
          f"sharp / thumbnail = {med(sharp_ms) / med(thumb_ms):.1f}, sharp / decode = {med(sharp_ms) / med(decode_ms):.2f}")


if __name__ == "__main__":
    main()
