"""The cross-validation's bookkeeping (tamis.textmodel.training.crossval), on made-up rows and scores: which rows
are held out together, what counts as a clean row, and which thresholds out-of-source scores support."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tamis.textmodel.training.crossval import (CATEGORIES, GROUPS, SERVED, derive_thresholds, folds, group_of, policy_with,
                                               summarise)
from tamis.textmodel.training.data import Row

HEADS = ("any", *CATEGORIES)


def row(i: int, set_name: str, labels: dict, lang: str = "en") -> Row:
    return Row(f"{set_name}:{i}", f"text {i}", f"text {i}", labels, lang, set_name, None, split="train")


def scores(n: int, **by_category: np.ndarray) -> np.ndarray:
    p = np.zeros((n, len(HEADS)))
    for c, v in by_category.items():
        p[:, HEADS.index(c.replace("_", "/"))] = v
    return p


def test_siblings_are_held_out_together() -> None:
    rows = [row(i, s, {"any": 0}) for s in ("robtest_jigsaw", "jigsaw_sentence_templates", "jigsaw_kurita_6label",
                                            "sms_spam_collection", "sms_smishing_5971", "germeval2018",
                                            "tamis_contrast") for i in range(3)]
    for k in (0, 2):
        held = [g for fold in folds(rows, k) for g in fold]
        assert sorted(held) == sorted(set(held))  # each group once
        assert "tamis_contrast" not in held  # always trained on, never scored
        assert {"jigsaw", "sms", "germeval2018"} == set(held)
    assert {group_of(s) for s in GROUPS["jigsaw"]} == {"jigsaw"}


def test_clean_rates_count_only_the_categories_a_row_is_clean_for() -> None:
    rows = [row(0, "a", {"any": 0}), row(1, "a", {"any": 0}),
            row(2, "b", {"extremism": 0, "spam": 0}),  # partly labelled (UN speeches): violence is unknown
            row(3, "a", {"any": 1, "harassment": 1})]
    p = scores(4, harassment=np.array([0.9, 0.1, 0.0, 0.95]), violence=np.array([0.0, 0.0, 0.99, 0.0]),
               spam=np.array([0.0, 0.6, 0.0, 0.0]))
    th = {c: {"review": 0.5, "block": 0.8} for c in CATEGORIES}
    res = summarise(rows, p, HEADS, th)
    a, b = res["sets"]["a"], res["sets"]["b"]
    assert a["clean_n"] == 2 and a["clean_blocked"] == 0.5 and a["clean_flagged"] == 1.0
    assert b["clean_n"] == 1 and b["clean_flagged"] == 0.0  # violence is not known to be 0 there
    assert a["harmful_flagged"] == 1.0 and a["harmful_blocked"] == 1.0
    assert res["sets_over_targets"] == []  # fewer than 20 clean rows: not judged


def test_thresholds_follow_out_of_source_precision() -> None:
    rng = np.random.default_rng(0)
    n = 400
    rows, hate, spam = [], [], []
    for i in range(n):
        y = int(i % 4 == 0)
        rows.append(row(i, "s", {"any": y, "hate": y, "spam": y}))
        hate.append(0.55 + 0.4 * y + rng.uniform(-0.03, 0.03))  # separable
        spam.append(rng.uniform(0.5, 1.0))  # says nothing
    rows += [row(n + i, "clean", {"any": 0}) for i in range(100)]
    hate += [0.1] * 100
    spam += list(rng.uniform(0.5, 1.0, 100))
    d = derive_thresholds(rows, scores(len(rows), hate=np.array(hate), spam=np.array(spam)), HEADS)
    assert d["hate"]["block"] is not None and d["hate"]["block_precision"] >= 0.9
    assert d["hate"]["block_recall"] > 0.9
    assert d["spam"]["block"] is None  # no threshold reaches 0.9 precision: it does not block


def test_a_head_the_service_does_not_report_is_not_counted() -> None:
    """extremism is trained but not served: it must not raise AUPRC(any) nor count against clean rows."""
    assert "extremism" not in SERVED
    rows = [row(i, "a", {"any": 0}) for i in range(30)] + [row(30 + i, "a", {"any": 1}) for i in range(10)]
    extremism = np.r_[np.full(30, 0.99), np.zeros(10)]  # fires on every clean row, never on a harmful one
    hate = np.r_[np.zeros(30), np.full(10, 0.95)]
    res = summarise(rows, scores(40, extremism=extremism, hate=hate), HEADS,
                    {c: {"review": 0.5, "block": 0.8} for c in SERVED})
    assert res["sets"]["a"]["clean_flagged"] == 0.0 and res["sets"]["a"]["auprc_any"] == 1.0


def test_a_category_too_imprecise_to_review_is_still_reviewed_within_the_clean_budget() -> None:
    rng = np.random.default_rng(1)
    # a third of the rows above 0.5 are violence, the rest harmful otherwise: precision ~0.33 everywhere
    rows = [row(i, "s", {"any": 1, "violence": int(i % 3 == 0)}) for i in range(300)]
    rows += [row(300 + i, "clean", {"any": 0}) for i in range(300)]
    p = np.r_[rng.uniform(0.5, 1.0, 300), rng.uniform(0.0, 0.6, 300)]
    d = derive_thresholds(rows, scores(len(rows), violence=p), HEADS)["violence"]
    assert d["block"] is None
    assert d["review"] is not None and d["review_by"] == "clean budget only"
    clean = p[300:]
    assert (clean >= d["review"]).mean() <= 0.01
    assert all(0.0 <= v <= 1.0 for v in d["precision_at"].values())


def test_the_written_policy_blocks_only_on_derived_thresholds_and_keeps_a_review() -> None:
    from tamis.textmodel.training.crossval import policy_json, policy_with

    base = {"description": "d", "categories": {"hate": {"review": 0.5, "block": 0.9}, "scam": {"review": 0.5, "block": 0.8},
                                               "spam": {"review": 0.5, "block": 0.8}, "sexual": {"review": 0.6, "block": 0.9}}}
    derived = {"hate": {"review": 0.86, "block": None}, "scam": {"review": None, "block": None},
               "spam": {"review": 0.61, "block": 0.94}, "sexual": {"review": None, "block": None}}
    body = policy_with(derived, base)
    assert body["categories"] == {"hate": {"review": 0.86}, "scam": {"review": 0.5},
                                  "spam": {"review": 0.61, "block": 0.94}, "sexual": {"review": 0.6, "block": 0.9}}
    assert json.loads(policy_json(body)) == body


def test_the_default_policy_file_is_as_the_tool_writes_it() -> None:
    from tamis.textmodel.training.crossval import policy_body, policy_json

    path = Path(__file__).parents[1] / "src" / "tamis" / "policies" / "default.json"
    assert policy_json(json.loads(path.read_text())) == path.read_text()
    # --write-policy without --policy starts from the shipped file as it is, not every field's default
    assert policy_json(policy_body()) == path.read_text()


def test_a_larger_runs_predictions_are_scored_on_this_samples_rows() -> None:
    import pytest

    from tamis.textmodel.training.crossval import rows_of

    ids = np.array([f"s:{i}" for i in range(5)])
    z = {"ids": ids, "preds": np.arange(10.0).reshape(5, 2)}
    assert rows_of(z, [row(3, "s", {}), row(1, "s", {})]).tolist() == [[6.0, 7.0], [2.0, 3.0]]
    with pytest.raises(SystemExit, match="do not cover 1 rows"):
        rows_of(z, [row(9, "s", {})])


def test_self_harm_keeps_the_policys_review_threshold_and_never_blocks_on_text() -> None:
    """Recall first: however precise or imprecise its scores, no threshold is derived for self-harm, so the
    policy keeps its review threshold and gets no block."""
    rows = [row(i, "s", {"any": 1, "self-harm": 1}) for i in range(100)]
    rows += [row(100 + i, "clean", {"any": 0}) for i in range(100)]
    p = np.r_[np.full(100, 0.99), np.full(100, 0.01)]  # perfectly separable: would review and block at once
    d = derive_thresholds(rows, scores(len(rows), **{"self-harm": p}), HEADS)["self-harm"]
    assert d["review"] is None and d["block"] is None and d["review_by"] == "recall first"
    base = {"categories": {"self-harm": {"review": 0.5}}}
    assert policy_with({"self-harm": d}, base)["categories"]["self-harm"] == {"review": 0.5}


def test_review_thresholds_are_lowered_together_within_every_sets_budget() -> None:
    """spend_review_budget lowers a precise category's review threshold below the 1 %-of-any-set start while
    every set's clean rows stay within the budget, and never flags more rows of a set already over it."""
    from tamis.engine.policy import default_body
    from tamis.textmodel.training.crossval import MAX_CATEGORY_REVIEW, SET_REVIEW_BUDGET, spend_review_budget

    rng = np.random.default_rng(4)
    rows = [row(i, "abuse", {"any": 1, "harassment": 1}) for i in range(300)]
    harassment = list(rng.uniform(0.6, 1.0, 300))
    rows += [row(1000 + i, "chat", {"any": 0}) for i in range(600)]
    harassment += list(rng.uniform(0.0, 0.7, 582)) + list(rng.uniform(0.7, 0.95, 18))  # 3 % score high
    # a set whose clean rows are already reviewed on self-harm (recall first: the policy keeps 0.5) above the
    # budget; one of its rows scores harassment 0.83
    rows += [row(2000 + i, "support", {"any": 0}) for i in range(100)]
    harassment += list(rng.uniform(0.0, 0.6, 99)) + [0.83]
    self_harm = np.r_[np.zeros(900), np.full(10, 0.9), np.zeros(90)]
    p = scores(len(rows), harassment=np.array(harassment), **{"self-harm": self_harm})
    base = default_body().model_dump(mode="json")
    start = derive_thresholds(rows, p, HEADS)
    spent = spend_review_budget(rows, p, HEADS, start, base)
    before, after = start["harassment"]["review"], spent["harassment"]["review"]
    assert after < before and spent["harassment"]["review_by"].endswith("the sets' review budget")
    assert spent["harassment"]["block"] == start["harassment"]["block"]  # blocks are not touched
    h = np.array(harassment)
    chat, support = h[300:900], h[900:]
    assert (chat >= after).mean() <= min(SET_REVIEW_BUDGET, MAX_CATEGORY_REVIEW)
    flagged = lambda t: int(((support >= t) | (self_harm[900:] >= 0.5)).sum())  # noqa: E731
    assert flagged(after) == flagged(before) and after > 0.83  # the set over its budget: not one clean row more
    assert (h[:300] >= after).sum() > (h[:300] >= before).sum()  # and it catches more


