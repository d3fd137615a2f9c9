"""The decision document. Every path that judges content (a moderation request, a video job, a
retroactive bank match) builds its decision here, so they cannot drift apart."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel

from tamis.engine.policy import Policy, decide
from tamis.schema import AnalyzerRun, DecisionDoc, ItemResult, PolicyRef, Signal, new_id


def language_reasons(signals: Sequence[Signal]) -> list[str]:
    """Say so when the text is in a language the text model was not trained on."""
    for signal in signals:
        if signal.language and signal.language["supported"] is False:
            return [f"{signal.analyzer} was not trained on language {signal.language['code']!r}: scores are less reliable"]
    return []


def item_result(
    policy: Policy,
    data_id: str,
    signals: Sequence[Signal],
    runs: Sequence[AnalyzerRun],
    *,
    evidence: Iterable[BaseModel] = (),
    reasons: Sequence[str] = (),
) -> ItemResult:
    """What `policy` decides on one item's signals. `evidence` comes before the signals' own (a
    video's flagged time ranges); `reasons` after the policy's (how the item was judged)."""
    outcome = decide(policy, signals)
    return ItemResult(
        data_id=data_id,
        verdict=outcome.verdict,
        categories=outcome.categories,
        evidence=[*evidence, *(e for s in signals for e in s.evidence)],  # type: ignore[list-item]
        analyzers=list(runs),
        reasons=[*outcome.reasons, *language_reasons(signals), *reasons],
        language=next((s.language for s in signals if s.language), None),  # type: ignore[arg-type]
    )


def decision(
    project: str, policy: Policy, results: Sequence[ItemResult], *, shadow: bool | None = None, follows: str | None = None
) -> DecisionDoc:
    """The document for `results`, decided under `policy`. `shadow` overrides the policy's own mode
    (a shadow bank's retroactive match is recorded as a shadow decision); `follows` names the
    decision this one revisits."""
    return DecisionDoc(
        id=new_id("dec"),
        project=project,
        policy=PolicyRef(id=policy.id, version=policy.version, shadow=policy.shadow if shadow is None else shadow),
        created_at=datetime.now(UTC).isoformat(),
        results=list(results),
        follows=follows,
    )
