"""`/v1/cases`: the review cases of a project, for platforms that build their own review screens."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tamis.api.auth import ProjectId
from tamis.api.intake import read_body
from tamis.api.openapi import problems
from tamis.api.schemas import CaseDetail, CaseList, ReviewDoc
from tamis.errors import ProblemError, bad_input, not_found
from tamis.services import audit, cases
from tamis.store.db import transaction
from tamis.taxonomy import is_category

router = APIRouter(tags=["cases"])
NO_NUL = r"^[^\x00]*$"  # PostgreSQL cannot compare text with U+0000 in it


class CaseDecisionRequest(BaseModel):
    """A person's decision on a case, made in the platform's own tools."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["uphold", "overturn"] = Field(description="Uphold the automated verdict (a `review` becomes `block`) or overturn it.")
    category: str | None = Field(None, max_length=32, description="The category the decision is about (a tamis category).")
    reason: str = Field("", max_length=200, description="A short reason, e.g. from the platform's rules.")
    note: str = Field("", max_length=5000, description="Free text for the record.")
    reviewer: str = Field("platform", min_length=1, max_length=100, description="Who decided, in the platform's words (recorded as `api:<reviewer>`). An appeal's case needs the person's name: never `platform`, never who decided first.")
    reply: str | None = Field(None, max_length=5000, description="For an appeal's case: the reasoned reply to the appellant (required there).")

    @field_validator("reason", "note", "reviewer", "reply")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL (U+0000) characters")
        return value

    @field_validator("category")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None and not is_category(value):
            raise ValueError(f"{value!r} is not a tamis category")
        return value


def as_problem(error: cases.CaseError) -> ProblemError:
    if error.kind == "not_found":
        return not_found(error.detail)
    if error.kind == "conflict":
        return ProblemError(409, "Conflict", error.detail, field=error.field, kind="conflict")
    if error.kind == "forbidden":
        return ProblemError(403, "Forbidden", error.detail, field=error.field, kind="forbidden")
    return bad_input(error.detail, error.field or "body")


def _detail(session: Any, case: Any) -> dict[str, Any]:
    _, result = cases.automated(session, case)
    return {**cases.case_doc(session, case), "result": result}


@router.get("/v1/cases", response_model=CaseList, responses=problems(401, 422), summary="List review cases")
def list_cases(
    project: ProjectId,
    queue: str | None = Query(None, max_length=40, pattern=NO_NUL, description="A queue id."),
    status: Literal["open", "claimed", "on_hold", "escalated", "decided"] | None = None,
    data_id: str | None = Query(None, max_length=256, pattern=NO_NUL),
    before: str | None = Query(None, max_length=40, pattern=NO_NUL, description="A case id: list older ones (paging)."),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """The project's review cases, newest first: one per item an enforced policy sent to `review`.
    Filter by `queue`, `status`, `data_id`; page with `before`."""
    with transaction() as session:
        cases.release_expired(session, project)
        rows = cases.list_cases(session, project, queue_id=queue, status=status, data_id=data_id, before=before, limit=limit)
        people = cases.human_decisions(session, [r.id for r in rows])
        docs = [cases.case_doc(session, r, people.get(r.id, [])) for r in rows]
    return {"cases": docs, "next_before": docs[-1]["id"] if len(docs) == limit else None}


@router.get("/v1/cases/{case_id}", response_model=CaseDetail, responses=problems(401, 404, 422), summary="A review case")
def get_case(project: ProjectId, case_id: str) -> dict[str, Any]:
    """A case, with its item's automated result (scores, evidence, analyzers) and people's decisions."""
    with transaction() as session:
        case = cases.get_case(session, project, case_id)
        if case is None:
            raise not_found(f"case {case_id}")
        return _detail(session, case)


@router.post("/v1/cases/{case_id}/decision", status_code=201, response_model=ReviewDoc,
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"$ref": "#/components/schemas/CaseDecisionRequest"}}}}},
             responses=problems(400, 401, 403, 404, 409, 413, 422), summary="Decide a review case")
async def decide_case(request: Request, project: ProjectId, case_id: str) -> dict[str, Any]:
    """Record a person's decision on a case (once: a decided case answers 409). It is kept beside the
    automated decision, which never changes, and sent to the project's webhooks as `type: review`."""
    body = CaseDecisionRequest.model_validate_json(await read_body(request))
    return await run_in_threadpool(_decide, project, case_id, body)


def _decide(project: str, case_id: str, body: CaseDecisionRequest) -> dict[str, Any]:
    with transaction() as session:
        try:
            record = cases.decide(session, project, case_id, action=body.action, category=body.category,
                                  reason=body.reason, note=body.note, actor=body.reviewer, reply=body.reply)
        except cases.CaseError as error:
            raise as_problem(error) from error
        audit.log(session, "decision", actor=record.actor, project_id=project, case_id=case_id, action=record.action,
                  verdict=record.verdict, category=record.category)
        return cases.review_doc(record)
