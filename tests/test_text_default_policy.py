"""The default policy's text thresholds are the ones the shipped weights earned out of source.

`src/tamis/textmodel/weights/crossval.json` holds the leave-source-out figures of the recipe the shipped
weights were trained with (`python -m tamis.textmodel.training.crossval ... --write-policy`): for every
category, the thresholds its out-of-source predictions support and the pooled precision at every grid
threshold. A text category blocks by default only where that precision is at least 0.9 (issue 11);
the others review. `sexual` is also the image models' category: its block threshold is theirs, and the
text model's `sexual` score is capped below it when text is not precise enough to block (the analyzer's
REVIEW_ONLY_HEADS)."""

from __future__ import annotations

import json

import pytest

from tamis.analyzers.text_model import RETIRED_HEADS, REVIEW_ONLY_HEADS, TextModelAnalyzer
from tamis.engine.policy import default_body
from tamis.schema import Item
from tamis.textmodel.model import DEFAULT_PATH, TextModel

CROSSVAL = json.loads((DEFAULT_PATH.parent / "crossval.json").read_text())
DERIVED = CROSSVAL["derived_thresholds"]
SHARED_WITH_IMAGES = {"sexual"}
BLOCK_PRECISION = 0.9


def precision_at(category: str, threshold: float) -> float:
    return DERIVED[category]["precision_at"][f"{threshold:g}"]


def test_the_crossval_file_describes_the_shipped_weights() -> None:
    model = TextModel.load()
    # weights trained before recipes were named carry none: they are the `current` recipe's
    assert CROSSVAL["recipe"]["name"] == model.meta.get("recipe", "current")
    assert CROSSVAL["recipe"]["ngram_scale"] == model.meta.get("ngram_scale", 1.0)
    assert CROSSVAL["recipe"]["C"] == model.meta["C"]
    assert CROSSVAL["recipe"].get("any_blend", {}) == model.any_blend  # the scores measured are the ones reported
    served = {c for c in model.categories if c != "any"} - RETIRED_HEADS
    assert set(DERIVED) == served


def test_the_shipped_weights_are_this_codes_fit_of_the_contrast_set_as_committed(tmp_path) -> None:
    """data/text changed without a refit (or a refit shipped without a new version) would make the model card's
    and the data README's "trained on this set as it is here" false. The positives are what the weights record per
    set; a change to the clean rows alone is not seen here."""
    from tamis.textmodel.training.data import load_rows
    from tamis.textmodel.training.train import WEIGHTS_VERSION

    model = TextModel.load()
    assert model.version == WEIGHTS_VERSION
    contrast = [r for r in load_rows(tmp_path) if r.split == "train"]  # an empty data dir: data/text alone
    for head in ("any", "harassment", "harassment/threatening", "hate"):
        written = sum(r.labels.get(head) == 1 for r in contrast)
        assert model.meta["training"][head]["positive_sets"].get("tamis_contrast", 0) == written, head


@pytest.mark.parametrize("category", sorted(DERIVED))
def test_a_text_category_blocks_by_default_only_where_out_of_source_precision_reaches_0_9(category: str) -> None:
    rule = default_body().categories.get(category)
    block = rule.block if rule else None
    if category in SHARED_WITH_IMAGES:
        if DERIVED[category]["block"] is None:
            assert category in REVIEW_ONLY_HEADS  # the text score never reaches the images' block threshold
        return
    if DERIVED[category]["block"] is None:
        assert block is None, f"{category} blocks at {block}, but no threshold reaches precision 0.9 out of source"
    else:
        assert block == DERIVED[category]["block"]
        assert precision_at(category, block) >= BLOCK_PRECISION


@pytest.mark.parametrize("category", sorted(set(DERIVED) - SHARED_WITH_IMAGES))
def test_review_thresholds_are_the_out_of_source_ones(category: str) -> None:
    """Where no threshold kept every source's clean rows within the review budget (or the category's only
    source was the one held out: scam), the category keeps its previous review threshold and never blocks."""
    rule = default_body().categories.get(category)
    assert rule is not None and rule.review is not None
    if DERIVED[category]["review"] is None:
        assert rule.block is None
    else:
        assert rule.review == DERIVED[category]["review"]


def test_a_review_only_category_cannot_reach_the_block_threshold() -> None:
    """The text model's score of a REVIEW_ONLY head is capped below the default block threshold."""
    analyzer = TextModelAnalyzer()
    # explicit enough that the head's own score clears the block threshold with room (0.98 with text-model 3 and 4)
    text = "Suck my cock, you horny slut, and show me your tits."
    policy = default_body().categories
    assert REVIEW_ONLY_HEADS
    for category in REVIEW_ONLY_HEADS:
        block = policy[category].block
        assert analyzer.model.predict_dict(text)[category] >= block  # uncapped, the head would block it
        signal = analyzer.analyze([Item("t", text=text)])[0]
        assert policy[category].review <= signal.scores[category] < block
