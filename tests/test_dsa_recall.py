"""Recall of the automated means from a stratified sample of `pass` verdicts: the policy's strata
(validated, and absent from policies that do not set them), the stratum and inclusion probability
recorded on each sampled case, and the estimator: over many seeded samples its 95 % interval holds the
true miss rate about as often as it says while the unweighted share is biased; end to end, a seeded
period whose true recall is known by construction is inside the report's interval and outside the
interval the unweighted estimate would give."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from conftest import assert_problem
from test_cases import _result
from tamis.engine.policy import PolicyBody
from tamis.schema import DecisionDoc, PolicyRef
from tamis.services import cases, moderation, sampling
from tamis.services.dsa import transparency
from tamis.services.dsa.estimates import Stratum, proportion, stratified_rate, wilson
from tamis.store import queries
from tamis.store.db import transaction
from tamis.store.models import Case, new_id
from tamis.web import transparency as render

STRATA = [{"below": 0.1, "rate": 0.05}, {"below": 0.3, "rate": 0.2}, {"below": 1.0, "rate": 1.0}]
# The seeded population: per band, (passes, true misses, a score inside the band). Misses crowd near
# the review threshold, where the strata sample most.
BANDS = [(1000, 10, 0.05), (300, 15, 0.2), (100, 40, 0.5)]
FLAGGED = 60  # automated review verdicts in hate, every one upheld: true positives


# --- the policy's strata ---------------------------------------------------------------------------


def test_strata_round_trip_and_old_policies_keep_their_shape(client, auth) -> None:  # type: ignore[no-untyped-def]
    sent = client.put("/v1/policies/default", headers=auth, json={"review_sampling": {"block_rate": 0.1, "pass_strata": STRATA}})
    assert sent.status_code in (200, 201), sent.text
    assert client.get("/v1/policies/default", headers=auth).json()["enforced"]["review_sampling"]["pass_strata"] == STRATA
    plain = client.put("/v1/policies/default", headers=auth, json={"review_sampling": {"pass_rate": 0.1}})
    assert plain.status_code in (200, 201)
    assert client.get("/v1/policies/default", headers=auth).json()["enforced"]["review_sampling"] == {"pass_rate": 0.1, "block_rate": 0.0}


@pytest.mark.parametrize(("strata", "field"), [
    ([], "review_sampling.pass_strata"),
    ([{"below": 0.5, "rate": 0.1}], "review_sampling.pass_strata"),                                  # does not reach 1
    ([{"below": 0.5, "rate": 0.1}, {"below": 0.3, "rate": 0.1}, {"below": 1.0, "rate": 1.0}], "review_sampling.pass_strata"),
    ([{"below": 1.0, "rate": 0.0}], "review_sampling.pass_strata[0].rate"),                           # never sampled
    ([{"below": 1.0, "rate": 1.5}], "review_sampling.pass_strata[0].rate"),
    ([{"below": 0.0, "rate": 0.1}, {"below": 1.0, "rate": 0.1}], "review_sampling.pass_strata[0].below"),
    ([{"below": 1.0, "rate": "0.1"}], "review_sampling.pass_strata[0].rate"),
    ([{"below": 1.0, "rate": 0.1, "extra": 1}], "review_sampling.pass_strata[0].extra"),
    ([{"below": i / 20, "rate": 0.1} for i in range(1, 21)], "review_sampling.pass_strata"),         # too many
    ("often", "review_sampling.pass_strata"),
])
def test_bad_strata_are_refused_naming_the_field(client, auth, strata: Any, field: str) -> None:  # type: ignore[no-untyped-def]
    assert_problem(client.put("/v1/policies/default", headers=auth, json={"review_sampling": {"pass_strata": strata}}), 422, field)
    assert client.get("/v1/policies/default", headers=auth).json()["versions"] == []


def test_pass_rate_and_strata_together_are_refused(client, auth) -> None:  # type: ignore[no-untyped-def]
    both = {"review_sampling": {"pass_rate": 0.2, "pass_strata": STRATA}}
    assert_problem(client.put("/v1/policies/default", headers=auth, json=both), 422, "review_sampling")


def test_a_score_falls_in_its_band() -> None:
    plan = sampling.Plan(0.0, tuple((s["below"], s["rate"]) for s in STRATA))
    assert plan.pass_stratum(0.0) == ("0.00-0.10", 0.05)
    assert plan.pass_stratum(0.1) == ("0.10-0.30", 0.2)
    assert plan.pass_stratum(0.2999) == ("0.10-0.30", 0.2)
    assert plan.pass_stratum(1.0) == ("0.30-1.00", 1.0)
    assert sampling.uniform(0.3, 0.1).pass_stratum(0.7) == (sampling.UNIFORM, 0.3)  # a policy without strata: one stratum
    assert plan.draw("review", 0.5) is None and plan.draw("block", 0.9) is None  # block_rate 0


# --- the estimator ---------------------------------------------------------------------------------


def _population(rng: random.Random) -> list[tuple[float, list[bool]]]:
    """Per band: its rate and each pass's truth (missed or not)."""
    rates = [s["rate"] for s in STRATA]
    return [(rate, [i < misses for i in range(size)]) for rate, (size, misses, _) in zip(rates, BANDS, strict=True)]


