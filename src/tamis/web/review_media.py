"""Revealing a case's hidden content, each reveal audited before anything is sent.

- `POST /review/p/PROJECT/cases/CASE/reveal/media/ID`: one sharp review copy (the still image or a
  video frame; services/review_media.py says which items keep one). The page shows the blurred
  thumbnail and fetches this only when the reviewer reveals it: a sharp picture never reaches a
  browser that did not ask for it, so nothing sharp sits in its memory or cache behind a CSS blur.
- `POST /review/p/PROJECT/cases/CASE/reveal/words`: the flagged words the page masks. The page
  carries no masked word at all (not even hidden by CSS); this answers them, in order.

Both are POSTs with the session's CSRF token (a reveal is an action: audited, counted in the
day's exposure); both answer `Cache-Control: no-store`; another project's case or media is 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from tamis.services import audit, cases, wellness
from tamis.services.reviewers import SignedIn
from tamis.store.db import transaction
from tamis.store.queries import get_sharp
from tamis.store.models import Case
from tamis.web import evidence
from tamis.web.review_common import WebError, require_role, signed_post

router = APIRouter(prefix="/review", include_in_schema=False)
_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def install(app: FastAPI) -> None:
    app.include_router(router)


def _case(session: Session, who: SignedIn, project: str, case_id: str) -> Case:
    require_role(session, who, project)
    case = cases.get_case(session, project, case_id)
    if case is None:
        raise WebError(404, "No such case in this project.")
    return case


@router.post("/p/{project}/cases/{case_id}/reveal/media/{media_id}")
async def sharp_media(request: Request, project: str, case_id: str, media_id: str) -> Response:
    who, _ = await signed_post(request)
    if not media_id.isdigit() or len(media_id) > 18:
        raise WebError(404, "No such picture in this case.")
    with transaction() as session:
        case = _case(session, who, project, case_id)
        media = get_sharp(session, project, case.decision_id, case.data_id, int(media_id))
        if media is None:
            raise WebError(404, "This case has no such picture (or media retention deleted it).")
        what = "frame" if media.kind == "sharp_frame" else "image"
        audit.log(session, "reveal", actor=who.username, reviewer_id=who.reviewer_id, project_id=project, case_id=case_id,
                  what=what, media=media.id, **({"t_ms": media.t_ms} if media.t_ms is not None else {}))
        data, content_type = media.data, media.content_type
    # The transaction committed: the reveal is on record before one byte of the picture is sent.
    return Response(data, media_type=content_type, headers=_NO_STORE)


@router.post("/p/{project}/cases/{case_id}/reveal/words")
async def masked_words(request: Request, project: str, case_id: str) -> Response:
    who, _ = await signed_post(request)
    with transaction() as session:
        case = _case(session, who, project, case_id)
        words = masked(case, wellness.hidden_categories(session, project, who.reviewer_id), cases.automated(session, case)[1])
        if not words:
            raise WebError(404, "This case has no masked words.")
        audit.log(session, "reveal", actor=who.username, reviewer_id=who.reviewer_id, project_id=project, case_id=case_id,
                  what="words", n=len(words))
    return JSONResponse({"words": words}, headers=_NO_STORE)


def masked(case: Case, hidden: dict[str, bool], result: dict[str, Any]) -> list[str]:
    """The case text's masked segments, in the order the page shows their placeholders."""
    if not case.text:
        return []
    segments = evidence.segments(case.text, result.get("evidence", []), lambda c: wellness.is_hidden(hidden, c))
    return [s.text for s in segments if s.masked]
