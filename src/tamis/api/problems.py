"""Every error the API answers is an RFC 9457 problem document naming the field at fault."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from sqlalchemy.exc import OperationalError
from starlette.requests import ClientDisconnect

from tamis.errors import PROBLEM_BASE, ProblemError

log = logging.getLogger("tamis.api")
PROBLEM_JSON = "application/problem+json"
CLIENT_CLOSED_REQUEST = 499
DATABASE_RETRY_AFTER_S = 5


# Pydantic puts the union member it tried into `loc` ('str', 'list[str]', 'TextPart'): not a field.
_UNION_LABEL = re.compile(r"^(?:str|int|float|bool|bytes|[a-z-]+\[.*\]|[A-Z][A-Za-z0-9]*)$")


def _is_union_label(part: Any) -> bool:
    return isinstance(part, str) and _UNION_LABEL.match(part) is not None


def field_path(loc: Sequence[Any]) -> str:
    """('body', 'items', 3, 'text') -> 'items[3].text'."""
    path = ""
    for part in loc:
        if part in ("body", "query", "path", "header") and not path:
            continue
        if _is_union_label(part):
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "body"


def validation_problem(errors: Sequence[Any], instance: str) -> dict[str, Any]:
    items = []
    for error in errors:
        loc = error.get("loc", ())
        # Errors inside a tagged union or a model validator end with their own step; keep the field.
        items.append({"field": field_path(loc), "detail": error.get("msg", "invalid")})
    malformed = any(e.get("type") == "json_invalid" for e in errors)
    first = items[0] if items else {"field": "body", "detail": "invalid"}
    if any(_is_union_label(part) for e in errors for part in e.get("loc", ())):
        # A value that fits no member of a union fails once per member: report the one that got furthest.
        depth = [sum(1 for p in e.get("loc", ()) if not _is_union_label(p)) for e in errors]
        first = items[depth.index(max(depth))]
    return {
        "type": PROBLEM_BASE + ("malformed-json" if malformed else "invalid-input"),
        "title": "Malformed JSON" if malformed else "Invalid input",
        "status": 400 if malformed else 422,
        "detail": f"{first['field']}: {first['detail']}",
        "field": first["field"],
        "errors": items,
        "instance": instance,
    }


def _respond(doc: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(doc, status_code=doc["status"], media_type=PROBLEM_JSON, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Bearer realm="tamis"'} if exc.status == 401 else {}
        headers.update(exc.headers)
        return _respond(exc.to_problem(request.url.path), headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _respond(validation_problem(exc.errors(), request.url.path))

    @app.exception_handler(ValidationError)
    async def _invalid_model(request: Request, exc: ValidationError) -> JSONResponse:
        return _respond(validation_problem([dict(e) for e in exc.errors()], request.url.path))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        doc = {
            "type": PROBLEM_BASE + f"http-{exc.status_code}",
            "title": str(exc.detail) if exc.status_code != 404 else "Not found",
            "status": exc.status_code,
            "detail": str(exc.detail),
            "instance": request.url.path,
        }
        return _respond(doc)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        # The client left while sending its body: nothing to answer and nothing wrong with tamis.
        # 499 (nginx's "client closed request") is what /metrics counts; nobody receives it.
        log.info("client disconnected while sending its request on %s", request.url.path)
        return Response(status_code=CLIENT_CLOSED_REQUEST)

    @app.exception_handler(OperationalError)
    async def _database(request: Request, exc: OperationalError) -> JSONResponse:
        # A lock held too long (another process, a backup holding the SQLite file) or a database
        # that does not answer: nothing was recorded, and trying again later is the remedy.
        # The statement's parameters are hidden by the engine (hide_parameters), so no content is logged.
        log.warning("database unavailable on %s: %s", request.url.path, type(exc.orig).__name__)
        doc = {
            "type": PROBLEM_BASE + "database-busy",
            "title": "Database busy",
            "status": 503,
            "detail": "the database is locked or unavailable; nothing was recorded. Try again shortly.",
            "instance": request.url.path,
        }
        return _respond(doc, {"Retry-After": str(DATABASE_RETRY_AFTER_S)})

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        # Content never goes to logs: only the path and the exception type.
        log.error("unhandled %s on %s", type(exc).__name__, request.url.path, exc_info=exc)
        doc = {
            "type": PROBLEM_BASE + "internal-error",
            "title": "Internal error",
            "status": 500,
            "detail": "tamis failed on this request; nothing was recorded.",
            "instance": request.url.path,
        }
        return _respond(doc)
