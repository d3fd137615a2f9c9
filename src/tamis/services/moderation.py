"""item -> analyzers -> policy -> decision -> store -> webhook outbox.

Media arrive here already decoded and checked (see `tamis.media`), so nothing below can fail on
bad input, and the decision and its webhook deliveries commit together.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from prometheus_client import Counter, Histogram
from sqlalchemy.orm import Session

from tamis.analyzers import image_text
from tamis.services import webhooks
from tamis.analyzers import get_analyzer
from tamis.analyzers.base import Analyzer
from tamis.banks.analyzer import HashMatch
from tamis.analyzers.links.analyzer import bind_policy as bind_domain_lists
from tamis.engine.frames import analyze_frames
from tamis.media.thumbnails import item_thumbnails, save_thumbnails
from tamis.schema import AnalyzerRun, DecisionDoc, Item, ItemResult, PolicyRef, Signal
from tamis.engine.policy import Policy, decide
from tamis.store import queries
from tamis.store.db import transaction
from tamis.store.models import new_id

ITEMS = Counter("tamis_items_total", "Items judged, by enforced verdict.", ["verdict"])
ANALYZER_SECONDS = Histogram(
    "tamis_analyzer_batch_seconds", "Time an analyzer spent on one batch.", ["analyzer"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _run(analyzer: Analyzer, items: Sequence[Item]) -> tuple[dict[int, Signal], float]:
    """Signals by item index, for the items this analyzer accepts; and ms per item."""
    indexes = [i for i, item in enumerate(items) if any(item.has(kind) for kind in analyzer.media)]
    if not indexes:
        return {}, 0.0
    start = time.perf_counter()
    signals = analyze_frames(analyzer, [items[i] for i in indexes])  # animations: every sampled frame
    elapsed = time.perf_counter() - start
    ANALYZER_SECONDS.labels(analyzer.name).observe(elapsed)
    return dict(zip(indexes, signals)), elapsed * 1000 / len(indexes)


def _analyze(project: str, policy: Policy, items: Sequence[Item], cache: dict, *, hash_match: bool = True) -> tuple[list[list[Signal]], list[list[AnalyzerRun]]]:  # type: ignore[type-arg]
    lists = policy.lists()
    # Allow-listed spans are hidden from every text analyzer, not only from the block lists.
    seen = [replace(it, text=lists.mask_allowed(it.text)) if lists and it.text else it for it in items]
    texts = tuple(it.text for it in seen)
    analyzers: list[Analyzer] = [get_analyzer(name) for name in policy.body.analyzers]
    analyzers = bind_domain_lists(policy, analyzers)  # the policy's domain lists ride with `links`
    if lists is not None:
        analyzers.append(lists)  # type: ignore[arg-type]
    # Hash banks are the project's own and apply to every image, whatever the policy's analyzers.
    if hash_match:
        analyzers.append(HashMatch(project, rotations=policy.body.match_rotations))
    signals: list[list[Signal]] = [[] for _ in items]
    runs: list[list[AnalyzerRun]] = [[] for _ in items]
    for analyzer in analyzers:
        # Policies (enforced and shadow) that see the same texts share one run of each analyzer.
        variant = "+rotations" if getattr(analyzer, "rotations", False) else ""
        key = (f"{analyzer.name}@{analyzer.version}{variant}", texts if "text" in analyzer.media else ())
        if key not in cache:
            cache[key] = _run(analyzer, seen)
        by_index, ms = cache[key]
        for i, signal in by_index.items():
            signals[i].append(signal)
            runs[i].append(AnalyzerRun(name=analyzer.name, version=analyzer.version, ms=round(ms, 3)))
    if image_text.NAME in policy.body.analyzers:  # text read in images goes through the same text analyzers
        mask = lists.mask_allowed if lists else None
        image_text.add_read_text_signals(seen, analyzers, signals, runs, cache, _run, mask)
    return signals, runs


def analyze(project: str, policy: Policy, items: Sequence[Item], *, hash_match: bool = True) -> tuple[list[list[Signal]], list[list[AnalyzerRun]]]:
    """The signals of `policy`'s analyzers on `items`, neither decided nor stored: for callers that
    judge many items as one (a video's frames; tamis.services.videos matches their hashes itself)."""
    return _analyze(project, policy, items, {}, hash_match=hash_match)


def _language_reasons(signals: Sequence[Signal]) -> list[str]:
    """Say so when the text is in a language the text model was not trained on."""
    for signal in signals:
        if signal.language and signal.language["supported"] is False:
            return [f"{signal.analyzer} was not trained on language {signal.language['code']!r}: scores are less reliable"]
    return []


def judge(project: str, policy: Policy, items: Sequence[Item], cache: dict | None = None) -> DecisionDoc:  # type: ignore[type-arg]
    """The decision `policy` reaches on `items` (not stored)."""
    return _judge(project, policy, items, {} if cache is None else cache)[0]


def _judge(project: str, policy: Policy, items: Sequence[Item], cache: dict) -> tuple[DecisionDoc, list[dict[str, str]]]:  # type: ignore[type-arg]
    """The decision, and the media hashes computed for each item on the way."""
    signals, runs = _analyze(project, policy, items, cache)
    results = []
    for item, item_signals, item_runs in zip(items, signals, runs):
        outcome = decide(policy, item_signals)
        results.append(
            ItemResult(
                data_id=item.data_id,
                verdict=outcome.verdict,
                categories=outcome.categories,
                evidence=[e for s in item_signals for e in s.evidence],  # type: ignore[misc]
                analyzers=item_runs,
                reasons=outcome.reasons + _language_reasons(item_signals),
                language=next((s.language for s in item_signals if s.language), None),  # type: ignore[arg-type]
            )
        )
    doc = DecisionDoc(
        id=new_id("dec"),
        project=project,
        policy=PolicyRef(id=policy.id, version=policy.version, shadow=policy.shadow),
        created_at=datetime.now(UTC).isoformat(),
        results=results,
    )
    hashes = [{k: v for s in item_signals for k, v in s.hashes.items()} for item_signals in signals]
    return doc, hashes


def record(
    session: Session, doc: DecisionDoc, *, shadow: bool, source: str, hashes: Sequence[dict[str, str]] = ()
) -> None:
    """Store a decision, its items' media hashes and its webhook deliveries in the caller's transaction."""
    queries.save_decision(session, doc, shadow=shadow, source=source)
    queries.save_item_hashes(session, doc, hashes)
    webhooks.enqueue(session, doc, shadow=shadow)


# (project, policy id) -> (enforced, shadow, when read). Policies change rarely and every process
# must see a change soon: a short time-to-live keeps both promises without a query per request.
POLICY_TTL_S = 2.0
_policies: dict[tuple[str, str], tuple[Policy, Policy | None, float]] = {}


def active_policies(project: str, policy_id: str) -> tuple[Policy, Policy | None]:
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


def moderate(
    project: str, items: Sequence[Item], *, policy_id: str = "default", source: str = "api", store: bool = True
) -> DecisionDoc:
    """Judge items under the project's enforced policy (and its shadow policy, if any), record both."""
    enforced, shadow = active_policies(project, policy_id)
    cache: dict = {}  # type: ignore[type-arg]
    doc, hashes = _judge(project, enforced, items, cache)
    shadow_doc = judge(project, shadow, items, cache) if shadow else None
    if store:
        thumbnails = item_thumbnails(items)  # blurred for reviewers, outside the transaction
        with transaction() as session:
            record(session, doc, shadow=False, source=source, hashes=hashes)
            save_thumbnails(session, doc, thumbnails)
            if shadow_doc is not None:
                record(session, shadow_doc, shadow=True, source=source)
    for result in doc.results:
        ITEMS.labels(result.verdict).inc()
    return doc
