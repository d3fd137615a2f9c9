"""Quality sampling: which share of a decision's `pass` and `block` items also become review cases.

A policy sets it (`review_sampling: {"pass_rate", "block_rate", "pass_strata"}`); a policy without
it (and the shipped default, version 0) takes the server's TAMIS_REVIEW_SAMPLE_RATE for both. Policy
versions never change once written, so each version's plan is read once per process.

Passes are sampled in strata: bands of the item's highest category score, each with its own rate
(`pass_strata`; a policy without strata has one stratum, `all`, at `pass_rate`). A sampled case
records its stratum and its inclusion probability, so the transparency report can weigh each
reviewed pass by 1/p (services/dsa/transparency.py) whatever rates were in force when it was drawn.

Why bands of the highest score over all categories, and not a stratum per category and band: an
item is drawn once, so strata must split items, not (item, category) pairs; a miss in one category
usually raises that category's score or a neighbour's, so the highest score already says how near
the item came to review; and fewer strata keep enough reviews in each. Every category's miss rate
is then estimated from the same weighted sample (services/dsa/estimates.py).
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tamis.config import get_settings
from tamis.schema import DecisionDoc
from tamis.store.models import PolicyVersion

_CACHE_SIZE = 1024
UNIFORM = "all"  # the one stratum of a policy without pass_strata


@dataclass(frozen=True)
class Plan:
    """A policy version's sampling: the block rate and the pass strata as (upper bound, rate)."""

    block_rate: float
    pass_strata: tuple[tuple[float, float], ...]

    def pass_stratum(self, score: float) -> tuple[str, float]:
        """The stratum of a pass item by its highest category score, and its inclusion probability."""
        if len(self.pass_strata) == 1 and self.pass_strata[0][0] >= 1.0:
            return UNIFORM, self.pass_strata[0][1]
        low = 0.0
        for below, rate in self.pass_strata:
            if score < below or below >= 1.0:
                return f"{low:.2f}-{below:.2f}", rate
            low = below
        raise AssertionError("the last stratum ends at 1")  # the policy schema guarantees it

    def draw(self, verdict: str, score: float, rng: random.Random | None = None) -> tuple[str, float] | None:
        """(stratum, probability) when this item is sampled for review, else None."""
        if verdict == "pass":
            stratum, p = self.pass_stratum(score)
        elif verdict == "block":
            stratum, p = "block", self.block_rate
        else:
            return None
        return (stratum, p) if p > 0 and (rng or random).random() < p else None


_plans: OrderedDict[tuple[str, str, int], Plan | None] = OrderedDict()


def uniform(pass_rate: float, block_rate: float) -> Plan:
    return Plan(block_rate, ((1.0, pass_rate),))


def _policy_plan(session: Session, project: str, policy_id: str, version: int) -> Plan | None:
    key = (project, policy_id, version)
    if key in _plans:
        _plans.move_to_end(key)
        return _plans[key]
    body = session.scalar(select(PolicyVersion.body).where(
        PolicyVersion.project_id == project, PolicyVersion.policy_id == policy_id, PolicyVersion.version == version))
    sampling = (body or {}).get("review_sampling")
    plan = None
    if sampling:
        strata = sampling.get("pass_strata")
        plan = (Plan(float(sampling["block_rate"]), tuple((float(s["below"]), float(s["rate"])) for s in strata)) if strata
                else uniform(float(sampling["pass_rate"]), float(sampling["block_rate"])))
    _plans[key] = plan
    if len(_plans) > _CACHE_SIZE:
        _plans.popitem(last=False)
    return plan


def plan(session: Session, doc: DecisionDoc) -> Plan | None:
    """The decision's sampling plan under its policy version; None when nothing can be sampled."""
    if all(r.verdict == "review" for r in doc.results):
        return None
    found = _policy_plan(session, doc.project, doc.policy.id, doc.policy.version) if doc.policy.version > 0 else None
    if found is not None:
        return found
    rate = get_settings().review_sample_rate
    return uniform(rate, rate)
