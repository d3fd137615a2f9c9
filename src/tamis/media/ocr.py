"""Reading the text in an image, offline: a cheap gate first, then an OCR engine.

Engines: `rapidocr` (PP-OCR ONNX models shipped in its wheel: the pip-only path, always there) and
Debian's `tesseract` binary where it is installed. `bench/ocr.py` measures both (speed and character
error rate) and the gate; `Settings.ocr_engine` chooses (auto: see `engine_name`).

The gate runs rapidocr's text-detection model alone on a small copy (GATE_SIZE px) of the working
copy, then the recogniser alone on the line-shaped boxes it found, in the working copy: a photo
without text costs one small detector pass, and a box that only looks like a line (a caption bar, a
fence, a stripe) one short recogniser pass. Only when a box reads as text is the image decoded again
at up to OCR_SIZE px and its text regions read, and every box is returned in ORIGINAL image pixels.
Where configured (TAMIS_INT8_MODELS has image-text, the default), an int8 copy of the detector on a
smaller copy still (PRE_GATE_SIZE px) and the recogniser on its boxes answer first: most photos stop
there at a fraction of the float detector's cost, and the others go through the float gate unchanged.
"""

from __future__ import annotations

import csv
import io
import os
import queue
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import onnxruntime as ort
from PIL import Image

from tamis.media import quantize
from tamis.config import get_settings
from tamis.media.images import larger_copy
from tamis.media.onnx import load_session, run_exclusive, session_threads, usable_cores
from tamis.schema import DecodedImage

# The name under which TAMIS_INT8_MODELS turns on the gate's int8 detector (the analyzer it serves).
GATE_INT8 = "image-text"
# Longest side the gate's detector looks at (the working copy is at most 512 px): 384 px finds every
# line of tests/read_text_images.py at 0.56x the cost of 512 (256 px misses small labels).
GATE_SIZE = 384
# Longest side the int8 detector, which answers first, looks at: 320 px, 0.7x its cost at 384 (14-19
# against 19-27 ms a photo without text, which is where it stops). It refuses none of the rendered
# images with text that the float gate finds and passes every image of tests/read_text_images.py;
# the smallest line it passes on every photo has a font 1.4-1.6 % of the image's width high, against
# 1.1-1.4 % at 384 px (text a viewer cannot read without zooming in). bench/ocr.py --only gate
# measures both. What passes goes to the float detector at GATE_SIZE as before: what is read is unchanged.
PRE_GATE_SIZE = 320
# No cheaper pre-gate: the detector at 256 px (0.45x the pixels) would refuse most text-less photos, but
# loses captions the 384 px pass finds: a 32 px serif caption on a 1280x720 photo peaks at 0.007 at 256 px
# (bench/ocr.py --only gate measures it).
# The gate's recogniser reads the largest candidate line alone (in most images with text it reads
# as text at once), then the others at most this many per pass, stopping at the first that reads.
GATE_VERIFY_BATCH = 4
# The gate's text line: a detector box at least this many times wider than high (a photo's stray
# blobs are square-ish, lines of text long: bench/ocr.py) and at most this fraction of the image high.
GATE_MIN_ASPECT = 2.0
GATE_MAX_HEIGHT = 1 / 3
# Longest side the image is decoded at for reading (bench/ocr.py: 512 px loses small meme text).
OCR_SIZE = 1280
# Lines read with less confidence than this are dropped (photo texture read as stray glyphs).
MIN_LINE_SCORE = 0.6
# Text worth reading has at least this many letters or digits (a lone "8" on a mug is not).
MIN_CHARS = 2
TESSERACT_TIMEOUT_S = 30.0
# Reading only where the gate found text: each box widened by this fraction of its height plus
# REGION_MIN_PAD px; regions that cover more than REGION_MAX_SHARE of the image are read as a whole.
REGION_MARGIN = 0.6
REGION_MIN_PAD = 12
REGION_MAX_SHARE = 0.6

