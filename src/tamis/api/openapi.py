"""What the OpenAPI document says beyond the routes: the problem documents every error is, declared per
operation with an example, in place of FastAPI's default 422 shape (which tamis never answers)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from tamis.errors import PROBLEM_BASE

PROBLEM_JSON = "application/problem+json"


class ProblemField(BaseModel):
    model_config = ConfigDict(extra="allow")
    field: str = Field(description="The field at fault: `items[3].text`, `file`, `Authorization`, `body`.")
    detail: str
    line: int | None = Field(None, description="For hash-list imports: the line number of a bad line.")


class Problem(BaseModel):
    """An RFC 9457 problem document: every error tamis answers has this shape."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(description=f"A URI naming the kind of problem, under {PROBLEM_BASE}.")
    title: str
    status: int = Field(description="The HTTP status, repeated.")
    detail: str = Field(description="What was wrong, for a person to read.")
    instance: str | None = Field(None, description="The request path.")
    field: str | None = Field(None, description="The (first) field at fault.")
    errors: list[ProblemField] | None = Field(None, description="Every field at fault.")


def _example(status: int, kind: str, title: str, detail: str, field: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": PROBLEM_BASE + kind, "title": title, "status": status, "detail": detail,
                           "instance": "/v1/moderate"}
    if field:
        doc.update(field=field, errors=[{"field": field, "detail": detail}])
    return doc


_RATE_LIMITED = {"type": PROBLEM_BASE + "rate-limited", "title": "Too many requests", "status": 429,
                 "detail": "this API key is limited to 10 requests per second (bursts of 20); too many requests: "
                           "retry in 1 s", "instance": "/v1/moderate", "retry_after": 1}

PROBLEMS: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("Malformed JSON.", _example(400, "malformed-json", "Malformed JSON", "body: Invalid JSON: EOF while parsing", "body")),
    401: ("No key, or an unknown or revoked key.",
          _example(401, "unauthorized", "Unauthorized", "unknown or revoked API key", "Authorization")),
    403: ("Not allowed to this actor (an appeal decided by whoever decided first).",
          _example(403, "forbidden", "Forbidden", "api:alice decided the contested decision; another person must decide the appeal",
                   "reviewer")),
    404: ("Not in this project (another project's ids answer 404 too).",
          {"type": PROBLEM_BASE + "not-found", "title": "Not found", "status": 404,
           "detail": "decision dec_01… does not exist in this project", "instance": "/v1/decisions/dec_01…"}),
    409: ("Conflicts with what exists (a name already taken).",
          _example(409, "conflict", "Conflict", "bank 'csam' already exists in this project", "name")),
    413: ("Over a limit: items, text length, image bytes or pixels, video size or length, body size.",
          _example(413, "too-large", "Content too large",
                   "image is 40000x40000 = 1,600,000,000 pixels; the limit is 50,000,000", "items[3].image_base64")),
    415: ("Not a format tamis reads, or a Content-Type it does not accept.",
          _example(415, "unsupported-media-type", "Unsupported media type",
                   "Content-Type text/plain is not accepted; send application/json or multipart/form-data", "Content-Type")),
    422: ("Invalid input: a missing, extra or malformed field, an empty text, corrupt media, a refused URL.",
          _example(422, "invalid-input", "Invalid input", "items[0].text: String should have at least 1 character",
                   "items[0].text")),
    429: ("Over the key's rate limit (requests, or items judged): retry after `Retry-After` seconds.",
          _RATE_LIMITED),
    503: ("Temporarily unavailable: try again later.",
          _example(503, "unavailable", "Service unavailable", "tamis cannot take this request now; try again later")),
}


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status as a problem document with its example."""
    return {
        status: {
            "description": PROBLEMS[status][0],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"},
                                       "example": PROBLEMS[status][1]}},
            **({"headers": _RETRY_AFTER} if status == 429 else {}),
        }
        for status in statuses
    }


def _component_schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in [Problem, *models]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


def install(app: FastAPI, request_models: list[type[BaseModel]]) -> None:
    """Serve an OpenAPI document whose 422s (and every declared error) are problem documents.

    `request_models`: bodies the routes parse themselves (JSON or multipart), referenced by name."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                          tags=getattr(app, "openapi_tags", None))
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(_component_schemas(request_models))
        problem_422 = problems(422)[422]
        problem_429 = problems(429)[429]
        for operations in doc.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if operation.get("security"):  # every keyed request is charged to its key's rate limit
                    responses.setdefault("429", problem_429)
                default = responses.get("422", {}).get("content", {}).get("application/json", {})
                if default.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                    responses["422"] = problem_422  # what tamis answers, not FastAPI's default shape
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
