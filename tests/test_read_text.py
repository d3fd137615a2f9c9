"""Text read from images is judged as what it is (issue 16): labels, part numbers, code, signs and
meme captions are not messages, so they never make spam or scam verdicts under the default policy;
text that carries a link, a phone number, a handle or a call to action is judged as before."""

from __future__ import annotations

import pytest

from read_text_images import benign, jpeg, phishing, product_box
from tamis import image_text, pipeline
from tamis.analyzers.message_cues import cue, has_phone_number
from tamis.items import Item, ItemResult
from tamis.media.images import decode_image
from tamis.policy import Policy, default_body

SPAMMY = {"spam", "scam"}


def spam_verdict(result: ItemResult) -> bool:
    return result.verdict != "pass" and any(c.flagged and c.name in SPAMMY for c in result.categories)


def default_policy() -> Policy:
    return Policy("default", 1, default_body())


def judged(images: list[tuple[str, bytes]]) -> list[ItemResult]:
    items = [Item(name, image=decode_image(data, field="image")) for name, data in images]
    return pipeline.judge("p", default_policy(), items).results


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


def test_benign_read_text_makes_no_spam_or_scam_verdict() -> None:
    images = benign()
    assert len(images) >= 50
    results = judged(images)
    texts = read_texts(images)
    assert sum(bool(t) for t in texts) >= 0.8 * len(images), "the set must exercise reading"
    wrong = [(r.data_id, t, [(c.name, c.score) for c in r.categories if c.flagged])
             for r, t in zip(results, texts) if spam_verdict(r)]
    assert wrong == []
    # The same text posted as a message is spam or scam for the text model: the set exercises the rule.
    as_text = pipeline.judge("p", default_policy(), [Item(f"t{i}", text=t) for i, t in enumerate(texts) if t]).results
    assert any(spam_verdict(r) for r in as_text)


def test_text_on_a_product_is_still_judged_for_other_categories() -> None:
    """Only spam and scam need a message: the read text's other scores still count."""
    image = product_box(["Ceramic Mug", "LOT 240611"], 3)
    [result] = judged([("mug", jpeg(image))])
    names = {c.name for c in result.categories}
    assert "harassment" in names and "spam" not in names and "scam" not in names  # scored, spam/scam dropped


def test_phishing_in_images_is_judged_as_its_text() -> None:
    images = phishing()
    results = judged(images)
    texts = read_texts(images)
    assert all(cue(t) for t in texts), texts
    as_text = pipeline.judge("p", default_policy(), [Item(f"t{i}", text=t) for i, t in enumerate(texts)]).results
    assert [spam_verdict(r) for r in results] == [spam_verdict(r) for r in as_text]
    assert sum(spam_verdict(r) for r in results) >= 0.75 * len(images)
