"""`/v1/decisions`: the record. Read-only: decisions are never edited."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Response

from tamis.api.auth import ProjectId
from tamis.api.openapi import problems
from tamis.api.schemas import DecisionList
from tamis.errors import not_found
from tamis.schema import DecisionDoc
from tamis.store import queries
from tamis.store.db import transaction

router = APIRouter(tags=["decisions"])
NO_NUL = r"^[^\x00]*$"  # PostgreSQL cannot compare text with U+0000 in it


@router.get("/v1/decisions/{decision_id}", response_model=DecisionDoc, responses=problems(401, 404), summary="A decision")
def get_decision(decision_id: str, project: ProjectId) -> Any:
    """The recorded decision: per item, the verdict, scores, evidence, and the policy and analyzer versions."""
    with transaction() as session:
        decision = queries.get_decision(session, project, decision_id)
        if decision is None:
            raise not_found(f"decision {decision_id}")
        return decision.doc


@router.get("/v1/decisions", response_model=DecisionList, responses=problems(401, 422), summary="List decisions")
def list_decisions(
    project: ProjectId,
    data_id: str | None = Query(None, max_length=256, pattern=NO_NUL),
    verdict: Literal["pass", "review", "block"] | None = None,
    shadow: bool = Query(False, description="List the decisions of shadow policies instead."),
    before: str | None = Query(None, pattern=NO_NUL, description="A decision id: list older ones (paging)."),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """The project's decisions, newest first; filter by `data_id`, `verdict`, `shadow`; page with `before`."""
    with transaction() as session:
        rows = queries.list_decisions(
            session, project, data_id=data_id, verdict=verdict, shadow=shadow, before=before, limit=limit
        )
        docs = [row.doc for row in rows]
    return {"decisions": docs, "next_before": docs[-1]["id"] if len(docs) == limit else None}


@router.get(
    "/v1/decisions/{decision_id}/items/{data_id:path}/thumbnail",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
                     "description": "A blurred JPEG of the item's image."}, **problems(401, 404)},
    summary="An image item's blurred thumbnail",
)
def get_item_thumbnail(decision_id: str, data_id: str, project: ProjectId) -> Response:
    """The reviewer-safe (blurred) thumbnail of an image item, while media retention keeps it.
    A data_id with '/' in it is sent as is (or %2F-encoded)."""
    with transaction() as session:
        if queries.get_decision(session, project, decision_id) is None:
            raise not_found(f"decision {decision_id}")
        media = queries.get_thumbnail(session, project, decision_id, data_id)
        if media is None:
            # Text items have none, and media past TAMIS_MEDIA_RETENTION_DAYS is gone.
            raise not_found(f"a thumbnail of item {data_id!r} in decision {decision_id}")
        return Response(media.data, media_type=media.content_type, headers={"Cache-Control": "private, max-age=3600"})
