"""Links benchmark: fraudurl on a labelled URL set, link extraction on false friends, QR reading.

    PYTHONPATH=src python bench/links.py [--quick]

1. fraudurl (offline model) on bench/data/urls.jsonl: per set, the share of URLs it calls FRAUD
   (its own threshold), the share tamis's `links` analyzer scores at or above the default policy's
   scam review threshold (0.5), and how shorteners fare in each.
2. Link extraction on bench/data/link_texts.jsonl (hand-written texts incl. false friends):
   precision and recall of the spans found; and, where the shared data is there (--shared), the
   links found in ham SMS, to read by eye.
3. QR codes rendered into a 4000x3000 photo at several sizes: decode rate from the 512 px working
   copy alone and with the larger second look, and the time per image (also for photos without codes);
   and the QR widths in a 640x480 photo that only the second look reads.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import zxingcpp
from fraudurl.cli import MODEL_SAFE
from fraudurl.lexical import extract
from fraudurl.model import Model
from PIL import Image

from tamis.analyzers.links.analyzer import Links
from tamis.schema import Item
from tamis.analyzers.links.urls import find_links
from tamis.media.codes import FORMATS, LARGE_FORMATS, read_codes
from tamis.media.images import decode_image, larger_copy

DATA = Path(__file__).with_name("data")
FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "benign"
REVIEW = 0.5  # the default policy's scam review threshold


def bench_fraudurl() -> dict:
    model = Model(MODEL_SAFE)
    legit_t, fraud_t = model.thresholds["legit"], model.thresholds["fraud"]
    analyzer = Links()
    rows = [json.loads(line) for line in (DATA / "urls.jsonl").open(encoding="utf-8")]
    by_set: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    groups: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        _, p, _, _ = model.predict(extract(row["text"]), want_reasons=False)
        signal = analyzer.analyze([Item("u", text=row["text"])])[0]
        by_set[row["set"]].append((p, signal.scores.get("scam", 0.0), row["labels"]["scam"]))
        if row["set"] == "phish-written":
            groups[row["group"]].append(signal.scores.get("scam", 0.0))
    out = {"thresholds": {"legit": legit_t, "fraud": fraud_t}, "sets": {}}
    print(f"fraudurl thresholds: LEGITIMATE <= {legit_t:.3f}, FRAUD >= {fraud_t:.3f}")
    print(f"{'set':15} {'n':>4} {'label':>5} {'FRAUD':>7} {'not LEGIT':>9} {'tamis scam>=0.5':>16} {'median p':>9}")
    for name, vals in by_set.items():
        n = len(vals)
        fraud = sum(p >= fraud_t for p, _, _ in vals) / n
        doubtful = sum(p > legit_t for p, _, _ in vals) / n
        flagged = sum(s >= REVIEW for _, s, _ in vals) / n
        label = vals[0][2]
        out["sets"][name] = {"n": n, "scam": label, "fraudurl_fraud_rate": round(fraud, 3),
                             "fraudurl_not_legit_rate": round(doubtful, 3), "tamis_review_rate": round(flagged, 3)}
        print(f"{name:15} {n:4} {label:5} {fraud:7.1%} {doubtful:9.1%} {flagged:16.1%} {statistics.median(p for p, _, _ in vals):9.3f}")
    print("phish-written recall by pattern (tamis scam >= 0.5): " + ", ".join(
        f"{g} {sum(s >= REVIEW for s in v)}/{len(v)}" for g, v in groups.items()))
    out["phish_written_by_pattern"] = {g: [sum(s >= REVIEW for s in v), len(v)] for g, v in groups.items()}
    return out


def bench_extraction() -> dict:
    tp = fp = fn = 0
    misses, extras = [], []
    for line in (DATA / "link_texts.jsonl").open(encoding="utf-8"):
        case = json.loads(line)
        text, expected = case["text"], set(case["links"])
        found = {text[link.start : link.end] for link in find_links(text)}
        tp += len(found & expected)
        fp += len(found - expected)
        fn += len(expected - found)
        extras += sorted(found - expected)
        misses += sorted(expected - found)
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    print(f"extraction: precision {precision:.3f}, recall {recall:.3f} (tp {tp}, fp {fp}, fn {fn}); "
          f"false links {extras}, missed {misses}")
    return {"precision": round(precision, 3), "recall": round(recall, 3), "tp": tp, "fp": fp, "fn": fn,
            "false_links": extras, "missed": misses}


def bench_ham_sms(shared: Path) -> dict:
    """Links found in the ham SMS of sms_spam_collection (CC BY 4.0; read from the shared data, not
    shipped): to read by eye (sloppy typing: "today.do"), and what the analyzer makes of them."""
    path = shared / "sms_spam_collection.jsonl.gz"
    if not path.exists():
        print(f"ham SMS: {path} not found, skipped")
        return {}
    analyzer = Links()
    found, texts, flagged = [], 0, 0
    for line in gzip.open(path, "rt", encoding="utf-8"):
        row = json.loads(line)
        if row["labels"].get("any") != 0:
            continue
        texts += 1
        links = find_links(row["text"])
        found += [row["text"][link.start : link.end] for link in links]
        if links:
            signal = analyzer.analyze([Item("h", text=row["text"])])[0]
            flagged += signal.scores.get("scam", 0.0) >= REVIEW or signal.scores.get("spam", 0.0) >= 0.7
    print(f"ham SMS: {texts} texts, {len(found)} links found {found}; texts reaching scam/spam review: {flagged}")
    return {"texts": texts, "links": found, "review": flagged}


def _photo(size: tuple[int, int]) -> Image.Image:
    return Image.open(FIXTURES / "coffee.jpg").convert("RGB").resize(size, Image.Resampling.BICUBIC)


def _jpeg(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _qr(text: str, width: int) -> Image.Image:
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode)
    im = Image.fromarray(np.asarray(zxingcpp.write_barcode_to_image(code, scale=1)))
    return im.convert("RGB").resize((width, width), Image.Resampling.NEAREST)


def bench_qr(quick: bool) -> dict:
    url = "https://prize-claim.example.top/win?id=88213"
    size = (4000, 3000)
    widths = [60, 80, 100, 120, 160, 200, 300, 400] if not quick else [80, 160, 400]
    positions = [(300, 300), (1800, 1300), (3400, 2400)] if not quick else [(1800, 1300)]
    modules = np.asarray(zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode))).shape[0]
    print(f"QR codes ({url!r}, {modules} modules incl. quiet zone) in a {size[0]}x{size[1]} JPEG photo:")
    print(f"{'QR px':>6} {'% width':>8} {'512 px':>7} {'+2048 px':>9} {'ms (512)':>9} {'ms (both)':>10}")
    rows = []
    for width in widths:
        small = large = 0
        t_small, t_both = [], []
        for x, y in positions:
            photo = _photo(size)
            photo.paste(_qr(url, width), (x, y))
            decoded = decode_image(_jpeg(photo), field="image")
            start = time.perf_counter()
            first = read_codes(decoded, large=False)
            t_small.append(time.perf_counter() - start)
            start = time.perf_counter()
            both = read_codes(decoded)
            t_both.append(time.perf_counter() - start)
            small += any(c.text == url for c in first)
            large += any(c.text == url for c in both)
        n = len(positions)
        rows.append({"qr_px": width, "share_of_width": round(width / size[0], 3), "decoded_512": small / n,
                     "decoded_with_large": large / n, "ms_512": round(1000 * statistics.median(t_small), 1),
                     "ms_both": round(1000 * statistics.median(t_both), 1)})
        print(f"{width:6} {width / size[0]:8.1%} {small}/{n:>5} {large}/{n:>7} {rows[-1]['ms_512']:9.1f} {rows[-1]['ms_both']:10.1f}")
    timing = {}
    for label, dims, fmt in (("photo 400 px JPEG, no code", None, "JPEG"), ("frame 1280x720 JPEG, no code", (1280, 720), "JPEG"),
                             ("photo 4000x3000 JPEG, no code", size, "JPEG"), ("image 1920x1080 PNG, no code", (1920, 1080), "PNG"),
                             ("photo 4000x3000 JPEG, QR at 4% width", size, "QR")):
        if dims is None:
            data = (FIXTURES / "coffee.jpg").read_bytes()
        elif fmt == "QR":
            photo = _photo(dims)
            photo.paste(_qr(url, 160), (1800, 1300))
            data = _jpeg(photo)
        else:
            buf = io.BytesIO()
            _photo(dims).save(buf, fmt)
            data = buf.getvalue()
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(3 if quick else 5):
            for large in (False, True):
                # a fresh decode each time: the first look's codes are kept on the image once read
                decoded = decode_image(data, field="image")
                if large:
                    larger_copy(decoded)  # decoded ahead, as when OCR has asked for it: not read_codes' cost
                start = time.perf_counter()
                read_codes(decoded, large=large)
                times[large].append(time.perf_counter() - start)
        timing[label] = {"first_look_ms": round(1000 * statistics.median(times[False]), 1),
                         "with_second_look_ms": round(1000 * statistics.median(times[True]), 1)}
        print(f"read_codes on a {label}: {timing[label]['first_look_ms']} ms (512 px only), "
              f"{timing[label]['with_second_look_ms']} ms (with the second look)")
    # The second look's formats: the QR family (codes.LARGE_FORMATS) against every 2-D code.
    buf = io.BytesIO()
    _photo(size).save(buf, "JPEG", quality=90)
    grey = larger_copy(decode_image(buf.getvalue(), field="image")).convert("L")  # type: ignore[union-attr]
    for label, formats in (("the QR family (the second look's)", LARGE_FORMATS),
                           ("every 2-D code", zxingcpp.barcode_formats_from_str("QRCode,MicroQRCode,RMQRCode,DataMatrix,Aztec"))):
        spent = []
        for _ in range(3 if quick else 5):
            start = time.perf_counter()
            zxingcpp.read_barcodes(grey, formats=formats)
            spent.append(time.perf_counter() - start)
        timing[f"second look, {label}"] = {"ms": round(1000 * statistics.median(spent), 1)}
        print(f"zxing on the {grey.size[0]}x{grey.size[1]} larger copy of a {size[0]}x{size[1]} photo, {label}: "
              f"{timing[f'second look, {label}']['ms']} ms")
    # The first look's formats (codes.FORMATS, read without zxing's rotated scans) against the formats
    # it read before 2026-12-04 (1-D retail and logistics codes, DataMatrix and PDF417 too, with them),
    # on 512 px working copies of photos without codes.
    greys = [decode_image(_jpeg(_photo((640, 480)).rotate(angle)), field="image").image.convert("L") for angle in (0, 7, 90)]
    greys += [decode_image(p.read_bytes(), field="image").image.convert("L") for p in sorted(FIXTURES.glob("*.jpg"))]
    before = zxingcpp.barcode_formats_from_str("QRCode,MicroQRCode,RMQRCode,DataMatrix,Aztec,PDF417,EAN13,EAN8,UPCA,UPCE,Code128")
    for label, formats, rotate in (("its formats, no rotated scans", FORMATS, False), ("the formats before, rotated scans", before, True)):
        spent = []
        for _ in range(3 if quick else 5):
            start = time.perf_counter()
            for grey in greys:
                zxingcpp.read_barcodes(grey, formats=formats, try_rotate=rotate)
            spent.append((time.perf_counter() - start) / len(greys))
        timing[f"first look, {label}"] = {"ms": round(1000 * statistics.median(spent), 2)}
        print(f"zxing's first look on {len(greys)} working copies of photos without codes, {label}: "
              f"{timing[f'first look, {label}']['ms']} ms a photo")
    # A photo barely larger than the working copy: does the second look (the original at 640 px) still
    # find codes the 512 px copy misses? (issue 16 asked whether it could be skipped there.)
    only_second = []
    for width in range(36, 140, 8 if quick else 4):
        photo = _photo((640, 480))
        photo.paste(_qr(url, width), (300, 200))
        decoded = decode_image(_jpeg(photo), field="image")
        if not any(c.text == url for c in read_codes(decoded, large=False)) and any(c.text == url for c in read_codes(decoded)):
            only_second.append(width)
    print(f"QR codes in a 640x480 JPEG read only by the second look (at 640 px), by QR width in px: {only_second}")
    timing["640x480_second_look_only_qr_px"] = only_second  # type: ignore[assignment]
    false_reads = sum(len(read_codes(decode_image(p.read_bytes(), field="image"))) for p in sorted(FIXTURES.glob("*.jpg")))
    print(f"codes read in the {len(list(FIXTURES.glob('*.jpg')))} benign fixture photos: {false_reads}")
    return {"qr": rows, "timing_ms": timing, "false_reads_benign": false_reads}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer QR sizes and positions")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data",
                        help="the shared data folder (for the ham SMS check)")
    args = parser.parse_args()
    figures = {"fraudurl": bench_fraudurl(), "extraction": bench_extraction(), "ham_sms": bench_ham_sms(args.shared),
               "qr": bench_qr(args.quick)}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, ensure_ascii=False))
