"""Text judgement that does not depend on the language, and stays out of politics, faith and the news.

Hand-written fixtures (neither training sentences nor near-copies of them: tests/test_text_nearcopy.py):
* `fixtures/text_parallel_probes.jsonl`: 22 threats and insults and 10 everyday sentences, each in
  English and its translation into de, fr, es, pt, it, nl, pl, ar, zh, hi. A threat or an insult must get
  the same verdict as its English original at least 90 % of the time (issue 11), and every everyday
  sentence must pass in every language.
* `fixtures/text_context_probes.jsonl`: heated political opinion, religious practice and news about
  attacks, in en/de/fr. None of it is violent extremism, harassment or a threat: each must pass.
Known misses of the shipped weights run as strict xfails (issue 11 is open): when weights fix them, the
marks must come off. Everyday sentences pass in every language since the default policy's text thresholds
come from out-of-source predictions (a plain test now).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from conftest import FIXTURES
from tamis.schema import Item
from tamis.services.moderation import judge
from tamis.engine.policy import Policy, PolicyBody, default_body

PARALLEL = [json.loads(line) for line in (FIXTURES / "text_parallel_probes.jsonl").read_text(encoding="utf-8").splitlines() if line]
CONTEXT = [json.loads(line) for line in (FIXTURES / "text_context_probes.jsonl").read_text(encoding="utf-8").splitlines() if line]
GROUP = [json.loads(line) for line in (FIXTURES / "text_group_probes.jsonl").read_text(encoding="utf-8").splitlines() if line]
LANGUAGES = ("de", "fr", "es", "pt", "it", "nl", "pl", "ar", "zh", "hi")


@pytest.fixture(scope="module")
def verdicts() -> dict[str, tuple[str, frozenset[str]]]:
    """Verdict and flagged categories of every probe text under the default policy."""
    policy = Policy("probes", 1, PolicyBody.model_validate(default_body().model_dump()))
    texts = sorted({t for p in PARALLEL for t in p["texts"].values()} | {p["text"] for p in CONTEXT + GROUP})
    results = judge("probes", policy, [Item(str(i), text=t) for i, t in enumerate(texts)]).results
    return {t: (r.verdict, frozenset(c.name for c in r.categories if c.flagged)) for t, r in zip(texts, results)}


def test_fixtures_are_complete() -> None:
    harmful = [p for p in PARALLEL if p["kind"] == "harmful"]
    assert len(harmful) >= 20 and len(PARALLEL) - len(harmful) >= 10
    for p in PARALLEL:
        assert set(p["texts"]) == {"en", *LANGUAGES}, p["id"]
    assert {(p["kind"], p["lang"]) for p in CONTEXT} >= {(k, lang) for k in ("political", "religion", "news")
                                                        for lang in ("en", "de", "fr")}


@pytest.mark.models
@pytest.mark.xfail(strict=True, reason="issue 11 open: under the default policy's out-of-source thresholds 5 of the "
                   "22 English originals pass and translations get the English verdict 44.6 % of the time (93 of 220 "
                   "flagged); the multilingual candidates in the model card reach 61.8 % but flag fewer English "
                   "originals and fail the identity-term tests (`python -m tamis.textmodel.training.probes`)")
def test_threats_and_insults_get_the_english_verdict_in_every_language(verdicts) -> None:
    """The figures are in the failure message: `pytest --runxfail -k english_verdict` prints them."""
    harmful = [p for p in PARALLEL if p["kind"] == "harmful"]
    english_pass = [p["texts"]["en"] for p in harmful if verdicts[p["texts"]["en"]][0] == "pass"]
    same, per_language, differ = 0, Counter(), []
    for p in harmful:
        english = verdicts[p["texts"]["en"]][0]
        for lang in LANGUAGES:
            ok = verdicts[p["texts"][lang]][0] == english
            same += ok
            per_language[lang] += ok
            if not ok:
                differ.append(f"{lang} {verdicts[p['texts'][lang]][0]} vs en {english}: {p['texts'][lang]}")
    rate = same / (len(harmful) * len(LANGUAGES))
    report = (f"same verdict as English {rate:.3f} (" + ", ".join(f"{lang} {per_language[lang]}/{len(harmful)}"
              for lang in LANGUAGES) + f"); English originals flagged {len(harmful) - len(english_pass)}/{len(harmful)}")
    assert len(english_pass) <= 0.1 * len(harmful) and rate >= 0.9, report + "; English that pass: " + "; ".join(
        english_pass) + "; differ: " + "; ".join(differ[:20])


@pytest.mark.models
def test_explicit_hate_against_a_group_is_still_seen(verdicts) -> None:
    """A floor, not a target: a leave-source-out gain once came with weights that flagged 1 of these (model card,
    "Spam and scam beyond SMS"). The shipped weights and policy flag 8 of the 25 (two of them less than 0.04 above
    a review threshold: the floor leaves room for them to tip on another CPU); statements naming a group kindly
    pass."""
    hateful = [p["text"] for p in GROUP if p["kind"] == "hateful"]
    flagged = [t for t in hateful if verdicts[t][0] != "pass"]
    assert len(hateful) == 25 and len(flagged) >= 7, flagged
    assert all(verdicts[p["text"]][0] == "pass" for p in GROUP if p["kind"] == "clean")


@pytest.mark.models
def test_everyday_sentences_pass_in_every_language(verdicts) -> None:
    flagged = [f"{lang}: {p['texts'][lang]} -> {sorted(verdicts[p['texts'][lang]][1])}"
               for p in PARALLEL if p["kind"] == "benign" for lang in ("en", *LANGUAGES)
               if verdicts[p["texts"][lang]][0] != "pass"]
    assert not flagged


def _context_params():
    for p in CONTEXT:
        marks = [pytest.mark.xfail(strict=True, reason=p["known_miss"])] if "known_miss" in p else []
        yield pytest.param(p, id=f"{p['kind']}-{p['lang']}-{p['text'][:30]}", marks=marks)


@pytest.mark.models
@pytest.mark.parametrize("probe", list(_context_params()))
def test_politics_faith_and_news_pass(verdicts, probe: dict) -> None:
    verdict, flagged = verdicts[probe["text"]]
    assert "extremism" not in flagged
    assert verdict == "pass", sorted(flagged)


@pytest.mark.models
def test_text_is_not_assessed_for_extremism(verdicts) -> None:
    """The extremism head is retired from serving (analyzers/text_model.RETIRED_HEADS): no text result
    carries the category, so the policy can neither flag nor show it for text."""
    policy = Policy("probes", 1, PolicyBody.model_validate(default_body().model_dump()))
    texts = ["Join the caliphate, kill the unbelievers wherever you find them.", CONTEXT[0]["text"]]
    for result in judge("probes", policy, [Item(str(i), text=t) for i, t in enumerate(texts)]).results:
        assert "extremism" not in {c.name for c in result.categories}
        assert all(e.category != "extremism" for e in result.evidence)

