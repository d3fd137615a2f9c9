"""The comparison with the reference (tamis.textmodel.training.reference): which groups count in its mean, and
that a text is read as the service reads it."""

from __future__ import annotations

import numpy as np

from tamis.textmodel.training import universe
from tamis.textmodel.training.data import Row
from tamis.textmodel.training.reference import REFERENCE_TRAINED_ON, compare, markdown, reference_scores


def row(i: int, set_name: str, any_label: int | None, text: str = "") -> Row:
    labels = {} if any_label is None else {"any": any_label}
    return Row(f"{set_name}:{i}", text or f"text {i}", text or f"text {i}", labels, "en", set_name, None, split="train")


def test_groups_the_reference_was_trained_on_are_left_out_of_its_mean() -> None:
    y = [1] * 6 + [0] * 6
    rows = [row(i, s, v) for s in ("davidson_hate_offensive", "jigsaw_kurita_6label", "germeval2018")
            for i, v in enumerate(y)] + [row(99, "germeval2018", None)]  # unlabelled: not counted
    perfect = np.array(y, float)
    backwards = 1 - perfect
    ours = np.r_[np.tile(perfect, 3), 0.5]
    # the reference is perfect on its own training sources and backwards on the one it never saw
    ref = np.r_[perfect, perfect, backwards, 0.5]
    res = compare(rows, ours, ref)
    assert set(res["groups"]) == {"davidson_hate_offensive", "jigsaw", "germeval2018"}
    assert {g for g, f in res["groups"].items() if f["reference_trained_on"]} == {"davidson_hate_offensive", "jigsaw"}
    assert {"davidson_hate_offensive", "jigsaw"} <= REFERENCE_TRAINED_ON
    assert res["mean"]["reference"] > res["mean_unseen_by_reference"]["reference"] == res["groups"]["germeval2018"]["reference"]
    assert res["mean_unseen_by_reference"]["ours"] == 1.0
    assert "germeval2018 |" in markdown(res) and "(in the reference's training data)" in markdown(res)


def test_a_row_with_no_out_of_source_score_is_not_counted() -> None:
    rows = [row(i, "germeval2018", v) for i, v in enumerate([1] * 6 + [0] * 6)]
    ours = np.r_[np.ones(6), np.zeros(6)]
    ours[0] = np.nan
    res = compare(rows, ours, np.zeros(12))
    assert res["groups"]["germeval2018"]["ours"] == 1.0


def test_the_reference_reads_a_long_text_by_its_highest_piece() -> None:
    from tamis.analyzers.profanity_text import ProfanityText
    from tamis.schema import Item

    clean = "The committee met on Tuesday to discuss the new library opening hours and the budget. "
    insult = "You are a fucking idiot. "
    long_text = clean * 2 + insult + clean * (universe.whole_text_chars() // len(clean))
    assert len(universe.pieces(long_text)) > 1
    s = reference_scores([row(0, "x", 1, insult), row(1, "x", 0, clean), row(2, "x", 1, long_text)])
    assert s[0] > 0.5 > s[1]
    whole = ProfanityText().analyze([Item("whole", text=long_text)])[0].scores["profanity"]
    assert s[2] > 0.5 > whole  # read whole, the filler dilutes the insult; the service reads its pieces