def test_review_counts_rows_harmful_in_another_category_and_crosses_plateaus() -> None:
    """A hate head that also fires on slur tweets its source labels offensive, not hate (hate = 0, any = 1):
    by the category's own labels its precision is a third at every threshold, but every row it flags above the
    clean rows is harmful, so spend_review_budget lowers it; and it lowers past a stretch of thresholds where
    nothing more is caught (a plateau), where a one-step look would stop. A block still needs hate's own
    precision."""
    from tamis.engine.policy import default_body
    from tamis.textmodel.training.crossval import spend_review_budget

    rows, hate = [], []
    for i in range(300):
        rows.append(row(i, "tweets", {"any": 1, "hate": int(i % 3 == 0)}))
        hate.append(0.9 + 0.09 * i / 150 if i < 150 else 0.72)  # none between 0.73 and 0.89
    rows += [row(1000 + i, "chat", {"any": 0}) for i in range(600)]
    hate += [0.1] * 591 + [0.74] * 9  # 1.5 % of the clean rows score 0.74: review starts above them
    p = scores(len(rows), hate=np.array(hate))
    base = default_body().model_dump(mode="json")
    start = derive_thresholds(rows, p, HEADS)
    assert start["hate"]["review_by"] == "clean budget only" and start["hate"]["block"] is None
    spent = spend_review_budget(rows, p, HEADS, start, base)["hate"]
    assert start["hate"]["review"] > 0.74
    assert spent["review"] == 0.72  # past 0.74 and 0.73, which catch nothing more, to where the other tweets sit
    assert spent["review_harmful_share"] >= 0.7 and spent["review_precision"] < 0.5
    assert spent["block"] is None


