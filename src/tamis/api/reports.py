"""`/v1/reports`: notices (DSA Art. 16) sent by the platform on behalf of its users."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from tamis.api.auth import ProjectId
from tamis.api.intake import read_body
from tamis.api.openapi import problems
from tamis.api.schemas import ReportDoc, ReportList, ReportReceipt
from tamis.errors import ProblemError, bad_input, not_found
from tamis.services import redress, reports
from tamis.store.db import transaction

router = APIRouter(tags=["reports"])


def _storable(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL (U+0000) characters")
    return value


class ReportRequest(BaseModel):
    """A notice about an item this project already sent to tamis."""

    model_config = ConfigDict(extra="forbid")
    data_id: str = Field(min_length=1, max_length=256, description="The item, by the `data_id` the platform sent it with.")
    category: str = Field(max_length=40, description="The reporter's category: a tamis category, `illegal_content` "
                          "(illegal under a law the explanation names) or `other` (against the platform's terms).")
    explanation: str = Field(min_length=1, max_length=5000, description="Why the reporter thinks the item is illegal or against the terms.")
    location: str = Field(min_length=1, max_length=2048, description="The item's exact URL (an http(s) URL of a public host; never fetched).")
    reporter_name: str | None = Field(None, max_length=200, description="Personal data; optional for `sexual/minors`.")
    reporter_email: str | None = Field(None, max_length=254, description="Personal data; optional for `sexual/minors`.")
    reporter_ref: str | None = Field(None, max_length=256, description="The platform's own id of the reporter (pseudonymous).")
    good_faith: bool = Field(strict=True, description="The reporter's statement that the notice is accurate and complete, in good faith: must be true.")
    trusted_flagger: bool = Field(False, strict=True, description="The reporter is a trusted flagger (DSA Art. 22): their reports go first.")

    _no_nul = field_validator("data_id", "category", "explanation", "location", "reporter_name", "reporter_email",
                              "reporter_ref")(_storable)

    @field_validator("good_faith")
    @classmethod
    def _in_good_faith(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("the reporter must state the notice is made in good faith (true)")
        return value

    @field_validator("explanation")
    @classmethod
    def _said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the explanation is blank")
        return value


def as_problem(error: reports.ReportError) -> ProblemError:
    return bad_input(error.detail, error.field)


def notice_of(body: ReportRequest, source: str = "api") -> reports.Notice:
    """Checks what pydantic cannot (the URL, the email) and builds the notice; a 422 naming the field."""
    try:
        location = reports.check_location(body.location)
        email = reports.check_email(body.reporter_email) if body.reporter_email else None
    except reports.ReportError as error:
        raise as_problem(error) from error
    return reports.Notice(data_id=body.data_id, category=body.category, explanation=body.explanation, location=location,
                          source=source, trusted_flagger=body.trusted_flagger, reporter_name=body.reporter_name or None,
                          reporter_email=email, reporter_ref=body.reporter_ref or None)


@router.post("/v1/reports", status_code=201, response_model=ReportReceipt,
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"$ref": "#/components/schemas/ReportRequest"}}}}},
             responses=problems(400, 401, 413, 422), summary="Report an item (a DSA notice)")
async def create_report(request: Request, project: ProjectId) -> dict[str, Any]:
    """Record a user's notice about an item this project sent before. It joins the item's open
    review case (one case per item, counting its reports) or opens one (source `user_report`),
    routed by the queue rules. When a person decides the case, each report is closed and the
    project's webhooks get `type: report.decided` with the outcome and the redress options.
    Answers the receipt (DSA Art. 16(4))."""
    body = ReportRequest.model_validate_json(await read_body(request))
    notice = notice_of(body)
    return await run_in_threadpool(_file, project, notice)


def _file(project: str, notice: reports.Notice) -> dict[str, Any]:
    with transaction() as session:
        try:
            report = reports.file_report(session, project, notice)
        except reports.ReportError as error:
            raise as_problem(error) from error
        count = reports.case_report_count(session, report.case_id)
        return {"id": report.id, "received_at": report.received_at.isoformat(), "case_id": report.case_id,
                "report_count": count, "status": report.status}


NO_NUL = r"^[^\x00]*$"  # PostgreSQL cannot compare text with U+0000 in it


def period(since: datetime | None, until: datetime | None) -> tuple[datetime | None, datetime | None]:
    """The filters' times in UTC (a time without a zone is UTC); an empty period is a 422 naming `since`."""
    start, end = (None if t is None else t.replace(tzinfo=UTC) if t.tzinfo is None else t for t in (since, until))
    if start is not None and end is not None and start >= end:
        raise bad_input("since must be before until", "since")
    return start, end


@router.get("/v1/reports", response_model=ReportList, responses=problems(401, 422), summary="List reports")
def list_reports(
    project: ProjectId,
    status: Literal["open", "decided"] | None = Query(None),
    data_id: str | None = Query(None, min_length=1, max_length=256, pattern=NO_NUL, description="Reports of this item."),
    since: datetime | None = Query(None, description="Received at or after this time (ISO 8601; UTC if no zone)."),
    until: datetime | None = Query(None, description="Received before this time."),
    before: str | None = Query(None, pattern=r"^rep_[0-9a-f]{32}$", description="A report id: list older ones (paging)."),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """The project's notices, newest first; filter by `status`, `data_id` and the time received; page
    with `before`. The reporters' names and emails are not listed: `GET /v1/reports/{id}` has them."""
    start, end = period(since, until)
    with transaction() as session:
        rows = reports.list_reports(session, project, status=status, data_id=data_id, since=start,
                                     until=end, before=before, limit=limit)
        docs = [redress.report_doc(r) for r in rows]
    return {"reports": docs, "next_before": docs[-1]["id"] if len(docs) == limit else None}


@router.get("/v1/reports/{report_id}", response_model=ReportDoc, responses=problems(401, 404, 422), summary="A report")
def get_report(project: ProjectId, report_id: str) -> dict[str, Any]:
    """A notice with its status and outcome, and the reporter's name and email until retention
    removes them (only here: never in webhooks)."""
    with transaction() as session:
        report = reports.get_report(session, project, report_id)
        if report is None:
            raise not_found(f"report {report_id}")
        return redress.report_doc(report, personal=True)