def _draw(rng: random.Random, population: list[tuple[float, list[bool]]]) -> list[Stratum]:
    strata = []
    for rate, truths in population:
        drawn = [t for t in truths if rng.random() < rate]
        strata.append(Stratum(rate, len(drawn), len(drawn), sum(drawn)))
    return strata


def test_the_stratified_interval_covers_the_truth_and_the_unweighted_share_is_biased() -> None:
    rng = random.Random(15)
    population = _population(rng)
    passes = sum(len(t) for _, t in population)
    truth = sum(sum(t) for _, t in population) / passes
    covered = naive_covered = 0
    estimates, naive = [], []
    runs = 400
    for _ in range(runs):
        strata = _draw(rng, population)
        estimate = stratified_rate(strata, passes)
        assert estimate.value is not None and estimate.low is not None and estimate.high is not None
        covered += estimate.low <= truth <= estimate.high
        estimates.append(estimate.value)
        plain = proportion(sum(s.missed for s in strata), sum(s.reviewed for s in strata))
        naive.append(plain.value)
        naive_covered += plain.low <= truth <= plain.high  # type: ignore[operator]
    assert covered / runs >= 0.9, covered / runs  # a 95 % interval, checked with room for 400 runs' noise
    assert abs(sum(estimates) / runs - truth) < 0.1 * truth  # unbiased, within 10 %
    assert sum(naive) / runs > 2 * truth and naive_covered / runs < 0.05  # oversampled misses near the threshold


def test_one_stratum_is_the_plain_proportion_and_unreviewed_strata_are_left_out() -> None:
    single = stratified_rate([Stratum(0.5, 10, 10, 2)], 20)
    assert single.value == pytest.approx(0.2) and (single.low, single.high) == pytest.approx(wilson(2, 10))
    legacy = stratified_rate([Stratum(None, 10, 10, 2)], 10)  # recorded before strata: no probability
    assert legacy.value == pytest.approx(0.2) and legacy.n == 10
    pending = stratified_rate([Stratum(0.1, 5, 5, 0), Stratum(1.0, 50, 0, 0)], 100)  # the second not reviewed yet
    assert pending.value == 0.0 and pending.n == 5 and pending.high is not None and pending.high > 0.2  # n = 5 says little
    assert stratified_rate([], 100).value is None


# --- end to end ------------------------------------------------------------------------------------


def _stratified_policy(project: str) -> int:
    body = PolicyBody.model_validate({"analyzers": [], "review_sampling": {"pass_strata": STRATA}})
    with transaction() as session:
        queries.ensure_project(session, project)
        return queries.put_policy(session, project, "default", body).version


