"""OCR engines and the text gate, measured in one run on images this script renders.

Text images: phrases drawn with several fonts (DejaVu/Liberation where installed, Pillow's default
everywhere) and sizes, dark on a plain background or meme-style (white, black outline) on the
CC0 photos of tests/fixtures/benign scaled up to the canvas. Text-less images: the same photos,
cropped and scaled four ways each.

Prints, per engine and per reading size (the ≤512 px working copy vs a re-decode at ≤1280 px):
the time to read one image and the character error rate (CER: edit distance / reference length,
case-folded, whitespace collapsed), and tesseract / rapidocr ratios; then the gate's cost and its
recall on text images vs its false positives on text-less photos, at GATE_SIZE and 320 px, what a
256 px pre-gate would refuse (tried for issue 16, not kept: it loses small captions), and the smallest
text the int8 detector passes at PRE_GATE_SIZE and at GATE_SIZE; then
`read_image` (gate + read) on text-less photos, the overhead a photo without text pays; then reading
only the gate's text regions against reading the whole image (time and CER), and the cache of reads
(a second post of the same image against the first).

    TAMIS_ONNX_THREADS=2 python bench/ocr.py [--fonts 4] [--repeat 1] [--only regions|gate]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

os.environ.setdefault("TAMIS_ONNX_THREADS", "2")
os.environ.setdefault("TAMIS_DATA_DIR", __import__("tempfile").mkdtemp(prefix="tamis-bench-ocr-"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tamis.media import ocr  # noqa: E402
from tamis.media.images import decode_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = sorted((ROOT / "tests/fixtures/benign").glob("*.jpg"))
CANVAS = (1280, 720)
SIZES = (20, 32, 48, 80)  # font size in original pixels
FONT_FILES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
]
PHRASES = [
    ("WHEN THE WIFI COMES BACK", "AFTER FIVE MINUTES"),
    ("you are a worthless idiot", "nobody wants you here"),
    ("Free money! Scan to claim", "your prize at win-now.example"),
    ("Monday morning mood", "coffee first, questions later"),
    ("I will find you and hurt you", "watch your back tonight"),
    ("Best pizza in town", "open every day until midnight"),
    ("shut up you stupid clown", "go away loser"),
    ("Happy birthday grandma", "we love you so much"),
]


def fonts(count: int) -> list[tuple[str, object]]:
    """(name, factory(size) -> font): installed TrueType fonts, then Pillow's default (always there)."""
    found: list[tuple[str, object]] = [
        (Path(f).stem, lambda size, f=f: ImageFont.truetype(f, size)) for f in FONT_FILES if Path(f).exists()
    ]
    found = found[: max(0, count - 1)]
    found.append(("pillow-default", lambda size: ImageFont.load_default(size=size)))
    return found