Box = tuple[int, int, int, int]  # x, y, w, h
Quad = tuple[tuple[float, float], ...]  # four corners, clockwise from the top-left


@dataclass
class Word:
    text: str
    quad: Quad  # in the pixels of the image that was read (scaled to the original by ReadText.scaled)


@dataclass
class Line:
    text: str
    quad: Quad
    score: float
    # Word boxes when the engine gives them; otherwise the line box is split by characters.
    words: list[Word] = field(default_factory=list)


@dataclass
class ReadText:
    """The lines read in an image; `text` joins them with newlines, and offsets into `text` map back to boxes."""

    lines: list[Line]
    engine: str

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def worth_reading(self) -> bool:
        return sum(c.isalnum() for c in self.text) >= MIN_CHARS

    def boxes(self, start: int, end: int) -> list[tuple[Box, str]]:
        """Boxes (x, y, w, h) covering the characters [start, end) of `text`, one per line touched, with their words."""
        found = []
        offset = 0
        for line in self.lines:
            lo, hi = max(start, offset), min(end, offset + len(line.text))
            if lo < hi:
                found.append(_line_part(line, lo - offset, hi - offset))
            offset += len(line.text) + 1  # the newline
        return [(box, words) for box, words in found if box[2] > 0 and box[3] > 0]

    def scaled(self, sx: float, sy: float) -> ReadText:
        def scale(q: Quad) -> Quad:
            return tuple((x * sx, y * sy) for x, y in q)

        lines = [
            Line(ln.text, scale(ln.quad), ln.score, [Word(w.text, scale(w.quad)) for w in ln.words])
            for ln in self.lines
        ]
        return ReadText(lines, self.engine)


def _line_part(line: Line, lo: int, hi: int) -> tuple[Box, str]:
    """The box and words of characters [lo, hi) of one line: whole words where the engine boxed them,
    else a proportional slice of the line box (characters assumed of equal width)."""
    spans = _word_spans(line)
    if spans:
        # Widen [lo, hi) to whole words: evidence names words, not fragments.
        hit = [(s, e, w) for s, e, w in spans if s < hi and lo < e]
        if hit:
            lo, hi = min(s for s, _, _ in hit), max(e for _, e, _ in hit)
            return _bounds([c for _, _, w in hit for c in w.quad]), line.text[lo:hi]
    n = max(1, len(line.text))
    return _bounds(_slice(line.quad, lo / n, hi / n)), line.text[lo:hi].strip()


def _word_spans(line: Line) -> list[tuple[int, int, Word]]:
    """Each boxed word's character span in its line (words found in order; unfound ones skipped)."""
    spans, cursor = [], 0
    for word in line.words:
        at = line.text.find(word.text, cursor) if word.text else -1
        if at >= 0:
            spans.append((at, at + len(word.text), word))
            cursor = at + len(word.text)
    return spans