def test_binding_names_the_sets_whose_clean_rows_hold_a_threshold_up() -> None:
    """tamis.textmodel.training.binding: per category, the sets whose clean rows reach a threshold most often."""
    from tamis.textmodel.training.binding import clean_by_set, worst_sets

    rows = [row(i, "quiet", {"any": 0}) for i in range(40)] + [row(100 + i, "loud", {"any": 0}) for i in range(40)]
    rows += [row(200 + i, "few", {"any": 0}) for i in range(5)]  # under 20 clean rows: not judged
    rows += [row(300 + i, "abuse", {"any": 1, "harassment": 1}) for i in range(40)]  # not clean: never counted
    harassment = np.r_[np.full(40, 0.1), np.r_[np.full(4, 0.9), np.full(36, 0.2)], np.full(5, 0.99), np.full(40, 0.95)]
    by_set = clean_by_set(rows, scores(len(rows), harassment=harassment), HEADS, "harassment")
    assert set(by_set) == {"quiet", "loud"}
    assert worst_sets(by_set, 0.85, k=2) == [("loud", 0.1, 40), ("quiet", 0.0, 40)]


def test_a_blend_on_the_command_line_is_checked() -> None:
    import pytest

    from tamis.textmodel.training.crossval import parse_blend

    assert parse_blend("harassment=0.5, hate=0.3") == {"harassment": 0.5, "hate": 0.3}
    assert parse_blend("") == {}
    for bad in ("extremism=0.5", "any=0.5", "hate=1.5", "hate=", "hate", "hate=lots"):
        with pytest.raises(SystemExit, match="--any-blend"):
            parse_blend(bad)


def test_in_source_figures_score_only_rows_training_never_saw() -> None:
    import pytest

    from tamis.textmodel.training.crossval import ALWAYS_TRAIN, eval_split_rows, main

    def at(i: int, set_name: str, split: str) -> Row:
        return Row(f"{set_name}:{i}", "t", "t", {"any": i % 2}, "en", set_name, None, split=split)

    rows = [at(i, s, split) for i, (s, split) in enumerate(
        [("germeval2018", "train"), ("germeval2018", "calib"), ("germeval2018", "eval"), ("sms_spam_collection", "eval"),
         (next(iter(ALWAYS_TRAIN)), "eval"), ("germeval2018", "unused")])]
    assert [r.id for r in eval_split_rows(rows)] == ["germeval2018:2", "sms_spam_collection:3"]
    with pytest.raises(SystemExit) as exit_:  # cross-validated fits hold no evaluation split apart: weights only
        main(["--eval-split"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit) as exit_:  # in-source scores never set thresholds
        main(["--eval-split", "--model", "w.npz", "--write-policy", "p.json"])
    assert exit_.value.code == 2
