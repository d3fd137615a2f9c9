"""/review/p/PROJECT/wellness: which categories stay hidden (media blurred, flagged words masked)
until revealed. An admin sets the project's defaults; every reviewer may choose otherwise for
themselves. Both changes are audited."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from tamis.services import audit, wellness
from tamis.store.db import transaction
from tamis.taxonomy import CATEGORIES
from tamis.web.review_common import WebError, page, redirect, require_role, signed_in, signed_post

router = APIRouter(prefix="/review", include_in_schema=False)
CHOICES = {"hide": True, "show": False}


def install(app: FastAPI) -> None:
    app.include_router(router)


@router.get("/p/{project}/wellness")
def settings_page(request: Request, project: str) -> HTMLResponse:
    who = signed_in(request)
    with transaction() as session:
        role = require_role(session, who, project)
        context = {"who": who, "project": project, "role": role, "categories": CATEGORIES,
                   "defaults": wellness.settings(session, project), "own": wellness.settings(session, project, who.reviewer_id),
                   "notice": request.query_params.get("notice", "")[:200]}
    return page(request, "review_wellness.html", context)


def _choices(form: dict[str, str], allowed: set[str]) -> dict[str, bool]:
    """`hide.<category>` fields: hide, show (or, for a reviewer, default: the project's choice)."""
    hidden: dict[str, bool] = {}
    for name, value in form.items():
        if name == "csrf":
            continue
        category = name.removeprefix("hide.")
        if not name.startswith("hide.") or category not in CATEGORIES:
            raise WebError(422, f"Unknown setting {name[:80]!r}.")
        if value not in allowed:
            raise WebError(422, f"{category}: choose {' or '.join(sorted(allowed))}.")
        if value in CHOICES:
            hidden[category] = CHOICES[value]
    return hidden


@router.post("/p/{project}/wellness")
async def own(request: Request, project: str) -> Response:
    """A reviewer's own choices, for themselves."""
    who, form = await signed_post(request, max_fields=len(CATEGORIES) + 2)
    hidden = _choices(form, {"hide", "show", "default"})
    with transaction() as session:
        require_role(session, who, project)
        wellness.store(session, project, hidden, who.reviewer_id)
        audit.log(session, "wellness_own", actor=who.username, reviewer_id=who.reviewer_id, project_id=project, hidden=hidden)
    return redirect(f"/review/p/{quote(project)}/wellness?notice=" + quote("Your settings are saved."))


@router.post("/p/{project}/wellness/defaults")
async def defaults(request: Request, project: str) -> Response:
    """The project's defaults (admins)."""
    who, form = await signed_post(request, max_fields=len(CATEGORIES) + 2)
    hidden = _choices(form, {"hide", "show"})
    with transaction() as session:
        require_role(session, who, project, "admin")
        wellness.store(session, project, hidden)
        audit.log(session, "wellness_defaults", actor=who.username, reviewer_id=who.reviewer_id, project_id=project, hidden=hidden)
    return redirect(f"/review/p/{quote(project)}/wellness?notice=" + quote("The project's defaults are saved."))