def _slice(quad: Quad, a: float, b: float) -> Quad:
    """The part of a (possibly slanted) line quad between fractions a and b of its length."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = quad

    def along(p: tuple[float, float], q: tuple[float, float], t: float) -> tuple[float, float]:
        return p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t

    return (along((x0, y0), (x1, y1), a), along((x0, y0), (x1, y1), b),
            along((x3, y3), (x2, y2), b), along((x3, y3), (x2, y2), a))


def _bounds(points: list[tuple[float, float]] | Quad) -> Box:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x, y = int(np.floor(min(xs))), int(np.floor(min(ys)))
    return max(0, x), max(0, y), int(np.ceil(max(xs))) - max(0, x), int(np.ceil(max(ys))) - max(0, y)


def _rect(x: float, y: float, w: float, h: float) -> Quad:
    return ((x, y), (x + w, y), (x + w, y + h), (x, y + h))


# --- engines ---------------------------------------------------------------------------------------


class Engine(Protocol):
    name: str
    version: str

    def read(self, image: Image.Image) -> list[Line]: ...


def _threads() -> int:
    return session_threads()


def _rapidocr_models() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models"


class RapidOcr:
    """rapidocr with the PP-OCR models from its wheel (given by path: it never downloads), loaded once."""

    name = "rapidocr"

    def __init__(self) -> None:
        from rapidocr import RapidOCR

        models = _rapidocr_models()
        threads = _threads()
        self.version = package_version("rapidocr")
        params = {
            "Global.log_level": "error",
            # Text is upright once EXIF orientation is applied: the 180° classifier is not worth its time.
            "Global.use_cls": False,
            "Global.return_word_box": True,
            "Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
            "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx"),
            "Cls.model_path": str(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
            # The detector looks at what it is given, never upscaled (rapidocr's default grows the short
            # side to 736 px: a strip of text cut out of an image would be read at 10x its size).
            "Det.limit_type": "max",
            "Det.limit_side_len": OCR_SIZE,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        # RapidOCR keeps per-call state on the instance: one image at a time per instance, and one
        # instance per core, so that two requests' images are read side by side, not one after the other.
        engines = [RapidOCR(params=params) for _ in range(usable_cores())]
        self._engine = engines[0]
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for engine in engines:
            self._idle.put(engine)

    def read(self, image: Image.Image) -> list[Line]:
        pixels = np.asarray(image.convert("RGB"))[:, :, ::-1]  # BGR, as OpenCV-based rapidocr expects
        engine = self._idle.get()
        try:
            out = engine(pixels)
        finally:
            self._idle.put(engine)
        if not out.txts:
            return []
        words = list(out.word_results) if out.word_results and len(out.word_results) == len(out.txts) else []
        lines = []
        for i, (quad, text, score) in enumerate(zip(out.boxes, out.txts, out.scores)):
            boxed = [Word(t, tuple((float(x), float(y)) for x, y in q)) for t, _, q in words[i]] if words else []
            lines.append(Line(text, tuple((float(x), float(y)) for x, y in quad), float(score), boxed))
        return lines


class Tesseract:
    """Debian's tesseract-ocr, run as a process (no shell) that reads a PNG on stdin and writes TSV."""

    name = "tesseract"

    def __init__(self, binary: str) -> None:
        self.binary = binary
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=TESSERACT_TIMEOUT_S)
        first = (out.stdout or out.stderr).split()  # "tesseract 5.3.0 ..."
        self.version = first[1] if len(first) > 1 else "unknown"

    def read(self, image: Image.Image) -> list[Line]:
        buf = io.BytesIO()
        image.convert("RGB").save(buf, "PNG", compress_level=1)
        env = {**os.environ, "OMP_THREAD_LIMIT": str(_threads())}
        out = subprocess.run(
            [self.binary, "stdin", "stdout", "-l", "eng", "--psm", "11", "tsv"],
            input=buf.getvalue(), capture_output=True, timeout=TESSERACT_TIMEOUT_S, env=env, check=False,
        )
        return _tsv_lines(out.stdout.decode("utf-8", "replace"))


