"""Where an image's time goes, in one run: each default-policy image analyzer alone, the batch's
analyzers side by side (tamis.engine.judge) against the sum of their times, the cost per image of a
model call at batch 1, 4 and 16 (does batching concurrent requests' images pay?), the latency of
one image with text at a time (no HTTP: see bench/api_throughput.py for that), and the image-text
gate: found lines, read lines, and its cost on images with text, photos without text and the frames
of bench/video.py's video (a pan under a blank caption bar).

    python bench/image_analyzers.py [--images 32] [--video PATH]

Images: 640x480 JPEGs made like bench/api_throughput.py's (new ones for every measured run, so the
cache of read text never answers); tests/read_text_images.py's 64 images with text; the CC0 photos of
tests/fixtures/benign; with --video, the frames bench/video.py samples from that file. The machine
this runs on may be shared: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TAMIS_DATA_DIR", tempfile.mkdtemp(prefix="tamis-bench-image-analyzers-"))
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "bench")]

from api_throughput import default_analyzers, make_images  # noqa: E402
from read_text_images import benign, phishing  # noqa: E402

from tamis.analyzers import get_analyzer  # noqa: E402
from tamis.engine.judge import analyze  # noqa: E402
from tamis.engine.policy import Policy, default_body  # noqa: E402
from tamis.media import ocr  # noqa: E402
from tamis.media.images import decode_image  # noqa: E402
from tamis.schema import DecodedImage, Item  # noqa: E402


def items(data: list[bytes]) -> list[Item]:
    return [Item(str(i), image=decode_image(d, field="x")) for i, d in enumerate(data)]


def per_image_ms(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000 / n


def analyzers_alone(n: int, batch: int) -> dict[str, float]:
    """ms per image of each default image analyzer alone, in batches, on new images each."""
    found = {}
    for k, analyzer in enumerate(default_analyzers("image")):
        group = items(make_images(n, seed=400 + k))
        found[analyzer.name] = per_image_ms(lambda: [analyzer.analyze(group[i:i + batch]) for i in range(0, n, batch)], n)
    return found


def side_by_side(n: int, batch: int) -> tuple[float, float]:
    """ms per image of the default policy's analyzers on one batch at a time (tamis.engine.judge.analyze),
    and the cores this process got meanwhile (CPU time / wall time: on a busy machine, less than the
    cores the analyzers could use, and the gain of running them side by side shrinks with it)."""
    policy = Policy("default", 1, default_body())
    group = items(make_images(n, seed=500))
    cpu = time.process_time()
    wall = time.perf_counter()
    ms = per_image_ms(lambda: [analyze(policy, group[i:i + batch]) for i in range(0, n, batch)], n)
    return ms, (time.process_time() - cpu) / (time.perf_counter() - wall)


def batch_sizes(n: int) -> dict[tuple[str, int], float]:
    found = {}
    for name in ("nsfw-image", "image-safety"):
        analyzer = get_analyzer(name)
        group = items(make_images(n, seed=600))
        for size in (1, 4, 16):
            found[(name, size)] = per_image_ms(lambda: [analyzer.analyze(group[i:i + size]) for i in range(0, n, size)], n)
    return found


def text_latency(n: int = 20) -> tuple[float, float]:
    """p50 and p95 seconds of one image with text at a time through the default policy's analyzers."""
    policy = Policy("default", 1, default_body())
    made = benign() + phishing()
    took = []
    for data in (made[i * len(made) // n][1] for i in range(n)):
        start = time.perf_counter()
        analyze(policy, [Item("t", image=decode_image(data, field="x"))])
        took.append(time.perf_counter() - start)
    took.sort()
    return took[len(took) // 2], took[min(len(took) - 1, int(0.95 * len(took)))]


def video_frames(path: Path) -> list[DecodedImage]:
    from tamis.media.video import FrameSampler

    sampler = FrameSampler(path.read_bytes(), fps=1.0, scene_threshold=0.3, max_frames=600, full_size_hash=False)
    return [frame.image for frame in sampler]


def gate(name: str, images: list[DecodedImage]) -> None:
    """How many images have a line-shaped box, how many of them read as text, and the gate's ms per image."""
    g = ocr.get_gate()
    lines = sum(ocr.is_text(g.detect(d.image), d.image.size[1]) for d in images)
    start = time.perf_counter()
    text = sum(bool(g.text_lines(d.image)) for d in images)
    ms = (time.perf_counter() - start) * 1000 / len(images)
    print(f"  {name:34} {len(images):3} images: a line-shaped box in {lines:3}, reads as text in {text:3}; "
          f"gate {ms:6.1f} ms/image")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--video", type=Path, help="bench/video.py's video (made by it: --video PATH)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start; "
          f"{args.images} x 640x480 JPEG without text, batch {args.batch}")
    analyze(Policy("default", 1, default_body()), items(make_images(2, seed=999)))  # load every model
    alone = analyzers_alone(args.images, args.batch)
    print("each image analyzer alone, ms per image: " + ", ".join(f"{k} {v:.1f}" for k, v in alone.items()))
    together, cores = side_by_side(args.images, args.batch)
    total = sum(alone.values())
    print(f"the default policy's analyzers side by side: {together:.1f} ms per image against {total:.1f} one after "
          f"the other (sum of the above): x{together / total:.2f}; this process got {cores:.2f} cores meanwhile")
    sizes = batch_sizes(args.images)
    print("model call, ms per image at batch 1 / 4 / 16: " + "; ".join(
        f"{name} " + " / ".join(f"{sizes[(name, s)]:.1f}" for s in (1, 4, 16)) for name in ("nsfw-image", "image-safety")))
    p50, p95 = text_latency()
    print(f"images with text (read_text_images), one at a time through the analyzers: p50 {p50:.2f} s, p95 {p95:.2f} s")
    print(f"the image-text gate (int8 detector at {ocr.PRE_GATE_SIZE} px, then the float one at {ocr.GATE_SIZE} px "
          "where a box reads; recogniser on their line-shaped boxes):")
    gate("images with text (read_text_images)", [decode_image(d, field="x") for _, d in benign() + phishing()])
    photos = sorted((ROOT / "tests" / "fixtures" / "benign").glob("*.jpg"))
    gate("photos without text (fixtures)", [decode_image(p.read_bytes(), field="x") for p in photos])
    gate("made 640x480 images", [i.image for i in items(make_images(args.images, seed=700))])  # type: ignore[misc]
    if args.video:
        gate("bench/video.py frames", video_frames(args.video))
    print(f"load average {os.getloadavg()[0]:.1f} at the end (a shared machine: figures vary from run to run)")


if __name__ == "__main__":
    main()
