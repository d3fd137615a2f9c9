"""Quality sampling: which share of a decision's `pass` and `block` items also become review cases.

A policy sets it (`review_sampling: {"pass_rate", "block_rate"}`); a policy without it (and the
shipped default, version 0) takes the server's TAMIS_REVIEW_SAMPLE_RATE for both. Policy versions
never change once written, so each version's rates are read once per process.
"""

from __future__ import annotations

from collections import OrderedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from tamis.config import get_settings
from tamis.schema import DecisionDoc
from tamis.store.models import PolicyVersion

_CACHE_SIZE = 1024
_rates: OrderedDict[tuple[str, str, int], dict[str, float] | None] = OrderedDict()


def _policy_rates(session: Session, project: str, policy_id: str, version: int) -> dict[str, float] | None:
    key = (project, policy_id, version)
    if key in _rates:
        _rates.move_to_end(key)
        return _rates[key]
    body = session.scalar(select(PolicyVersion.body).where(
        PolicyVersion.project_id == project, PolicyVersion.policy_id == policy_id, PolicyVersion.version == version))
    sampling = (body or {}).get("review_sampling")
    rates = {"pass": float(sampling["pass_rate"]), "block": float(sampling["block_rate"])} if sampling else None
    _rates[key] = rates
    if len(_rates) > _CACHE_SIZE:
        _rates.popitem(last=False)
    return rates


def rates(session: Session, doc: DecisionDoc) -> dict[str, float]:
    """verdict -> share of its items to sample for review, under the decision's policy version."""
    if all(r.verdict == "review" for r in doc.results):
        return {}
    found = _policy_rates(session, doc.project, doc.policy.id, doc.policy.version) if doc.policy.version > 0 else None
    if found is not None:
        return found
    rate = get_settings().review_sample_rate
    return {"pass": rate, "block": rate}
