"""Per-image time of the optional `nudenet` analyzer, against `nsfw-image` in the same run.

    pip install 'tamis[nudenet]'; python bench/nudenet_speed.py [--images 32] [--repeats 3]

Photo-sized inputs (the benign fixtures upscaled to 1280x960 with noise, decoded by decode_image as
the API does) are analyzed in batches of 1 and of 8; the time is the analyzer's alone (decoding
excluded), best of --repeats, in ms per image.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

from tamis.analyzers import get_analyzer
from tamis.schema import Item
from tamis.media import decode_image

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "benign"


def items(count: int) -> list[Item]:
    rng = np.random.default_rng(0)
    photos = sorted(FIXTURES.glob("*.jpg"))
    out = []
    for i in range(count):
        base = Image.open(photos[i % len(photos)]).convert("RGB").resize((1280, 960), Image.Resampling.BICUBIC)
        noisy = np.clip(np.asarray(base, dtype=np.float64) + rng.normal(0, 6, (960, 1280, 3)), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(noisy).save(buf, "JPEG", quality=90)
        out.append(Item(f"i{i}", image=decode_image(buf.getvalue(), field="bench")))
    return out


def ms_per_image(name: str, batch: list[Item], size: int, repeats: int) -> float:
    analyzer = get_analyzer(name)
    analyzer.analyze(batch[:size])  # warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, len(batch), size):
            analyzer.analyze(batch[i : i + size])
        best = min(best, time.perf_counter() - start)
    return best * 1000 / len(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    batch = items(args.images)
    print(f"{args.images} images of 1280x960, best of {args.repeats}, {os.cpu_count()} CPUs visible")
    print(f"{'analyzer':<12} {'batch':>5} {'ms/image':>9} {'x nsfw-image':>13}")
    for size in (1, 8):
        anchor = ms_per_image("nsfw-image", batch, size, args.repeats)
        nude = ms_per_image("nudenet", batch, size, args.repeats)
        print(f"{'nsfw-image':<12} {size:>5} {anchor:>9.1f} {1.0:>13.2f}")
        print(f"{'nudenet':<12} {size:>5} {nude:>9.1f} {nude / anchor:>13.2f}")


if __name__ == "__main__":
    main()