def photo(i: int, crop: int = 0) -> Image.Image:
    """A benign photo, cropped one of four ways, scaled to the canvas."""
    im = Image.open(PHOTOS[i % len(PHOTOS)]).convert("RGB")
    w, h = im.size
    boxes = [(0, 0, w, h), (0, 0, w * 3 // 4, h * 3 // 4), (w // 4, h // 4, w, h), (w // 8, 0, w * 7 // 8, h)]
    return im.crop(boxes[crop % 4]).resize(CANVAS, Image.Resampling.BICUBIC)


def render(lines: tuple[str, str], font: ImageFont.ImageFont, size: int, background: str, index: int) -> Image.Image:
    rng = random.Random(index)
    if background == "plain":
        im = Image.new("RGB", CANVAS, tuple(rng.randint(215, 255) for _ in range(3)))
        fill, stroke, stroke_fill = (rng.randint(0, 60),) * 3, 0, None
    else:
        im = photo(index)
        fill, stroke, stroke_fill = (255, 255, 255), max(1, size // 14), (0, 0, 0)
    draw = ImageDraw.Draw(im)
    for line, y in zip(lines, (int(CANVAS[1] * 0.08), int(CANVAS[1] * 0.8))):  # top and bottom, as memes do
        x0, _, x1, _ = draw.textbbox((0, 0), line, font=font, stroke_width=stroke)
        x = max(4, (CANVAS[0] - (x1 - x0)) // 2)
        draw.text((x, y), line, font=font, fill=fill, stroke_width=stroke, stroke_fill=stroke_fill)
    return im


def encode(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def norm(text: str) -> str:
    return " ".join(text.casefold().split())


def cer(pairs: list[tuple[str, str]]) -> float:
    """Character error rate over a set: total edits / total reference characters."""
    return sum(distance(norm(got), norm(ref)) for ref, got in pairs) / sum(len(norm(ref)) for ref, _ in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fonts", type=int, default=4, help="number of fonts (the last is Pillow's default)")
    parser.add_argument("--repeat", type=int, default=1, help="timed reads per image (the median is kept)")
    parser.add_argument("--only", choices=("all", "regions", "gate"), default="all",
                        help="regions: only the regions-vs-whole and cache measures; gate: only the gate's")
    args = parser.parse_args()

    font_list = fonts(args.fonts)
    cases = []  # (decoded, reference text, background, size)
    index = 0
    for background in ("plain", "photo"):
        for size in SIZES:
            for name, factory in font_list:
                lines = PHRASES[index % len(PHRASES)]
                im = render(lines, factory(size), size, background, index)  # type: ignore[operator]
                cases.append((decode_image(encode(im), field="bench"), "\n".join(lines), background, size))
                index += 1
    negatives = [decode_image(encode(photo(i, crop)), field="bench") for i in range(len(PHOTOS)) for crop in range(4)]
    print(f"{len(cases)} text images ({len(font_list)} fonts: {', '.join(n for n, _ in font_list)}; sizes {SIZES} px;"
          f" plain and photo backgrounds; {CANVAS[0]}x{CANVAS[1]} JPEG), {len(negatives)} text-less photos;"
          f" onnx threads {os.environ['TAMIS_ONNX_THREADS']}")

    if args.only == "regions":
        regions_and_cache(cases)
        return
    if args.only == "gate":
        gate_section(ocr.get_gate(), cases, negatives)
        small_text_section(ocr.get_gate())
        return
    engines = [ocr.get_engine("rapidocr")]
    if ocr.tesseract_binary():
        engines.append(ocr.get_engine("tesseract"))
    else:
        print("tesseract: binary not installed, not measured")
    copies = {size: [ocr.ocr_copy(d, size) for d, *_ in cases] for size in (512, ocr.OCR_SIZE)}

    results: dict[tuple[str, int], tuple[float, float, dict[str, float]]] = {}
    print(f"\n{'engine':<10} {'read at':>7} {'ms/image':>9} {'CER':>6}  CER by font size {SIZES}, plain | photo")
    for engine in engines:
        engine.read(copies[512][0])  # load and warm up
        for size, images in copies.items():
            times, pairs = [], []
            for image, (_, ref, background, font_size) in zip(images, cases):
                runs = []
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    lines = engine.read(image)
                    runs.append(time.perf_counter() - start)
                times.append(statistics.median(runs))
                got = "\n".join(ln.text for ln in lines if ln.score >= ocr.MIN_LINE_SCORE)
                pairs.append((ref, got, background, font_size))
            by = {f"{bg}-{fs}": cer([(r, g) for r, g, b, s in pairs if b == bg and s == fs])
                  for bg in ("plain", "photo") for fs in SIZES}
            total = cer([(r, g) for r, g, _, _ in pairs])
            ms = 1000 * statistics.mean(times)
            results[(engine.name, size)] = (ms, total, by)
            cells = " ".join(f"{by[f'plain-{fs}']:.2f}" for fs in SIZES) + " | " + " ".join(
                f"{by[f'photo-{fs}']:.2f}" for fs in SIZES)
            print(f"{engine.name:<10} {size:>5}px {ms:>9.0f} {total:>6.3f}  {cells}")
    if len(engines) == 2:
        for size in copies:
            (r_ms, r_cer, _), (t_ms, t_cer, _) = results[("rapidocr", size)], results[("tesseract", size)]
            print(f"tesseract / rapidocr at {size}px: time x{t_ms / r_ms:.2f}, CER {t_cer:.3f} vs {r_cer:.3f}"
                  f" ({'x' + format(t_cer / r_cer, '.1f') if r_cer else 'rapidocr made no error'})")
    r512, r1280 = results[("rapidocr", 512)], results[("rapidocr", ocr.OCR_SIZE)]
    print(f"rapidocr {ocr.OCR_SIZE}px / 512px: time x{r1280[0] / r512[0]:.2f}, CER {r512[1]:.3f} -> {r1280[1]:.3f}")

    gate = ocr.get_gate()
    gate.has_text(cases[0][0].image)  # load and warm up
    print(f"\ngate: text detector on the working copy; text if a box is ≥ {ocr.GATE_MIN_ASPECT}x wider than high"
          f" and ≤ {ocr.GATE_MAX_HEIGHT:.2f} of the image high")
    gate_section(gate, cases, negatives)
    small_text_section(gate)

    default = ocr.get_engine("rapidocr")
    times, derived = [], 0
    for d in negatives:
        start = time.perf_counter()
        derived += ocr.read_image(d, default, gate) is not None
        times.append(time.perf_counter() - start)
    full = results[("rapidocr", ocr.OCR_SIZE)][0]
    print(f"\nread_image on text-less photos (gate + read where it fires): {1000 * statistics.mean(times):.0f} ms/image,"
          f" {derived}/{len(negatives)} gave text; a full rapidocr read costs {full:.0f} ms"
          f" (text-less / full: x{statistics.mean(times) * 1000 / full:.2f})")

    pipeline_overhead(PHOTOS)
    regions_and_cache(cases)


# A pre-gate tried (issue 16) and not kept: the detector at this size first, refusing an image where no
# pixel of its text-probability map reaches the detector's own box threshold.
PREGATE_SIZE, PREGATE_MIN_PROB = 256, 0.3


def gate_section(gate: ocr.Gate, cases: list[tuple], negatives: list) -> None:  # type: ignore[type-arg]
    """The gate's recall, false positives and cost at GATE_SIZE and at 320 px; and what a pre-gate
    (the detector at PREGATE_SIZE px, refusing images with no pixel >= PREGATE_MIN_PROB) would keep."""
    for size in (ocr.GATE_SIZE, 320):
        pos, neg, t_pos, t_neg = [], [], [], []
        for d, *_ in cases:
            start = time.perf_counter()
            pos.append(gate.has_text(d.image, size))
            t_pos.append(time.perf_counter() - start)
        for d in negatives:
            start = time.perf_counter()
            neg.append(gate.has_text(d.image, size))
            t_neg.append(time.perf_counter() - start)
        missed = sorted({s for (_, _, _, s), hit in zip(cases, pos) if not hit})
        print(f"gate at {size}px: {1000 * statistics.mean(t_pos):.0f} ms/image with text,"
              f" {1000 * statistics.mean(t_neg):.0f} ms/text-less photo; recall {sum(pos) / len(pos):.3f}"
              f" (missed font sizes {missed}), false positives on text-less photos {sum(neg)}/{len(neg)}")
        if size == ocr.GATE_SIZE:
            found = pos
    if gate.pre_session is not None:  # TAMIS_INT8_MODELS has image-text: the int8 detector answers first
        float_found = [bool(gate.text_lines(d.image, pre=False)) for d, *_ in cases]
        refused = [f"{background} {font_size}px" for (d, _, background, font_size), hit in zip(cases, float_found)
                   if hit and not gate.text_lines(d.image)]
        start = time.perf_counter()
        passed = sum(bool(gate.pre_lines(d.image)) for d in negatives)
        ms = 1000 * (time.perf_counter() - start) / len(negatives)
        print(f"the int8 detector first, at {ocr.PRE_GATE_SIZE} px ({ms:.0f} ms/text-less photo): refuses {len(refused)} of the "
              f"{sum(float_found)} images with text the float gate finds ({'; '.join(refused)}); finds a line-shaped "
              f"box in {passed}/{len(negatives)} text-less photos")
    start = time.perf_counter()
    peaks = [float(gate.probabilities(d.image, PREGATE_SIZE).max()) for d, *_ in cases]
    spent = [float(gate.probabilities(d.image, PREGATE_SIZE).max()) for d in negatives]
    ms = 1000 * (time.perf_counter() - start) / (len(cases) + len(negatives))
    lost = [f"{background} {font_size}px: peak {peak:.3f}" for (_, _, background, font_size), peak, hit
            in zip(cases, peaks, found) if hit and peak < PREGATE_MIN_PROB]
    print(f"a pre-gate at {PREGATE_SIZE}px (some pixel >= {PREGATE_MIN_PROB}), {ms:.0f} ms/image: would refuse "
          f"{sum(p < PREGATE_MIN_PROB for p in spent)}/{len(spent)} text-less photos and {len(lost)} images with text"
          f" that the gate finds ({'; '.join(lost)})")


# Small text for the int8 detector's size: one line of dark text on a white strip over each photo,
# canvases of these sizes, font heights in per mille of the canvas width.
SMALL_CANVASES, SMALL_FONTS = ((640, 480), (1600, 1200)), (11, 12, 14, 16, 19)
SMALL_LINES = ("Win a free iPhone at prize-claim.example", "Call 0800 555 0199 to unlock your account",
               "Follow @deals_now for more")


def small_text_section(gate: ocr.Gate) -> None:
    """How small a line of text the int8 detector (with the recogniser on its boxes) still passes, at
    ocr.PRE_GATE_SIZE against ocr.GATE_SIZE: images passed out of those with the line, per font size."""
    font_file = next((f for f in FONT_FILES if Path(f).exists()), None)
    if gate.pre_session is None or font_file is None:
        print("small text: needs the int8 detector (TAMIS_INT8_MODELS has image-text) and a TrueType font")
        return
    for width, height in SMALL_CANVASES:
        passed: dict[int, dict[int, int]] = {size: {} for size in (ocr.GATE_SIZE, ocr.PRE_GATE_SIZE)}
        for permille in SMALL_FONTS:
            font = ImageFont.truetype(font_file, round(permille * width / 1000))
            images = []
            for i, line in enumerate(SMALL_LINES * len(PHOTOS)):
                im = Image.open(PHOTOS[i % len(PHOTOS)]).convert("RGB").resize((width, height))
                draw = ImageDraw.Draw(im)
                x0, y0, x1, y1 = draw.textbbox((20, height // 2), line, font=font)
                draw.rectangle((x0 - 4, y0 - 4, x1 + 4, y1 + 4), fill="white")
                draw.text((20, height // 2), line, font=font, fill="black")
                images.append(decode_image(encode(im), field="image").image)
            for size in passed:
                passed[size][permille] = sum(bool(gate._reads(np.asarray(d)[:, :, ::-1], gate.pre_lines(d, size)))
                                             for d in images)
        print(f"small text on {width}x{height} photos ({len(images)} images a size), passed by the int8 detector,"
              " by font size in per mille of the width: " + "; ".join(
                  f"at {size} px " + ", ".join(f"{k}: {v}" for k, v in counts.items()) for size, counts in passed.items()))


def regions_and_cache(cases: list[tuple]) -> None:  # type: ignore[type-arg]
    """read_image (gate, then only its text regions) vs the gate then a read of the whole image; and
    image-text's cache: the same bytes analysed again."""
    from tamis.analyzers.image_text import ImageText
    from tamis.schema import Item

    engine, gate = ocr.get_engine("rapidocr"), ocr.get_gate()
    read_image_whole = lambda d: ocr.read_image(d, engine) if gate.has_text(d.image) else None  # noqa: E731
    read_image_whole(cases[0][0])  # warm up
    rows = {}
    for label, reader in (("whole image", read_image_whole), ("text regions", lambda d: ocr.read_image(d, engine, gate))):
        times, pairs = [], []
        for d, ref, *_ in cases:
            start = time.perf_counter()
            read = reader(d)
            times.append(time.perf_counter() - start)
            pairs.append((ref, read.text if read else ""))
        rows[label] = (1000 * statistics.mean(times), cer(pairs))
        print(f"read after the gate, {label:<12}: {rows[label][0]:.0f} ms/image, CER {rows[label][1]:.3f}")
    print(f"text regions / whole image: time x{rows['text regions'][0] / rows['whole image'][0]:.2f},"
          f" CER {rows['whole image'][1]:.3f} -> {rows['text regions'][1]:.3f}")

    analyzer = ImageText()
    first, second = [], []
    for d, *_ in cases:
        for took in (first, second):
            start = time.perf_counter()
            analyzer.analyze([Item("x", image=decode_image(d.data, field="bench"))])
            took.append(time.perf_counter() - start)
    print(f"image-text cache: first post {1000 * statistics.mean(first):.0f} ms/image, same bytes again"
          f" {1000 * statistics.mean(second):.1f} ms/image (decode included: x{statistics.mean(second) / statistics.mean(first):.3f})")


def pipeline_overhead(paths: list[Path], repeat: int = 3) -> None:
    """The default policy's image analyzers with and without image-text, through pipeline.judge, on
    the text-less benign photos (median of `repeat` runs of the batch; decoding excluded)."""
    from tamis.services import moderation as pipeline
    from tamis.schema import Item
    from tamis.engine.policy import Policy, default_body

    body = default_body()
    with_text = Policy("bench", 1, body.model_copy(update={"analyzers": [*body.analyzers, "image-text"]}))
    without = Policy("bench", 2, body.model_copy(update={"analyzers": [a for a in body.analyzers if a != "image-text"]}))
    items = [Item(p.stem, image=decode_image(p.read_bytes(), field="bench")) for p in paths]
    timings = {}
    for policy in (without, with_text, without, with_text):  # the first pass of each loads the models
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            doc = pipeline.judge("bench", policy, items)
            runs.append(time.perf_counter() - start)
        timings[policy.version] = 1000 * statistics.median(runs) / len(items)
    derived = sum(any(r.name != "image-text" and r.name not in body.analyzers and r.name != "hash-match"
                      for r in res.analyzers) for res in doc.results)
    print(f"pipeline on text-less photos ({len(items)}): {timings[2]:.0f} ms/image without image-text,"
          f" {timings[1]:.0f} ms/image with it (overhead x{timings[1] / timings[2]:.2f}); items with text analyzer runs"
          f" on read text: {derived}")


if __name__ == "__main__":
    main()
