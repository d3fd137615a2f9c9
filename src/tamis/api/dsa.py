"""`/v1/dsa/settings` and `/v1/statements`: the EU DSA statements of reasons of a project."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from tamis.api.auth import ProjectId
from tamis.api.intake import read_body
from tamis.api.openapi import problems
from tamis.config import get_settings
from tamis.errors import ProblemError, bad_input, too_large
from tamis.schema import storable
from tamis.services import redress
from tamis.services.destinations import check_registration
from tamis.services.dsa import settings as dsa_settings
from tamis.services.dsa import statements
from tamis.store import queries
from tamis.store.db import transaction

router = APIRouter(tags=["dsa"])
NO_NUL = r"^[^\x00]*$"
MAX_SETTINGS_BYTES = 256 * 1024  # the whole mapping fits in a few KiB
JSON_LINES = "application/jsonl"


class SettingsRequest(dsa_settings.StatementSettings):
    """The statement settings, with the submission token (write-only: never read back)."""

    model_config = ConfigDict(extra="forbid")
    submission_token: str | None = Field(None, min_length=8, max_length=2000,
                                         description="The operator's token for the submission endpoint; omit to keep the stored one.")
    clear_submission_token: bool = Field(False, description="Remove the stored token.")
    appeal_window_days: int | None = Field(None, description="The appeal window (183 to 3660 days); omit to keep it.")
    out_of_court_info: str | None = Field(None, description="The out-of-court settlement bodies, in your words; omit to keep it.")

    @field_validator("submission_token")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and not (value.isascii() and value.isprintable() and " " not in value):
            raise ValueError("must be printable ASCII without spaces")
        return value


class SubmissionDoc(dsa_settings.Submission):
    token_set: bool = Field(description="Whether a submission token is stored (it is never shown).")


class SettingsDoc(dsa_settings.StatementSettings):
    """The statement settings as stored (the submission token is shown only as `submission.token_set`)."""

    submission: SubmissionDoc  # type: ignore[assignment]
    appeal_window_days: int = Field(description="The appeal window in days (notices and appeals settings).")
    out_of_court_info: str = Field(description="The out-of-court settlement information sent with decisions on notices and appeals.")


def _doc(session: Any, project: str) -> dict[str, Any]:
    current, row = dsa_settings.load(session, project)
    conf = redress.settings(session, project)
    return {**dsa_settings.public_doc(current, row), "appeal_window_days": conf.appeal_window_days,
            "out_of_court_info": conf.out_of_court_info}


@router.get("/v1/dsa/settings", response_model=SettingsDoc, responses=problems(401), summary="DSA statement settings")
def get_settings_doc(project: ProjectId) -> dict[str, Any]:
    """How this project's decisions become statements of reasons: the mapping from tamis categories
    to the Transparency Database's `category` and `category_specification`, the decision ground, the
    territorial scope, what a `block` (and a restoration) does, and the submission endpoint (off by
    default; its token is never shown)."""
    with transaction() as session:
        return _doc(session, project)


@router.put("/v1/dsa/settings", response_model=SettingsDoc,
            openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/SettingsRequest"}}}}},
            responses=problems(400, 401, 413, 422), summary="Set DSA statement settings")
async def put_settings(request: Request, project: ProjectId) -> dict[str, Any]:
    """Replace the project's statement settings (a category left out of `categories` keeps the
    shipped mapping). Statements already made keep the settings they were made under. A submission
    URL must pass the webhook destination rules (public addresses only, unless the operator allows
    networks with TAMIS_WEBHOOK_ALLOW_NETWORKS)."""
    raw = await read_body(request)
    if len(raw) > MAX_SETTINGS_BYTES:
        raise too_large(f"the settings are {len(raw)} bytes; the limit is {MAX_SETTINGS_BYTES}", "body")
    body = SettingsRequest.model_validate_json(raw)
    return await run_in_threadpool(_put, project, body)


def _put(project: str, body: SettingsRequest) -> dict[str, Any]:
    submission = body.submission
    if submission.url is not None:
        try:
            storable(submission.url)
            check_registration(submission.url, get_settings().webhook_allowed_networks(), project)
        except (ValueError, ProblemError) as error:
            detail = error.detail if isinstance(error, ProblemError) else str(error)
            raise bad_input(detail, "submission.url") from None
    if submission.enabled and not submission.url:
        raise bad_input("an enabled submission needs a url", "submission.url")
    wanted = dsa_settings.StatementSettings.model_validate(body.model_dump(
        exclude={"submission_token", "clear_submission_token", "appeal_window_days", "out_of_court_info"}))
    with transaction() as session:
        queries.ensure_project(session, project)
        row = dsa_settings.save(session, project, wanted, token=body.submission_token, clear_token=body.clear_submission_token)
        if wanted.submission.enabled and not row.submission_token:
            raise bad_input("an enabled submission needs a submission_token", "submission_token")
        try:  # the notices and appeals settings, on the same row, with their own rules
            redress.update_settings(session, project, appeal_window_days=body.appeal_window_days, out_of_court_info=body.out_of_court_info)
        except redress.RedressError as error:
            raise bad_input(error.detail, error.field or "body") from None
        return _doc(session, project)


def _moment(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@router.get(
    "/v1/statements",
    response_class=Response,
    responses={200: {"description": "One statement per line (JSON Lines), oldest first. `Tamis-Next-Cursor` names the "
                                    "next page's cursor; it is absent on the last page.",
                     "content": {JSON_LINES: {"schema": {"type": "string"}}}},
               **problems(401, 422)},
    summary="Export statements of reasons",
)
def list_statements(
    project: ProjectId,
    since: datetime | None = Query(None, description="Statements made at or after this time (ISO 8601; UTC if no zone)."),
    until: datetime | None = Query(None, description="Statements made before this time."),
    cursor: str | None = Query(None, max_length=40, pattern=r"^sor_[0-9a-f]{32}$", description="The previous page's `Tamis-Next-Cursor`."),
    limit: int = Query(100, ge=1, le=1000),
) -> Response:
    """The project's statements of reasons (DSA Art. 17), as JSON Lines: each line has tamis's ids of
    the decision it states and, in `statement`, the document in the Transparency Database's schema
    (no personal data). Statements of bulk actions that were undone are left out."""
    start, end = _moment(since), _moment(until)
    if start is not None and end is not None and start >= end:
        raise bad_input("since must be before until", "since")
    with transaction() as session:
        rows = statements.page(session, project, since=start, until=end, after=cursor, limit=limit)
        lines = b"".join(orjson.dumps(statements.export_doc(r)) + b"\n" for r in rows)
    headers = {"Tamis-Next-Cursor": rows[-1].id} if len(rows) == limit else {}
    return Response(lines, media_type=JSON_LINES, headers=headers)
