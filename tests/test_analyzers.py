"""The shipped analyzers: real models, loaded offline from their packages, checked against the protocol."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tamis.analyzers import available, check_conformance, get_analyzer
from tamis.schema import Item, SpanEvidence
from tamis.media import decode_image

pytestmark = pytest.mark.models

BENIGN = sorted((Path(__file__).parent / "fixtures" / "benign").glob("*.jpg"))


def image_item(path: Path) -> Item:
    return Item(path.name, image=decode_image(path.read_bytes(), field="file"))


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach the network while loading or running a model fails the test."""
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an analyzer tried to use the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_registry_lists_the_shipped_analyzers() -> None:
    from importlib.util import find_spec

    optional = ["nudenet"] if find_spec("nudenet") else []  # the extra tamis[nudenet]
    shipped = ["image-safety", "image-text", "links", "nsfw-image", "profanity-text", "text-model"]
    assert available() == sorted(shipped + optional)
    assert get_analyzer("nsfw-image") is get_analyzer("nsfw-image")  # loaded once per process


@pytest.mark.parametrize("name", ["nsfw-image", "image-safety"])
def test_image_analyzers_conform_and_pass_benign_photos(name: str) -> None:
    analyzer = get_analyzer(name)
    signals = check_conformance(analyzer, [image_item(p) for p in BENIGN])
    for path, signal in zip(BENIGN, signals):
        assert set(signal.scores) == set(analyzer.categories)
        assert signal.scores["sexual"] < 0.2, (path.name, signal.scores)


@pytest.mark.parametrize("name", ["nsfw-image", "image-safety"])
def test_image_batches_score_like_single_images(name: str) -> None:
    analyzer = get_analyzer(name)
    items = [image_item(p) for p in BENIGN]
    batched = analyzer.analyze(items)
    single = [analyzer.analyze([it])[0] for it in items]
    for b, s in zip(batched, single):
        for category in analyzer.categories:
            assert b.scores[category] == pytest.approx(s.scores[category], abs=1e-4)


def test_image_models_tell_images_apart() -> None:
    """Scores come from the model, not a constant: a cat and a flat grey card score differently."""
    grey = io.BytesIO()
    Image.new("RGB", (300, 300), (128, 128, 128)).save(grey, "PNG")
    items = [image_item(BENIGN[1]), Item("grey", image=decode_image(grey.getvalue(), field="f"))]
    for name in ("nsfw-image", "image-safety"):
        a, b = get_analyzer(name).analyze(items)
        assert a.scores != b.scores


def test_profanity_text_scores_only_profanity_with_word_evidence() -> None:
    analyzer = get_analyzer("profanity-text")
    texts = ["you are a fucking idiot", "Thanks, the parcel arrived today.", "how do I kill a Python process"]
    signals = check_conformance(analyzer, [Item(str(i), text=t) for i, t in enumerate(texts)])
    assert all(set(s.scores) == {"profanity"} for s in signals)
    rude, polite, tricky = signals
    assert rude.scores["profanity"] > 0.9 and polite.scores["profanity"] < 0.2 and tricky.scores["profanity"] < 0.5
    words = {texts[0][e.start : e.end] for e in rude.evidence if isinstance(e, SpanEvidence)}
    assert "fucking" in words and "are" not in words
    assert polite.evidence == []
