"""Moderation as stored and sent: item -> judge (tamis.engine) -> decision -> store -> webhook outbox.

Media arrive here already decoded and checked (see `tamis.media`), so nothing below can fail on
bad input, and the decision and its webhook deliveries commit together.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import Counter
from sqlalchemy.orm import Session

from tamis.banks.analyzer import HashMatch
from tamis.engine import judge as engine
from tamis.engine.policy import Policy
from tamis.media.thumbnails import item_thumbnails
from tamis.schema import AnalyzerRun, DecisionDoc, Item, Signal
from tamis.services import cases, review_media, webhooks
from tamis.services.dsa import statements
from tamis.store import queries
from tamis.store.db import transaction
from tamis.store.models import Case

ITEMS = Counter("tamis_items_total", "Items judged, by enforced verdict.", ["verdict"])


def bank_matcher(project: str, policy: Policy) -> HashMatch:
    """The project's hash banks, as the analyzer that applies to every image whatever the policy's analyzers."""
    return HashMatch(project, rotations=policy.body.match_rotations)


def analyze(project: str, policy: Policy, items: Sequence[Item], cache: engine.Cache | None = None, *,
            hash_match: bool = True) -> tuple[list[list[Signal]], list[list[AnalyzerRun]]]:
    """The signals of `policy`'s analyzers (and the project's banks) on `items`, neither decided nor
    stored: for callers that judge many items as one (a video's frames match their hashes themselves)."""
    return engine.analyze(policy, items, cache, extra=[bank_matcher(project, policy)] if hash_match else [])


def judge(project: str, policy: Policy, items: Sequence[Item], cache: engine.Cache | None = None) -> DecisionDoc:
    """The decision `policy` reaches on `items`, the project's banks included (not stored)."""
    return engine.judge(project, policy, items, cache, extra=[bank_matcher(project, policy)])[0]


def record(
    session: Session, doc: DecisionDoc, *, shadow: bool, source: str, hashes: Sequence[dict[str, str]] = (),
    items: Sequence[Item] = (),
) -> list[Case]:
    """Store a decision, its items' media hashes, its review cases and its webhook deliveries in the
    caller's transaction; the cases it opened."""
    queries.save_decision(session, doc, shadow=shadow, source=source, items=items)
    queries.save_item_hashes(session, doc, hashes)
    opened: list[Case] = []
    if not shadow:  # a shadow policy's verdicts are recorded, never acted on: nobody reviews them
        opened = cases.open_cases(session, doc, source=source, items=items)
        statements.record_automated(session, doc, source=source, items=items)  # DSA Art. 17: with the decision
    webhooks.enqueue(session, doc, shadow=shadow)
    return opened


# (project, policy id) -> (enforced, shadow, when read). Policies change rarely and every process
# must see a change soon: a short time-to-live keeps both promises without a query per request.
POLICY_TTL_S = 2.0
_policies: dict[tuple[str, str], tuple[Policy, Policy | None, float]] = {}


def active_policies(project: str, policy_id: str) -> tuple[Policy, Policy | None]:
    """(enforced, shadow) for the project's policy; LookupError if it has no such policy."""
    cached = _policies.get((project, policy_id))
    if cached and time.monotonic() - cached[2] < POLICY_TTL_S:
        return cached[0], cached[1]
    with transaction() as session:
        queries.ensure_project(session, project)
        enforced, shadow = queries.active_policies(session, project, policy_id)
    _policies[(project, policy_id)] = (enforced, shadow, time.monotonic())
    return enforced, shadow


def forget_policies() -> None:
    """Drop cached policies (after this process writes one, so that it applies at once here)."""
    _policies.clear()


queries.on_policy_written.append(forget_policies)


def moderate(
    project: str, items: Sequence[Item], *, policy_id: str = "default", source: str = "api", store: bool = True
) -> DecisionDoc:
    """Judge items under the project's enforced policy (and its shadow policy, if any), record both."""
    enforced, shadow = active_policies(project, policy_id)
    cache: engine.Cache = {}
    doc, hashes = engine.judge(project, enforced, items, cache, extra=[bank_matcher(project, enforced)])
    shadow_doc = judge(project, shadow, items, cache) if shadow else None
    if store:
        # Blurred thumbnails, and the sharp copies reviewers reveal, made outside the transaction.
        thumbnails, sharp = item_thumbnails(items), review_media.before_storing(items, doc)
        with transaction() as session:
            opened = record(session, doc, shadow=False, source=source, hashes=hashes, items=items)
            queries.save_thumbnails(session, doc, [*thumbnails, *sharp, *review_media.for_opened_cases(items, doc, opened, sharp)])
            if shadow_doc is not None:
                record(session, shadow_doc, shadow=True, source=source, items=items)
    for result in doc.results:
        ITEMS.labels(result.verdict).inc()
    return doc