def _record(project: str, version: int, results: list[Any]) -> None:
    doc = DecisionDoc(id=new_id("dec"), project=project, policy=PolicyRef(id="default", version=version, shadow=False),
                      created_at=datetime.now(UTC).isoformat(), results=results)
    with transaction() as session:
        moderation.record(session, doc, shadow=False, source="api", items=[])


@pytest.mark.slow
def test_a_seeded_period_whose_recall_is_known_is_inside_the_reports_interval(project: str) -> None:
    """1,400 passes (65 true misses of hate, most near the threshold) and 60 upheld hate flags: the
    true recall is 60 / (60 + 65). Passes are sampled by the policy's strata; people restrict exactly
    the true misses they are shown."""
    version = _stratified_policy(project)
    random.seed(20261203)  # open_cases draws with the module's generator: the same sample on every machine
    results, misses = [], set()
    for band, (size, missed, score) in enumerate(BANDS):
        for i in range(size):
            results.append(_result(f"b{band}-{i}", "pass", "hate", score))
            if i < missed:
                misses.add(f"b{band}-{i}")
    results += [_result(f"f{i}", "review", "hate", 0.8) for i in range(FLAGGED)]
    for start in range(0, len(results), 100):
        _record(project, version, results[start:start + 100])
    with transaction() as session:
        opened = session.scalars(select(Case).where(Case.project_id == project)).all()
        sampled = [c for c in opened if c.verdict == "pass"]
        assert {(c.stratum, c.inclusion_p) for c in sampled} == {("0.00-0.10", 0.05), ("0.10-0.30", 0.2), ("0.30-1.00", 1.0)}
        assert all(c.stratum is None and c.inclusion_p is None for c in opened if c.verdict == "review")
        for case in opened:
            missed = case.data_id in misses
            cases.decide(session, project, case.id, action="overturn" if missed else "uphold",
                         category="hate", reason="", note="", actor="qa")
    truth = FLAGGED / (FLAGGED + len(misses))
    today = datetime.now(UTC)
    with transaction() as session:
        f = transparency.figures(session, project, today - timedelta(days=1), today + timedelta(days=1))
    hate = next(a for a in f.accuracy if a.category == "hate")
    assert f.passes == 1400 and f.pass_samples_reviewed == len(sampled) and hate.missed == sum(c.data_id in misses for c in sampled)
    assert hate.recall.low is not None and hate.recall.high is not None
    assert hate.recall.low <= truth <= hate.recall.high, (hate.recall, truth)
    assert not hate.miss_rate.too_small and hate.miss_rate.n == len(sampled)
    # The same sample, unweighted (what a uniform-sample estimator would say): far off, its interval misses the truth.
    table = {(r[1], r[2]): r[3:] for r in csv.reader(io.StringIO(render.to_csv(f)))}
    by_stratum = "Pass verdicts sampled for quality, by stratum of highest score (drawn, reviewed)"
    assert sum(int(table[(by_stratum, name)][0]) for name in ("0.00-0.10", "0.10-0.30", "0.30-1.00")) == len(sampled)
    assert table[(by_stratum, "0.30-1.00")][:2] == ["100", "100"] and "probability 1" in table[(by_stratum, "0.30-1.00")][4]
    recall_row = table[("Recall (estimated)", "hate")]
    assert recall_row[1] == str(FLAGGED) and "sample too small" not in recall_row[4]  # min(60 flags, the pass sample)
    plain = proportion(hate.missed, len(sampled))
    unweighted = transparency._recall(hate.flagged, f.passes, hate.precision, plain)
    assert unweighted.high is not None and unweighted.high < truth


def test_wilson_bounds_at_zero_and_one_are_exact() -> None:
    """With no success the lower bound is 0, with all the upper is 1, for every sample size (rounding
    used to lift them: a true rate of 0 then fell outside its own interval)."""
    for n in range(1, 1000):
        assert wilson(0, n)[0] == 0.0 and wilson(n, n)[1] == 1.0  # type: ignore[index]
    assert stratified_rate([Stratum(0.05, 50, 50, 0), Stratum(1.0, 100, 100, 0)], 1100).low == 0.0
