"""Quality: how often people overturn the automated verdicts, per queue, per category and per
analyzer version, so that operators learn which thresholds (and which analyzer versions) to move.

Each case's automated result records, per category, the analyzers (`name@version`) that scored it;
a person's decision on the case counts for the analyzers of the case's top category (the one that
weighed most on the verdict). Undone bulk decisions do not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tamis.store.models import Case, CaseDecision, Decision, ReviewQueue

WINDOW = 5000  # the most recent human decisions counted: quality is about how the analyzers do now


@dataclass(frozen=True)
class Quality:
    queue: str
    category: str | None
    analyzer: str  # name@version, or "" when the result names none
    upheld: int
    overturned: int

    @property
    def decided(self) -> int:
        return self.upheld + self.overturned

    @property
    def overturn_rate(self) -> float:
        return self.overturned / self.decided if self.decided else 0.0

    def doc(self) -> dict[str, Any]:
        return {"queue": self.queue, "category": self.category, "analyzer": self.analyzer, "upheld": self.upheld,
                "overturned": self.overturned, "overturn_rate": round(self.overturn_rate, 4)}


def analyzers_of(result: dict[str, Any], category: str | None) -> list[str]:
    """The analyzers (name@version) that scored the category in an item's result; all that ran if
    none is named for it."""
    for scored in result.get("categories", []):
        if scored.get("name") == category and scored.get("analyzers"):
            return sorted({str(a) for a in scored["analyzers"]})
    ran = sorted({f"{a.get('name')}@{a.get('version')}" for a in result.get("analyzers", [])})
    return ran or [""]


def by_analyzer(session: Session, project_id: str, *, since: datetime | None = None, window: int = WINDOW) -> list[Quality]:
    """Upheld and overturned per (queue, category, analyzer version), over the project's latest
    `window` human decisions (since `since`)."""
    query = (
        select(ReviewQueue.name, Case.category, Case.position, CaseDecision.action, Decision.doc)
        .join(Case, Case.id == CaseDecision.case_id).join(ReviewQueue, ReviewQueue.id == Case.queue_id)
        .join(Decision, Decision.id == Case.decision_id)
        .where(CaseDecision.project_id == project_id, CaseDecision.undone_at.is_(None))
    )
    if since is not None:
        query = query.where(CaseDecision.created_at >= since)
    counts: dict[tuple[str, str | None, str], list[int]] = {}
    for queue, category, position, action, doc in session.execute(query.order_by(CaseDecision.created_at.desc()).limit(window)):
        results = doc.get("results", [])
        result = results[position] if 0 <= position < len(results) else {}
        for analyzer in analyzers_of(result, category):
            tally = counts.setdefault((queue, category, analyzer), [0, 0])
            tally[0 if action == "uphold" else 1] += 1
    return [Quality(q, c, a, up, over) for (q, c, a), (up, over) in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2]))]
