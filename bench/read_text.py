"""Text read from images, judged under the shipped default policy: false spam/scam verdicts on images
whose text is no message, and recall on images whose text is phishing or spam.

The images are made by tests/read_text_images.py (product shots with component labels, screenshots of
code, street signs, memes; phishing flyers and messages). For each set it prints how many items get a
verdict other than pass with spam or scam flagged, through `tamis.engine.judge.judge` (the image's own
analyzers plus the read text's), and the same count for the read text posted as a plain text item
(what text judged as a message would give).

    python bench/read_text.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TAMIS_DATA_DIR", tempfile.mkdtemp(prefix="tamis-bench-read-text-"))
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from read_text_images import benign, phishing  # noqa: E402

from tamis.analyzers import image_text  # noqa: E402
from tamis.engine.judge import judge as engine_judge  # noqa: E402
from tamis.schema import Item, ItemResult  # noqa: E402
from tamis.media.images import decode_image  # noqa: E402
from tamis.engine.policy import Policy, default_body  # noqa: E402

SPAMMY = {"spam", "scam"}


def spam_verdict(result: ItemResult) -> bool:
    return result.verdict != "pass" and any(c.flagged and c.name in SPAMMY for c in result.categories)


def judge(images: list[tuple[str, bytes]]) -> tuple[list[ItemResult], list[ItemResult], list[str], float]:
    """Results as images, results of the read text as a text item, the read texts, seconds per image."""
    policy = Policy("default", 1, default_body())
    reader = image_text.ImageText()
    as_images, as_texts, texts = [], [], []
    start = time.perf_counter()
    for name, data in images:
        item = Item(name, image=decode_image(data, field="image"))
        as_images.append(engine_judge("bench", policy, [item])[0].results[0])
    per_image = (time.perf_counter() - start) / len(images)
    for name, data in images:
        read = reader.analyze([Item(name, image=decode_image(data, field="image"))])[0].read  # type: ignore[attr-defined]
        text = read.text if read else ""
        texts.append(text)
        as_texts.append(engine_judge("bench", policy, [Item(name, text=text or " ")])[0].results[0])
    return as_images, as_texts, texts, per_image


def main() -> None:
    for label, images in (("benign (no message)", benign()), ("phishing/spam", phishing())):
        as_images, as_texts, texts, per_image = judge(images)
        flagged = [(n, r) for (n, _), r in zip(images, as_images) if spam_verdict(r)]
        as_text = sum(spam_verdict(r) for r in as_texts)
        print(f"{label}: {len(images)} images, {per_image:.2f} s/image; spam/scam verdicts: {len(flagged)} as images,"
              f" {as_text} as text items")
        for name, result in flagged if label.startswith("benign") else []:
            text = texts[[n for n, _ in images].index(name)].replace("\n", " | ")
            print(f"   {name}: {result.verdict} {[(c.name, c.score) for c in result.categories if c.flagged]} {text!r}")
        if not label.startswith("benign"):
            missed = [n for (n, _), r in zip(images, as_images) if not spam_verdict(r)]
            print(f"   recall {1 - len(missed) / len(images):.2f} (missed: {missed})")


if __name__ == "__main__":
    main()
