"""`nudenet`: exposed body parts as boxes, from NudeNet's 320n detector (optional: `tamis[nudenet]`).

The `nudenet` package (MIT code, AGPL-3.0 weights) ships its ONNX weights inside the wheel, so
nothing is downloaded; because of the AGPL it is never a default dependency: an operator installs
the extra and names `nudenet` in a policy's analyzers.

What comes out:
- `bbox` evidence for each exposed sexual body part (label `breast_exposed`, `genitalia_exposed`,
  `buttocks_exposed` or `anus_exposed`; category `sexual`; the detector's confidence; the box in
  the original image's pixels, after EXIF orientation);
- a `sexual` score: the highest confidence among those parts (0 when none). It is a detector
  confidence, NOT a calibrated probability; set the policy's thresholds with `tamis eval`.

What never comes out: the model's FACE_FEMALE / FACE_MALE detections are dropped entirely, with
no box, score or count (tamis detects no faces and infers no gender: README, "What tamis will never do");
and the model's gendered part names are reported without gender. Covered parts and exposed feet,
armpits, bellies and male chests are not sexual content and are dropped too.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from PIL import Image

from tamis.media.onnx import load_session, run_exclusive
from tamis.schema import BBoxEvidence, Item, Signal

INSTALL_HINT = "the nudenet analyzer needs the optional extra: pip install 'tamis[nudenet]'"

# The 320n model's output classes, in order (nudenet/nudenet.py).
MODEL_LABELS = (
    "FEMALE_GENITALIA_COVERED", "FACE_FEMALE", "BUTTOCKS_EXPOSED", "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED", "MALE_BREAST_EXPOSED", "ANUS_EXPOSED", "FEET_EXPOSED", "BELLY_COVERED",
    "FEET_COVERED", "ARMPITS_COVERED", "ARMPITS_EXPOSED", "FACE_MALE", "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED", "ANUS_COVERED", "FEMALE_BREAST_COVERED", "BUTTOCKS_COVERED",
)
# Model class -> the part we report (without gender). Every other class is dropped, FACE_* first of all.
EXPOSED_PARTS = {
    "FEMALE_BREAST_EXPOSED": "breast_exposed",
    "FEMALE_GENITALIA_EXPOSED": "genitalia_exposed",
    "MALE_GENITALIA_EXPOSED": "genitalia_exposed",
    "BUTTOCKS_EXPOSED": "buttocks_exposed",
    "ANUS_EXPOSED": "anus_exposed",
}
_SIDE = 320  # the model's input
# The package's own: candidates from 0.2, kept by non-maximum suppression from 0.25 (IoU 0.45).
_CANDIDATE_MIN, _DETECT_MIN, _NMS_IOU = 0.2, 0.25, 0.45


def installed() -> bool:
    return find_spec("nudenet") is not None


def _model_path() -> str:
    if not installed():
        raise RuntimeError(INSTALL_HINT)
    spec = find_spec("nudenet")
    assert spec is not None and spec.origin is not None
    return str(Path(spec.origin).parent / "320n.onnx")


def _tensor(image: Image.Image) -> tuple[np.ndarray, float]:
    """The image as the package's own `detect` feeds it: padded to a square (right and bottom,
    black), resized to 320 by OpenCV, channels in BGR order (what its cv2 pipeline passes the model
    for an image file; measured, not assumed: tests hold us to its output), values in [0, 1]. Also the
    factor from model pixels back to the image's pixels."""
    import cv2  # a nudenet dependency

    rgb = np.asarray(image.convert("RGB"))
    side = max(rgb.shape[:2])
    square = np.zeros((side, side, 3), dtype=np.uint8)
    square[: rgb.shape[0], : rgb.shape[1]] = rgb
    resized = cv2.resize(square, (_SIDE, _SIDE), interpolation=cv2.INTER_LINEAR)
    bgr = resized[:, :, ::-1].astype(np.float32) / 255.0
    return bgr.transpose(2, 0, 1), side / _SIDE


def _detections(rows: np.ndarray, scale: float) -> list[tuple[str, float, list[float]]]:
    """(model class, confidence, [x, y, w, h] in the working copy's pixels) after non-maximum suppression."""
    import cv2  # a nudenet dependency

    rows = rows.T  # [anchors, 4 + classes]
    scores = rows[:, 4:].max(axis=1)
    keep = scores >= _CANDIDATE_MIN
    rows, scores = rows[keep], scores[keep]
    classes = rows[:, 4:].argmax(axis=1)
    boxes = [[(cx - w / 2) * scale, (cy - h / 2) * scale, w * scale, h * scale] for cx, cy, w, h in rows[:, :4].tolist()]
    chosen = cv2.dnn.NMSBoxes(boxes, scores.tolist(), _DETECT_MIN, _NMS_IOU) if boxes else []
    return [(MODEL_LABELS[int(classes[i])], float(scores[i]), boxes[i]) for i in np.asarray(chosen).reshape(-1)]


class NudeNet:
    name = "nudenet"
    media = frozenset({"image"})
    categories = ("sexual",)

    def __init__(self) -> None:
        self._session = load_session(_model_path())
        self._input = self._session.get_inputs()[0].name
        try:
            self.version = f"1+nudenet-{package_version('nudenet')}"
        except PackageNotFoundError:  # importable without metadata (e.g. vendored)
            self.version = "1+nudenet"

    def analyze(self, batch: Sequence[Item]) -> list[Signal]:
        if not batch:
            return []
        tensors, scales = zip(*(_tensor(item.image.image) for item in batch))  # type: ignore[union-attr]
        (output,) = run_exclusive(self._session, {self._input: np.ascontiguousarray(np.stack(tensors))})
        return [self._signal(item, rows, scale) for item, rows, scale in zip(batch, output, scales)]

    def _signal(self, item: Item, rows: np.ndarray, scale: float) -> Signal:
        image = item.image
        assert image is not None
        # Boxes are found on the working copy; evidence is in the original's pixels.
        to_original = image.width / image.image.width
        signal = Signal(self.name, self.version, {"sexual": 0.0})
        for model_label, score, (x, y, w, h) in _detections(rows, scale):
            part = EXPOSED_PARTS.get(model_label)
            if part is None:  # faces, covered parts, non-sexual parts: not reported at all
                continue
            signal.scores["sexual"] = max(signal.scores["sexual"], min(score, 1.0))
            signal.evidence.append(_box(part, score, x, y, w, h, to_original, image.width, image.height, self.name))
        return signal


def _box(part: str, score: float, x: float, y: float, w: float, h: float, k: float, width: int, height: int, analyzer: str) -> BBoxEvidence:
    """A box scaled by k into the original, clipped to it."""
    left, top = max(0, round(x * k)), max(0, round(y * k))
    right, bottom = min(width, round((x + w) * k)), min(height, round((y + h) * k))
    return BBoxEvidence(
        x=left, y=top, w=max(0, right - left), h=max(0, bottom - top), label=part,
        analyzer=analyzer, category="sexual", score=round(min(score, 1.0), 4),
    )
