"""Signals -> verdict, the policy schema, and the list matcher (golden cases, no database)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tamis.analyzers.base import check_conformance
from tamis.schema import Item, ListEvidence, Signal
from tamis.engine.policy import Policy, PolicyBody, decide, default_body


def policy(**body: object) -> Policy:
    return Policy("test", 1, PolicyBody.model_validate(body))


def test_thresholds_give_pass_review_block() -> None:
    p = policy(analyzers=[], categories={"sexual": {"review": 0.5, "block": 0.9}})
    verdicts = [decide(p, [Signal("a", "1", {"sexual": s})]).verdict for s in (0.49, 0.5, 0.89, 0.9)]
    assert verdicts == ["pass", "review", "review", "block"]


def test_most_severe_category_wins_and_reasons_name_it() -> None:
    p = policy(analyzers=[], categories={"sexual": {"review": 0.5}, "violence/graphic": {"review": 0.3, "block": 0.6}})
    outcome = decide(p, [Signal("a", "1", {"sexual": 0.7, "violence/graphic": 0.65})])
    assert outcome.verdict == "block"
    assert any("violence/graphic" in r and "block" in r for r in outcome.reasons)
    assert [c.flagged for c in outcome.categories] == [True, True]


def test_max_over_analyzers_and_all_are_credited() -> None:
    p = policy(analyzers=[], categories={"sexual": {"review": 0.5}})
    outcome = decide(p, [Signal("a", "1", {"sexual": 0.2}), Signal("b", "2", {"sexual": 0.6})])
    (sexual,) = outcome.categories
    assert sexual.score == 0.6 and sexual.analyzers == ["a@1", "b@2"] and outcome.verdict == "review"


def test_unassessed_categories_are_absent_not_zero() -> None:
    outcome = decide(Policy("d", 0, default_body()), [Signal("a", "1", {"profanity": 0.1})])
    assert [c.name for c in outcome.categories] == ["profanity"]


def test_category_without_thresholds_never_flags() -> None:
    outcome = decide(policy(analyzers=[]), [Signal("a", "1", {"sexual": 1.0})])
    assert outcome.verdict == "pass" and not outcome.categories[0].flagged


def test_list_action_overrides_thresholds() -> None:
    outcome = decide(policy(analyzers=[]), [Signal("lists", "1", {}, actions={"list:brand": "block"})])
    assert outcome.verdict == "block" and outcome.reasons == ["lists matched list:brand: block"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"categories": {"nonsense": {"review": 0.5}}}, "categories"),
        ({"categories": {"hate": {"review": 0.9, "block": 0.5}}}, "categories"),
        ({"categories": {"hate": {"review": 1.5}}}, "categories"),
        ({"analyzers": ["face-recognition"]}, "analyzers"),
        ({"block_lists": [{"name": "x", "regex": ["("]}]}, "block_lists"),
        ({"block_lists": [{"name": "x", "category": "politics"}]}, "block_lists"),
        ({"block_lists": [{"name": "Bad Name!"}]}, "block_lists"),
        ({"allow_lists": [{"name": "x", "regex": ["[a-"]}]}, "allow_lists"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_policies_name_the_field(body: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        PolicyBody.model_validate(body)
    assert info.value.errors()[0]["loc"][0] == field


def test_shipped_default_policy_is_valid_and_complete() -> None:
    body = default_body()
    assert not body.shadow
    assert {"nsfw-image", "image-safety", "text-model", "links"} <= set(body.analyzers)
    assert "profanity-text" not in body.analyzers  # the interim text analyzer, replaced by the model
    assert PolicyBody().analyzers == body.analyzers  # a policy that names none runs the default's
    assert len(body.categories) == 17


# --- the list matcher ------------------------------------------------------------------------------

LISTS = policy(
    analyzers=[],
    block_lists=[
        {"name": "slurs", "category": "hate", "action": "block", "terms": ["scumbag"]},
        {"name": "pills", "category": "spam", "action": "review", "terms": ["cheap pills"], "regex": [r"v[i1]agra\s*\d+mg"]},
        {"name": "no-category", "terms": ["forbidden"]},
    ],
    allow_lists=[{"name": "places", "terms": ["Scumbag Valley"]}],
)


def lists_signal(text: str) -> Signal:
    matcher = LISTS.lists()
    assert matcher is not None
    return matcher.analyze([Item("x", text=text)])[0]


def test_lists_conform_to_the_analyzer_protocol() -> None:
    matcher = LISTS.lists()
    signals = check_conformance(matcher, [Item("a", text="sc*mbag"), Item("b", text="hello")])  # type: ignore[arg-type]
    assert signals[1].scores == {}  # no match says nothing about the category


def test_block_term_obfuscated_gives_score_action_and_original_span() -> None:
    text = "what a S C U M B A G you are"
    signal = lists_signal(text)
    assert signal.scores == {"hate": 1.0} and signal.actions == {"hate": "block"}
    (evidence,) = signal.evidence
    assert isinstance(evidence, ListEvidence)
    assert (evidence.list, evidence.entry) == ("slurs", "scumbag")
    assert text[evidence.start : evidence.end] == "S C U M B A G"


def test_regex_entries_match_the_original_text() -> None:
    text = "Get VIAGRA 100mg today"
    signal = lists_signal(text)
    assert signal.actions == {"spam": "review"}
    assert text[signal.evidence[0].start : signal.evidence[0].end] == "VIAGRA 100mg"  # type: ignore[union-attr]


def test_allow_list_suppresses_overlapping_block_matches_only() -> None:
    assert lists_signal("I live in Scumbag Valley").evidence == []
    assert lists_signal("Scumbag Valley is home, you scumbag").scores == {"hate": 1.0}


def test_list_without_category_still_carries_its_action() -> None:
    signal = lists_signal("this is f0rbidden")
    assert signal.scores == {} and signal.actions == {"list:no-category": "block"}
    assert decide(LISTS, [signal]).verdict == "block"


def test_mask_allowed_keeps_offsets() -> None:
    matcher = LISTS.lists()
    assert matcher is not None
    text = "Scumbag Valley rocks"
    masked = matcher.mask_allowed(text)
    assert len(masked) == len(text) and masked.strip() == "rocks"


def test_policy_without_lists_compiles_to_nothing() -> None:
    assert policy(analyzers=[]).lists() is None
