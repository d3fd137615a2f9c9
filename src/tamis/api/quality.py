"""`/v1/quality`: how often people overturn the automated verdicts, per queue, category and analyzer version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import Field

from tamis.api.audit import utc_time
from tamis.api.auth import ProjectId
from tamis.api.openapi import problems
from tamis.api.schemas import Doc
from tamis.services import quality
from tamis.store.db import transaction

router = APIRouter(tags=["cases"])


class QualityRow(Doc):
    queue: str
    category: str | None = Field(description="The case's top category (the one that weighed most on the automated verdict).")
    analyzer: str = Field(description="An analyzer that scored that category, as name@version.")
    upheld: int
    overturned: int
    overturn_rate: float = Field(description="overturned / (upheld + overturned).")


class QualityReport(Doc):
    rows: list[QualityRow]
    window: int = Field(description="The most recent human decisions counted.")


@router.get("/v1/quality", response_model=QualityReport, responses=problems(401, 422), summary="Overturn rates")
def read_quality(
    project: ProjectId,
    since: datetime | None = Query(None, description="Count decisions made at or after this time (ISO 8601; UTC if no offset)."),
) -> dict[str, Any]:
    """How often people upheld and overturned the automated verdicts, per queue, per category and
    per analyzer version (from the analyzers each case's result records): where thresholds, or an
    analyzer's new version, should move. Bulk decisions undone in time do not count."""
    with transaction() as session:
        rows = quality.by_analyzer(session, project, since=utc_time(since, "since"))
    return {"rows": [r.doc() for r in rows], "window": quality.WINDOW}
