"""`/v1/appeals`: complaints against decisions (DSA Art. 20), sent by the platform for its users."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from tamis.api.auth import ProjectId
from tamis.api.intake import read_body
from tamis.api.openapi import problems
from tamis.api.reports import NO_NUL, period
from tamis.api.schemas import AppealDoc, AppealList
from tamis.errors import ProblemError, bad_input, not_found
from tamis.services import appeals, redress
from tamis.store.db import transaction

router = APIRouter(tags=["appeals"])


class AppealRequest(BaseModel):
    """An appeal: by the affected user against a restriction of their item (`data_id`), or by a
    reporter against the refusal of their notice (`report_id`)."""

    model_config = ConfigDict(extra="forbid")
    appellant: Literal["affected_user", "reporter"]
    data_id: str | None = Field(None, min_length=1, max_length=256, description="The item (affected user).")
    report_id: str | None = Field(None, min_length=1, max_length=40, description="The refused report (reporter).")
    reason: str = Field(min_length=1, max_length=5000, description="Why the decision should change.")

    @field_validator("data_id", "report_id", "reason")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL (U+0000) characters")
        if value is not None and not value.strip():
            raise ValueError("is blank")
        return value


def as_problem(error: appeals.AppealError) -> ProblemError:
    if error.kind == "conflict":
        return ProblemError(409, "Conflict", error.detail, field=error.field, kind="conflict")
    return bad_input(error.detail, error.field)


@router.post("/v1/appeals", status_code=201, response_model=AppealDoc,
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"$ref": "#/components/schemas/AppealRequest"}}}}},
             responses=problems(400, 401, 409, 413, 422), summary="Appeal a decision")
async def create_appeal(request: Request, project: ProjectId) -> dict[str, Any]:
    """File an appeal within the project's appeal window (183 days after the decision by default;
    later is a 422 naming `data_id` or `report_id`). It becomes a case in the project's `appeals`
    queue, decided by a person other than the one who decided first, with a reasoned reply; the
    project's webhooks then get `type: appeal.decided` with `reversed` true or false."""
    body = AppealRequest.model_validate_json(await read_body(request))
    return await run_in_threadpool(_file, project, body)


def _file(project: str, body: AppealRequest) -> dict[str, Any]:
    with transaction() as session:
        try:
            appeal = appeals.file_appeal(session, project, appellant=body.appellant, reason=body.reason,
                                         data_id=body.data_id, report_id=body.report_id)
        except appeals.AppealError as error:
            raise as_problem(error) from error
        return redress.appeal_doc(appeal)


@router.get("/v1/appeals", response_model=AppealList, responses=problems(401, 422), summary="List appeals")
def list_appeals(
    project: ProjectId,
    status: Literal["open", "decided"] | None = Query(None),
    data_id: str | None = Query(None, min_length=1, max_length=256, pattern=NO_NUL, description="Appeals about this item."),
    since: datetime | None = Query(None, description="Received at or after this time (ISO 8601; UTC if no zone)."),
    until: datetime | None = Query(None, description="Received before this time."),
    before: str | None = Query(None, pattern=r"^apl_[0-9a-f]{32}$", description="An appeal id: list older ones (paging)."),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """The project's appeals, newest first; filter by `status`, `data_id` and the time received; page with `before`."""
    start, end = period(since, until)
    with transaction() as session:
        rows = appeals.list_appeals(session, project, status=status, data_id=data_id, since=start,
                                     until=end, before=before, limit=limit)
        docs = [redress.appeal_doc(a) for a in rows]
    return {"appeals": docs, "next_before": docs[-1]["id"] if len(docs) == limit else None}


@router.get("/v1/appeals/{appeal_id}", response_model=AppealDoc, responses=problems(401, 404, 422), summary="An appeal")
def get_appeal(project: ProjectId, appeal_id: str) -> dict[str, Any]:
    """An appeal, its status and, once decided, the outcome and the reasoned reply."""
    with transaction() as session:
        appeal = appeals.get_appeal(session, project, appeal_id)
        if appeal is None:
            raise not_found(f"appeal {appeal_id}")
        return redress.appeal_doc(appeal)