def _tsv_lines(tsv: str) -> list[Line]:
    """Words (TSV level 5) grouped into their lines; a line's score is its words' mean confidence."""
    grouped: dict[tuple[str, str, str], list[tuple[Word, float]]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        box = _rect(*(float(row[k]) for k in ("left", "top", "width", "height")))
        grouped.setdefault((row["block_num"], row["par_num"], row["line_num"]), []).append(
            (Word(text, box), float(row["conf"]) / 100)
        )
    lines = []
    for words in grouped.values():
        points = [p for w, _ in words for p in w.quad]
        x, y, w, h = _bounds(points)
        lines.append(Line(" ".join(w.text for w, _ in words), _rect(x, y, w, h),
                          float(np.mean([c for _, c in words])), [w for w, _ in words]))
    return lines


def tesseract_binary() -> str | None:
    return shutil.which("tesseract")


def engine_name(setting: str | None = None) -> str:
    """The engine `ocr_engine` asks for. auto: tesseract where its binary is installed (it won on
    bench/ocr.py's numbers: see AUTO_PREFERS), else rapidocr, which pip always installs."""
    setting = setting or get_settings().ocr_engine
    if setting == "auto":
        return "tesseract" if AUTO_PREFERS == "tesseract" and tesseract_binary() else "rapidocr"
    return setting


# Which engine `auto` prefers when both are present: from bench/ocr.py (see its output in the report).
AUTO_PREFERS = "rapidocr"

_engine_lock = threading.Lock()


@lru_cache(maxsize=4)
def _load(name: str) -> Engine:
    if name == "tesseract":
        binary = tesseract_binary()
        if binary is None:
            raise RuntimeError("ocr_engine is tesseract but the tesseract binary is not installed")
        return Tesseract(binary)
    return RapidOcr()


def get_engine(name: str | None = None) -> Engine | None:
    """The engine, loaded once per process; None when OCR is off."""
    name = engine_name(name)
    if name == "off":
        return None
    with _engine_lock:
        return _load(name)


# --- the gate ----------------------------------------------------------------------------------------


class Gate:
    """Does the image have a line of text? rapidocr's detector alone on a small copy finds line-shaped
    boxes; its recogniser alone on those boxes (in the working copy) says whether one reads as text."""

    def __init__(self) -> None:
        from rapidocr.ch_ppocr_det.utils import DBPostProcess
        from rapidocr.ch_ppocr_rec.typings import TextRecInput
        from rapidocr.utils.process_img import get_rotate_crop_image

        self._rec_input, self._crop = TextRecInput, get_rotate_crop_image
        # The rapidocr engine's own recogniser (it keeps no per-call state; rapidocr is always installed).
        self._recogniser = _load("rapidocr")._engine._load_rec_model()  # type: ignore[attr-defined]
        detector = _rapidocr_models() / "PP-OCRv6_det_small.onnx"
        self.session = load_session(str(detector))
        self.input = self.session.get_inputs()[0].name
        # The int8 detector (TAMIS_INT8_MODELS has "image-text") answers first; only an image where one
        # of its line-shaped boxes reads as text goes through the float detector and the recogniser as
        # before, so what is read (boxes, regions) is the float detector's. None: the float one alone.
        self.pre_session = None
        if quantize.is_int8(GATE_INT8):
            self.pre_session = load_session(quantize.model_file(GATE_INT8, detector, gate_tensor))
        # rapidocr's own defaults for turning the probability map into boxes.
        self.boxes_from = DBPostProcess(thresh=0.3, box_thresh=0.5, max_candidates=1000, unclip_ratio=1.6,
                                        use_dilation=True, score_mode="fast")

    def detect(self, image: Image.Image, size: int = GATE_SIZE, session: ort.InferenceSession | None = None) -> list[Quad]:
        """The text boxes the detector (`session`, default the float one) finds in the image looked at
        with its longest side ≤ size px, as quads in `image`'s pixels."""

        prob = self.probabilities(image, size, session)
        h, w = prob.shape[2:]
        boxes, _ = self.boxes_from(prob, (h, w))
        sx, sy = image.size[0] / w, image.size[1] / h
        return [tuple((float(x) * sx, float(y) * sy) for x, y in q) for q in np.asarray(boxes).reshape(-1, 4, 2)]

    def probabilities(self, image: Image.Image, size: int, session: ort.InferenceSession | None = None) -> np.ndarray:
        """The detector's text-probability map [1, 1, h, w] of the image looked at with its longest
        side ≤ size px (each side a multiple of 32)."""
        batch = gate_tensor(image, size)[None]
        return run_exclusive(session or self.session, {self.input: batch})[0]

    def lines(self, image: Image.Image, size: int = GATE_SIZE) -> list[tuple[float, float, int]]:
        """(width, height, image height) in image pixels of each text box the detector finds."""
        return [(_dist(q[1], q[0]), _dist(q[3], q[0]), image.size[1]) for q in self.detect(image, size)]

    def has_text(self, image: Image.Image, size: int = GATE_SIZE) -> bool:
        return bool(self.text_lines(image, size))

    def text_lines(self, image: Image.Image, size: int = GATE_SIZE, *, pre: bool = True) -> list[Quad]:
        """The detector's boxes in `image` when one of its line-shaped boxes reads as text; else [].
        `pre`: the int8 detector answers first where there is one: no line-shaped box of its own that
        reads as text (a photo without text, a blank caption bar on a video frame), no float pass."""
        bgr = np.asarray(image.convert("RGB"))[:, :, ::-1]
        if pre and self.pre_session is not None and not self._reads(bgr, self.pre_lines(image, min(size, PRE_GATE_SIZE))):
            return []
        quads = self.detect(image, size)
        return quads if self._reads(bgr, line_boxes(quads, image.size[1])) else []

    def _reads(self, bgr: np.ndarray, lines: list[Quad]) -> bool:
        """Does one of these line-shaped boxes read as text? The largest is read alone first (in most
        images with text it reads at once), then the others GATE_VERIFY_BATCH at a time."""
        candidates = sorted(lines, key=lambda q: -_dist(q[1], q[0]) * _dist(q[3], q[0]))
        passes = [candidates[:1]] + [candidates[i:i + GATE_VERIFY_BATCH] for i in range(1, len(candidates), GATE_VERIFY_BATCH)]
        return any(reads_as_text(text, score) for batch in passes if batch for text, score in self.recognise(bgr, batch))

    def pre_lines(self, image: Image.Image, size: int = PRE_GATE_SIZE) -> list[Quad]:
        """The line-shaped boxes the int8 detector finds (the float one's when there is no int8 one)."""
        return line_boxes(self.detect(image, size, self.pre_session), image.size[1])

    def recognise(self, bgr: np.ndarray, quads: list[Quad]) -> list[tuple[str, float]]:
        """rapidocr's recogniser alone on each quad of a BGR picture: (text, confidence)."""
        crops = [self._crop(bgr, np.array(q, dtype=np.float32)) for q in quads]
        crops = [c for c in crops if c.size and min(c.shape[:2]) >= 2]
        if not crops:
            return []
        out = self._recogniser(self._rec_input(img=crops))
        return [(str(t), float(c)) for t, c in zip(out.txts or (), out.scores or ())]


def gate_tensor(image: Image.Image, size: int = GATE_SIZE) -> np.ndarray:
    """The detector's input [3, h, w] for the image looked at with its longest side ≤ size px (each
    side a multiple of 32): BGR, as the PaddleOCR detector was trained on, scaled to -1..1."""
    small = image.convert("RGB")
    scale = min(1.0, size / max(small.size))
    w, h = (max(32, round(d * scale / 32) * 32) for d in small.size)
    pixels = np.asarray(small.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)[:, :, ::-1]
    return np.ascontiguousarray(((pixels / 255.0 - 0.5) / 0.5).transpose(2, 0, 1))


def _dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(np.hypot(a[0] - b[0], a[1] - b[1]))


def line_boxes(quads: list[Quad], height: int) -> list[Quad]:
    """The detector's boxes shaped like a line of text (long, not a third of the image high)."""
    return [q for q in quads
            if _dist(q[1], q[0]) >= GATE_MIN_ASPECT * _dist(q[3], q[0]) and _dist(q[3], q[0]) <= GATE_MAX_HEIGHT * height]


def is_text(quads: list[Quad], height: int) -> bool:
    """Is one of the detector's boxes shaped like a line of text?"""
    return bool(line_boxes(quads, height))


def reads_as_text(text: str, score: float) -> bool:
    """A recognised line worth reading: confident, with at least MIN_CHARS letters or digits."""
    return score >= MIN_LINE_SCORE and sum(c.isalnum() for c in text) >= MIN_CHARS


def get_gate() -> Gate:
    """The gate, loaded once per process."""
    with _engine_lock:
        return _load_gate()


@lru_cache(maxsize=1)
def _load_gate() -> Gate:
    return Gate()


# --- reading an item's image -------------------------------------------------------------------------


def ocr_copy(decoded: DecodedImage, size: int = OCR_SIZE) -> Image.Image:
    """The image to read: the larger copy decoded once per image (tamis.media.images.larger_copy,
    shared with the QR codes' second look) brought to at most `size` px, when the original is larger
    than the working copy; else the working copy."""
    working = decoded.image
    if max(decoded.width, decoded.height) <= max(working.size) or size <= max(working.size):
        return working
    larger = larger_copy(decoded)
    if larger is None:
        return working
    copy = larger.copy()
    copy.thumbnail((size, size), Image.Resampling.LANCZOS)
    return copy


def read_image(decoded: DecodedImage, engine: Engine, gate: Gate | None = None) -> ReadText | None:
    """The text in an image (boxes in original pixels), or None when it has none worth reading.

    With a gate, the detector looks at a small copy first and the recogniser at the lines it found:
    no line that reads as text, no reading; else only the regions around the boxes it found are read
    in the larger copy (not the whole image).
    """
    regions: list[Box] | None = None
    image = None
    if gate is not None:
        quads = gate.text_lines(decoded.image)
        if not quads:
            return None
        image = ocr_copy(decoded)
        regions = text_regions(quads, decoded.image.size, image.size)
    image = image or ocr_copy(decoded)
    lines = [ln for ln in _read_regions(engine, image, regions) if ln.score >= MIN_LINE_SCORE and ln.text.strip()]
    read = ReadText(lines, engine.name).scaled(decoded.width / image.size[0], decoded.height / image.size[1])
    return read if read.worth_reading() else None


def text_regions(quads: list[Quad], found_in: tuple[int, int], read_in: tuple[int, int]) -> list[Box] | None:
    """The parts of the image to read: the detector's boxes (found in an image of size `found_in`)
    scaled to the image read (`read_in`), widened by REGION_MARGIN of their height (the detector at low
    resolution misses a letter's edge, or a small word next to a big one) and merged where they touch.
    None when they cover most of the image: one read of the whole costs less than many crops."""
    sx, sy = read_in[0] / found_in[0], read_in[1] / found_in[1]
    boxes = []
    for q in quads:
        x, y, w, h = _bounds([(px * sx, py * sy) for px, py in q])
        pad = int(REGION_MARGIN * h) + REGION_MIN_PAD
        boxes.append([max(0, x - pad), max(0, y - pad), min(read_in[0], x + w + pad), min(read_in[1], y + h + pad)])
    merged: list[list[int]] = []
    for box in sorted(boxes, key=lambda b: (b[1], b[0])):
        for other in merged:
            if box[0] <= other[2] and other[0] <= box[2] and box[1] <= other[3] and other[1] <= box[3]:
                other[:] = [min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]), max(box[3], other[3])]
                break
        else:
            merged.append(box)
    area = sum((b[2] - b[0]) * (b[3] - b[1]) for b in merged)
    if not merged or area > REGION_MAX_SHARE * read_in[0] * read_in[1]:
        return None
    return [(b[0], b[1], b[2] - b[0], b[3] - b[1]) for b in merged]


def _read_regions(engine: Engine, image: Image.Image, regions: list[Box] | None) -> list[Line]:
    """The lines in each region (in `image`'s pixels), or in the whole image when regions is None."""
    if regions is None:
        return engine.read(image)
    lines = []
    for x, y, w, h in regions:
        for ln in engine.read(image.crop((x, y, x + w, y + h))):
            lines.append(Line(ln.text, _shift(ln.quad, x, y), ln.score, [Word(wd.text, _shift(wd.quad, x, y)) for wd in ln.words]))
    return lines


def _shift(quad: Quad, dx: float, dy: float) -> Quad:
    return tuple((px + dx, py + dy) for px, py in quad)
