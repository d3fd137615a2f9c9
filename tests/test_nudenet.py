"""`nudenet` (the optional extra tamis[nudenet]): boxes of exposed body parts, never faces.

Held against the package's own `NudeDetector.detect` on the same pixels, so that our batched,
Pillow-fed pipeline is the detector its authors evaluated. Inputs: the benign fixtures and an
abstract drawing (a skin-toned oval with a crease, like a peach) that the detector reads as
exposed buttocks: a false positive that gives the tests a box without an explicit picture.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

pytest.importorskip("nudenet", reason="the optional extra tamis[nudenet] is not installed (pip install 'tamis[nudenet]')")

from nudenet import NudeDetector  # noqa: E402

from tamis.analyzers import available, check_conformance, get_analyzer  # noqa: E402
from tamis.analyzers import nudenet as nudenet_module  # noqa: E402
from tamis.analyzers.nudenet import EXPOSED_PARTS, MODEL_LABELS, NudeNet, _detections, _tensor  # noqa: E402
from tamis.schema import Item  # noqa: E402
from tamis.media import decode_image  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "benign"
PHOTOS = ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"]


def peach(size: int = 320) -> Image.Image:
    im = Image.new("RGB", (320, 320), (60, 60, 60))
    draw = ImageDraw.Draw(im)
    draw.ellipse((60, 40, 260, 300), fill=(200, 140, 110))
    draw.line((160, 60, 160, 290), fill=(140, 80, 50), width=6)
    return im.filter(ImageFilter.GaussianBlur(6)).resize((size, size))


def encode(im: Image.Image, fmt: str = "PNG", **params: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def item(im: Image.Image, data_id: str = "x") -> Item:
    return Item(data_id, image=decode_image(encode(im), field="f"))


def reference(image: Image.Image) -> list[dict[str, Any]]:
    """The package's own detector on the same pixels (it takes OpenCV's BGR arrays)."""
    return NudeDetector().detect(np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1]))


def ours(analyzer: NudeNet, image: Image.Image) -> list[tuple[str, float, list[float]]]:
    tensor, scale = _tensor(image)
    (output,) = analyzer._session.run(None, {analyzer._input: tensor[None]})
    return _detections(output[0], scale)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The weights are inside the wheel: nothing here may reach the network."""
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to use the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def analyzer() -> NudeNet:
    return get_analyzer("nudenet")  # type: ignore[return-value]


def test_offered_when_installed_and_labels_match_the_package() -> None:
    from nudenet import nudenet as package

    assert "nudenet" in available()
    assert list(MODEL_LABELS) == list(getattr(package, "__labels"))


@pytest.mark.models
def test_conformance_and_benign_photos_score_nothing(analyzer: NudeNet) -> None:
    signals = check_conformance(analyzer, [item(Image.open(FIXTURES / name), name) for name in PHOTOS])
    for signal in signals:
        assert signal.scores == {"sexual": 0.0} and signal.evidence == []


@pytest.mark.slow
@pytest.mark.parametrize("name", PHOTOS + ["peach"])
def test_detections_match_the_packages_own(analyzer: NudeNet, name: str) -> None:
    image = peach() if name == "peach" else decode_image((FIXTURES / name).read_bytes(), field="f").image
    expected = reference(image)
    got = ours(analyzer, image)
    assert [label for label, _, _ in got] == [d["class"] for d in expected]
    for (_, score, box), d in zip(got, expected):
        assert score == pytest.approx(d["score"], abs=1e-3)
        assert np.allclose(box, d["box"], atol=2.0), (box, d["box"])


@pytest.mark.models
def test_faces_are_dropped_entirely(analyzer: NudeNet) -> None:
    astronaut = item(Image.open(FIXTURES / "astronaut.jpg"))
    # The model does see a face here...
    assert any(label.startswith("FACE_") for label, _, _ in ours(analyzer, astronaut.image.image))  # type: ignore[union-attr]
    # ...and tamis says nothing of it: no box, no score, no label.
    (signal,) = analyzer.analyze([astronaut])
    assert signal.scores == {"sexual": 0.0} and signal.evidence == []
    assert not any(label.startswith("FACE_") for label in EXPOSED_PARTS)
    assert all("FEMALE" not in part and "MALE" not in part.upper() for part in EXPOSED_PARTS.values())


@pytest.mark.models
@pytest.mark.parametrize(("size", "at"), [((1200, 1000), (200, 25)), ((1000, 1400), (25, 400))], ids=["landscape", "portrait"])
def test_boxes_are_in_the_original_pixels(analyzer: NudeNet, size: tuple[int, int], at: tuple[int, int]) -> None:
    # A big picture (analyzers see a working copy at most 512 px long) with the drawing (950 px) at `at`.
    canvas = Image.new("RGB", size, (60, 60, 60))
    canvas.paste(peach(950), at)
    (signal,) = analyzer.analyze([item(canvas)])
    (box,) = signal.evidence
    assert box.label == "buttocks_exposed" and box.category == "sexual" and box.analyzer == "nudenet"
    assert signal.scores["sexual"] == pytest.approx(box.score, abs=1e-4) and 0.25 <= box.score <= 1
    # The package on the full-size original finds the same box, within the working copy's resolution.
    (expected,) = [d for d in reference(canvas) if d["class"] == "BUTTOCKS_EXPOSED"]
    assert np.allclose([box.x, box.y, box.w, box.h], expected["box"], atol=max(size) / 512 * 4), (box, expected)
    assert at[0] <= box.x and box.x + box.w <= at[0] + 950 and at[1] <= box.y and box.y + box.h <= at[1] + 950


@pytest.mark.models
def test_through_the_api_with_frames(client, auth: dict[str, str]) -> None:
    response = client.put("/v1/policies/default", json={"analyzers": ["nudenet"]}, headers=auth)
    assert response.status_code == 201, response.text
    still = base64.b64encode(encode(peach())).decode()
    frames = [Image.open(FIXTURES / "chelsea.jpg").convert("RGB").resize((320, 320)) for _ in range(3)] + [peach()]
    animated = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=250, loop=0)
    items = [{"data_id": "still", "image_base64": still}, {"data_id": "anim", "image_base64": base64.b64encode(animated).decode()}]
    response = client.post("/v1/moderate", json={"items": items}, headers=auth)
    assert response.status_code == 200, response.text
    still_result, anim_result = response.json()["results"]
    (box,) = [e for e in still_result["evidence"] if e["type"] == "bbox"]
    assert box["label"] == "buttocks_exposed" and box["t_ms"] is None
    (frame_box,) = [e for e in anim_result["evidence"] if e["type"] == "bbox"]
    assert frame_box["t_ms"] == 750  # the fourth frame, after three of 250 ms
    assert "FACE" not in json.dumps(response.json()).upper()


@pytest.mark.models
def test_missing_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nudenet_module, "installed", lambda: False)
    with pytest.raises(RuntimeError, match=r"tamis\[nudenet\]"):
        NudeNet()
