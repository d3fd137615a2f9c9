"""Errors that reach the caller as RFC 9457 problem documents: a status, a title, and the field at fault."""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://tamis.dev/problems/"


class ProblemError(Exception):
    """A client error: bad input, a limit passed, a missing resource. Never a 500."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        field: str | None = None,
        kind: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
        self.kind = kind or title.lower().replace(" ", "-")
        self.extra = extra or {}
        self.headers = headers or {}  # HTTP headers that go with the answer (Retry-After)

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": PROBLEM_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            doc["instance"] = instance
        if self.field:
            doc["field"] = self.field
            doc["errors"] = [{"field": self.field, "detail": self.detail}]
        doc.update(self.extra)
        return doc


def bad_input(detail: str, field: str, status: int = 422) -> ProblemError:
    return ProblemError(status, "Invalid input", detail, field=field, kind="invalid-input")


def too_large(detail: str, field: str) -> ProblemError:
    return ProblemError(413, "Content too large", detail, field=field, kind="too-large")


def unsupported_media(detail: str, field: str) -> ProblemError:
    return ProblemError(415, "Unsupported media type", detail, field=field, kind="unsupported-media-type")


def not_found(what: str) -> ProblemError:
    return ProblemError(404, "Not found", f"{what} does not exist in this project", kind="not-found")


def preview(value: object, limit: int = 50) -> str:
    """A value as an error message may quote it: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
