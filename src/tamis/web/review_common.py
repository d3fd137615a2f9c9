"""What every page of the review workspace shares: who is signed in, their role in a project, the
CSRF-checked POST, the security headers, and the page and refusal responses.

Sessions are an HttpOnly, Secure, SameSite=Strict cookie; every POST carries the session's CSRF
token and comes from this site; every permission is checked here, on the server, whatever the page
shows.
"""

from __future__ import annotations

import hmac
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from tamis.services import reviewers
from tamis.services.reviewers import SignedIn
from tamis.store.db import transaction

COOKIE = "tamis_review"
MAX_FIELD = 10_000

templates = Jinja2Templates(directory=str(resources.files("tamis.web") / "templates"))

# No framing, no referrer, nothing from elsewhere: the pages show harmful content to the people
# protecting others from it. blob: images are the sharp copies a reveal fetched (never cached).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


class WebError(Exception):
    """A refusal shown as a page (the API's problem documents are for programs)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class SignIn(Exception):
    """Not signed in: go to the sign-in page."""


def install_handlers(app: FastAPI) -> None:
    """Refusals as pages, and the way to the sign-in page."""

    @app.exception_handler(WebError)
    async def _refused(request: Request, exc: WebError) -> HTMLResponse:
        return templates.TemplateResponse(request, "review_error.html", {"status": exc.status, "message": exc.message},
                                          status_code=exc.status, headers=SECURITY_HEADERS)

    @app.exception_handler(SignIn)
    async def _sign_in(request: Request, exc: SignIn) -> RedirectResponse:
        return RedirectResponse("/review/login", status_code=303)


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status, headers=SECURITY_HEADERS)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def signed_in(request: Request) -> SignedIn:
    """The reviewer whose session cookie came with the request; SignIn (to the sign-in page) if none."""
    token = request.cookies.get(COOKIE, "")
    with transaction() as session:
        who = reviewers.signed_in(session, token)
    if who is None:
        raise SignIn()
    return who


def require_role(session: Session, who: SignedIn, project: str, needed: str = "reviewer") -> str:
    """The reviewer's role in the project, if it is at least `needed`; refused otherwise. A
    project they are not in answers 404, so its name is not confirmed to them."""
    role = reviewers.role_in(session, who.reviewer_id, project)
    if role is None:
        raise WebError(404, "No such project, or you are not one of its reviewers.")
    if not reviewers.at_least(role, needed):
        raise WebError(403, f"This needs the {needed} role; you are {role} in {project}.")
    return role


def same_origin(request: Request) -> None:
    """A POST from another site is refused (SameSite=Strict already withholds the cookie; this
    also covers browsers that send none)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise WebError(403, "This form was sent from another site.")


async def read_form(request: Request, max_fields: int = 20) -> dict[str, str]:
    try:
        form = await request.form(max_files=0, max_fields=max_fields, max_part_size=MAX_FIELD)
    except Exception as exc:  # starlette's parse errors: a malformed or oversized form
        raise WebError(400, "The form could not be read.") from exc
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def signed_post(request: Request, max_fields: int = 20) -> tuple[SignedIn, dict[str, str]]:
    """A signed-in POST from this site with the session's CSRF token."""
    same_origin(request)
    who = signed_in(request)
    form = await read_form(request, max_fields)
    if not hmac.compare_digest(form.get("csrf", "").encode(), who.csrf.encode()):
        raise WebError(403, "This form has expired (CSRF token mismatch): reload the page and try again.")
    return who, form
