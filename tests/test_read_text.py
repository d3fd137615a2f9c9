"""Text read from images is judged as what it is (issue 16): labels, part numbers, code, signs and
meme captions are not messages, so they never make spam or scam verdicts under the default policy;
text that carries a link, a phone number, a handle or a call to action is judged as before."""

from __future__ import annotations

import pytest

from read_text_images import benign, jpeg, phishing, product_box
from tamis.analyzers import image_text
from tamis.engine.judge import judge as engine_judge
from tamis.analyzers.message_cues import cue, has_phone_number
from tamis.schema import Item, ItemResult
from tamis.media.images import decode_image
from tamis.engine.policy import Policy, default_body

SPAMMY = {"spam", "scam"}


def spam_verdict(result: ItemResult) -> bool:
    return result.verdict != "pass" and any(c.flagged and c.name in SPAMMY for c in result.categories)


def default_policy() -> Policy:
    return Policy("default", 1, default_body())


def judged(images: list[tuple[str, bytes]]) -> list[ItemResult]:
    items = [Item(name, image=decode_image(data, field="image")) for name, data in images]
    return engine_judge("p", default_policy(), items)[0].results


def read_texts(images: list[tuple[str, bytes]]) -> list[str]:
    reader = image_text.ImageText()
    signals = reader.analyze([Item(n, image=decode_image(d, field="image")) for n, d in images])
    return [s.read.text if s.read else "" for s in signals]  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", [
    "R25\nC10\nUSB\nST-LINK", "LOT 240611", "5 901234 123457", "IMEI 356938035643809", "S/N 4481-2290-1137",
    "Invoice 2024-0012", "Code 4471", "ONE WAY", "def main():\n    return run(args)", "WHEN THE WIFI COMES BACK",
    "Visitor parking", "Disclaimer: results may vary", "Order #48213 shipped",
])
def test_fragments_are_not_messages(text: str) -> None:
    assert cue(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("verify now at secure-paypa1-login.com", "link"),
    ("DM @crypto_king_official", "handle"),
    ("write to claims@prize-desk.example", "handle"),
    ("Click here to win", "call to action"),
    ("text JOB to 55512", "call to action"),
    ("appelez-nous au plus vite", "call to action"),
    ("Hotline +44 20 7946 0958", "phone"),
    ("Tel 06 12 34 56 78", "phone"),
])
def test_messages_have_cues(text: str, expected: str) -> None:
    assert cue(text) == expected


def test_phone_numbers_are_numbers_that_exist() -> None:
    assert has_phone_number("+1 202 555 0143") or has_phone_number("+44 20 7946 0958")
    for serial in ("5 901234 123457", "356938035643809", "4481-2290-1137", "240611", "2024-0012"):
        assert not has_phone_number(serial), serial


@pytest.mark.models
def test_benign_read_text_makes_no_spam_or_scam_verdict() -> None:
    images = benign()
    assert len(images) >= 50
    results = judged(images)
    texts = read_texts(images)  # from image-text's cache: the images were just read
    assert sum(bool(t) for t in texts) >= 0.8 * len(images), "the set must exercise reading"
    wrong = [(r.data_id, t, [(c.name, c.score) for c in r.categories if c.flagged])
             for r, t in zip(results, texts) if spam_verdict(r)]
    assert wrong == []
    # The same text posted as a message is spam or scam for the text model: the set exercises the rule.
    as_text = engine_judge("p", default_policy(), [Item(f"t{i}", text=t) for i, t in enumerate(texts) if t])[0].results
    assert any(spam_verdict(r) for r in as_text)


@pytest.mark.models
def test_text_on_a_product_is_still_judged_for_other_categories() -> None:
    """Only spam and scam need a message: the read text's other scores still count."""
    image = product_box(["Ceramic Mug", "LOT 240611"], 3)
    [result] = judged([("mug", jpeg(image))])
    names = {c.name for c in result.categories}
    assert "harassment" in names and "spam" not in names and "scam" not in names  # scored, spam/scam dropped


@pytest.mark.models
def test_phishing_in_images_is_judged_as_its_text() -> None:
    images = phishing()
    results = judged(images)
    texts = read_texts(images)
    assert all(cue(t) for t in texts), texts
    as_text = engine_judge("p", default_policy(), [Item(f"t{i}", text=t) for i, t in enumerate(texts)])[0].results
    assert [spam_verdict(r) for r in results] == [spam_verdict(r) for r in as_text]
    assert sum(spam_verdict(r) for r in results) >= 0.75 * len(images)


class Counting:
    """The real OCR engine, counting its reads."""

    def __init__(self, engine: object) -> None:
        self.engine, self.reads = engine, 0
        self.name, self.version = engine.name, engine.version  # type: ignore[attr-defined]

    def read(self, image):  # type: ignore[no-untyped-def]
        self.reads += 1
        return self.engine.read(image)  # type: ignore[attr-defined]


@pytest.mark.models
def test_the_same_image_is_read_once() -> None:
    reader = image_text.ImageText()
    reader.engine = counting = Counting(reader.engine)  # type: ignore[assignment]
    (_, meme), (_, other) = benign()[-2:]
    first = reader.analyze([Item("a", image=decode_image(meme, field="image"))])[0]
    reads = counting.reads
    assert reads >= 1 and first.read is not None  # type: ignore[attr-defined]
    # The same bytes again, decoded anew (another upload of the same meme): no read, the same text.
    again = reader.analyze([Item("b", image=decode_image(meme, field="image"))])[0]
    assert counting.reads == reads and again.read.text == first.read.text  # type: ignore[attr-defined]
    reader.analyze([Item("c", image=decode_image(other, field="image"))])
    assert counting.reads > reads  # another image is read


@pytest.mark.models
def test_video_frames_are_read_each_by_its_own_pixels() -> None:
    """A video frame's DecodedImage has no bytes: the cache must key it by its pixels, not by b"" (which
    gave every frame of every video the first frame's read)."""
    from dataclasses import replace

    reader = image_text.ImageText()
    (_, first), (_, second) = benign()[-2:]
    frames = [replace(decode_image(data, field="image"), data=b"", format="video-frame") for data in (first, second)]
    reads = [reader.analyze([Item(f"v@{i}", image=f)])[0].read for i, f in enumerate(frames)]  # type: ignore[attr-defined]
    assert all(r is not None for r in reads)
    assert reads[0].text != reads[1].text  # type: ignore[union-attr]
    again = reader.analyze([Item("v@2", image=frames[1])])[0].read  # type: ignore[attr-defined]
    assert again.text == reads[1].text


@pytest.mark.models
def test_the_read_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from tamis import config

    monkeypatch.setenv("TAMIS_OCR_CACHE_SIZE", "2")
    config.get_settings.cache_clear()
    try:
        reader = image_text.ImageText()
    finally:
        monkeypatch.undo()
        config.get_settings.cache_clear()
    reader.engine = counting = Counting(reader.engine)  # type: ignore[assignment]
    images = [decode_image(data, field="image") for _, data in benign()[-3:]]
    for image in images:
        reader.analyze([Item("x", image=image)])
    reads = counting.reads
    reader.analyze([Item("x", image=images[0])])  # the least recently used, dropped for the third
    assert counting.reads > reads and len(reader._seen) == 2
