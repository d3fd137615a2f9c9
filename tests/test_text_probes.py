"""Golden probes: short texts and what the shipped default policy must do with them.

`fixtures/text_probes.jsonl` holds hand-written texts that are not in any training set (the over-flagging
examples of issue 4 among them), each with the expected outcome under the default policy:
* "pass": no category reaches its review threshold;
* "flag": the verdict is review or block, and one of `categories` is among the flagged ones;
* "profanity": nothing but profanity flagged, and not blocked (swearing at nothing is not harassment).
A probe the model is known to get wrong carries "known_miss" (why) and runs as a strict xfail: when a
retrain fixes it, the test says so and the mark comes off.
"""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES
from tamis.schema import Item
from tamis.services.moderation import judge
from tamis.engine.policy import Policy, PolicyBody, default_body

PROBES = [json.loads(line) for line in (FIXTURES / "text_probes.jsonl").read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy("probes", 1, PolicyBody.model_validate(default_body().model_dump()))


def _params():
    for p in PROBES:
        marks = [pytest.mark.xfail(strict=True, reason=p["known_miss"])] if "known_miss" in p else []
        yield pytest.param(p, id=p["text"][:40], marks=marks)


@pytest.mark.models
@pytest.mark.parametrize("probe", list(_params()))
def test_probe(policy: Policy, probe: dict) -> None:
    result = judge("probes", policy, [Item("p", text=probe["text"])]).results[0]
    flagged = {c.name for c in result.categories if c.flagged}
    scores = {c.name: round(c.score, 3) for c in result.categories}
    if probe["expect"] == "pass":
        assert result.verdict == "pass" and not flagged, scores
    elif probe["expect"] == "profanity":
        assert flagged <= {"profanity"} and result.verdict != "block", scores
    else:
        assert result.verdict in ("review", "block"), scores
        assert flagged & set(probe["categories"]), scores


def test_probe_expectations_are_known() -> None:
    assert {p["expect"] for p in PROBES} <= {"pass", "flag", "profanity"}
