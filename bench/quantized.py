"""int8 image classifiers against the float ones, in one run: score agreement, verdicts, speed.

Images: the project's test images (tests/fixtures: benign photos, PDQ fixtures; the read-text set of
tests/read_text_images.py) and, with --data, a folder of more (e.g. a benign image set). For each of
nsfw-image and image-safety: mean and max absolute score difference per category, and the verdicts
the default policy gives from the image classifiers' scores (float vs int8: changes counted). Speed:
ms per image at --batch, float and int8 timed in alternation, and the ratio int8 / float.

    python bench/quantized.py [--data DIR] [--batch 16] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TAMIS_DATA_DIR", tempfile.mkdtemp(prefix="tamis-bench-quantized-"))
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from read_text_images import benign, phishing  # noqa: E402

from tamis.analyzers.image_safety import ImageSafety  # noqa: E402
from tamis.analyzers.nsfw_image import NsfwImage  # noqa: E402
from tamis.media.onnx import session_threads  # noqa: E402
from tamis.config import get_settings  # noqa: E402
from tamis.errors import ProblemError  # noqa: E402
from tamis.schema import Item  # noqa: E402
from tamis.media.images import decode_image  # noqa: E402
from tamis.engine.policy import Policy, decide, default_body  # noqa: E402

SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def images(data: Path | None) -> list[tuple[str, bytes]]:
    found = [(str(p.relative_to(ROOT)), p.read_bytes()) for p in sorted((ROOT / "tests/fixtures").rglob("*"))
             if p.suffix.lower() in SUFFIXES]
    found += benign() + phishing()
    if data:
        found += [(p.name, p.read_bytes()) for p in sorted(data.rglob("*")) if p.suffix.lower() in SUFFIXES]
    return found


def analyzers(int8: bool) -> list[object]:
    os.environ["TAMIS_INT8_MODELS"] = '["nsfw-image", "image-safety"]' if int8 else "[]"
    get_settings.cache_clear()
    return [NsfwImage(), ImageSafety()]


def timed(analyzer: object, items: list[Item], batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(items), batch):
        analyzer.analyze(items[i : i + batch])  # type: ignore[attr-defined]
    return (time.perf_counter() - start) * 1000 / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="a folder of more images (optional)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    items = []
    for name, data in images(args.data):
        try:
            items.append(Item(name, image=decode_image(data, field="image")))
        except ProblemError:
            continue  # fixtures that are deliberately not images we accept
    start = time.perf_counter()
    float_models, int8_models = analyzers(False), analyzers(True)
    print(f"{len(items)} images; int8 models ready in {time.perf_counter() - start:.0f} s (derived on first use,"
          f" cached after); onnx threads per session {session_threads()}; cores {os.cpu_count()} (shared, busy machine)")

    policy = Policy("default", 1, default_body())
    verdicts_float, verdicts_int8 = [], []
    signals = {}
    for f, q in zip(float_models, int8_models):
        a, b = f.analyze(items), q.analyze(items)  # type: ignore[attr-defined]
        signals[f.name] = (a, b)  # type: ignore[attr-defined]
        for category in f.categories:  # type: ignore[attr-defined]
            diffs = [abs(x.scores[category] - y.scores[category]) for x, y in zip(a, b)]
            print(f"{f.name:>13} {category:<17} mean |diff| {statistics.mean(diffs):.4f}  max {max(diffs):.4f}")  # type: ignore[attr-defined]
    for i in range(len(items)):
        verdicts_float.append(decide(policy, [s[0][i] for s in signals.values()]).verdict)
        verdicts_int8.append(decide(policy, [s[1][i] for s in signals.values()]).verdict)
    changed = [(items[i].data_id, a, b) for i, (a, b) in enumerate(zip(verdicts_float, verdicts_int8)) if a != b]
    counts = {v: verdicts_float.count(v) for v in sorted(set(verdicts_float))}
    print(f"verdicts (default policy, both classifiers' scores): float {counts}; changed by int8: {len(changed)} {changed[:5]}")
    for k, name in enumerate(signals):  # one model int8, the other float: what TAMIS_INT8_MODELS=[name] gives
        alone = [decide(policy, [s[1 if j == k else 0][i] for j, s in enumerate(signals.values())]).verdict
                 for i in range(len(items))]
        print(f"   only {name} int8: verdicts changed {sum(a != b for a, b in zip(verdicts_float, alone))}")

    for f, q in zip(float_models, int8_models):
        timed(f, items[: args.batch], args.batch), timed(q, items[: args.batch], args.batch)  # warm-up
        tf, tq = [], []
        for _ in range(args.repeat):
            tf.append(timed(f, items, args.batch))
            tq.append(timed(q, items, args.batch))
        mf, mq = statistics.median(tf), statistics.median(tq)
        print(f"{f.name:>13} float {mf:6.1f} ms/image  int8 {mq:6.1f} ms/image  int8/float {mq / mf:.2f}"  # type: ignore[attr-defined]
              f"  (batch {args.batch}, median of {args.repeat})")


if __name__ == "__main__":
    main()
