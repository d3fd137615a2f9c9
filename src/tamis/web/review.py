"""The review workspace at /review: sign-in, queues, claiming, the case view and its actions.

Server-rendered (Jinja2, autoescaped), with one small script for keyboard shortcuts and revealing
media; every asset comes from this package. Sessions are an HttpOnly, Secure, SameSite=Strict
cookie; every POST carries the session's CSRF token; every permission is checked here, on the
server, whatever the page shows.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from tamis.store.models import ItemMedia
from tamis.store.queries import get_frames, get_thumbnail, sharp_ids
from tamis.config import get_settings
from tamis.services import appeals, audit, cases, quality, reviewers, throttle, wellness
from tamis.services.reviewers import SignedIn
from tamis.store.db import transaction
from tamis.taxonomy import CATEGORIES
from tamis.web import evidence
from tamis.web.review_common import (
    COOKIE, WebError, install_handlers, page, read_form, redirect, require_role, same_origin, signed_in, signed_post,
)


LOGIN_COOKIE = "tamis_review_login"  # the login form's CSRF token (double submit), before a session exists
SHORTCUTS = [("u", "uphold"), ("o", "overturn"), ("s", "submit & next"), ("r", "reveal or hide media"),
             ("w", "reveal or hide masked words"),
             ("k", "skip"), ("h", "put on hold"), ("e", "escalate"), ("?", "show or hide these shortcuts")]

# What the page shows for a masked word: the word itself is not in the page until revealed.
MASK = "\u2022\u2022\u2022"

router = APIRouter(prefix="/review", include_in_schema=False)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/review/static", StaticFiles(directory=str(resources.files("tamis.web") / "static")), name="review-static")
    install_handlers(app)


# --- sign-in ---------------------------------------------------------------------------------------


def _login_page(request: Request, error: str = "", status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page(request, "review_login.html", {"csrf": token, "error": error}, status)
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, path="/review", secure=True, httponly=True, samesite="strict")
    return response


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    same_origin(request)
    form = await read_form(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(form.get("csrf", "").encode(), expected.encode()):
        return _login_page(request, "The sign-in form expired: please try again.", 403)
    username, password = form.get("username", "").strip().lower(), form.get("password", "")
    try:
        token = await run_in_threadpool(_sign_in, username, password, request.cookies.get(COOKIE, ""),
                                        request.client.host if request.client else "")
    except reviewers.Throttled as exc:
        return _login_page(request, str(exc), 429)
    if token is None:
        return _login_page(request, "Wrong username or password, or the account is disabled.", 401)
    response = redirect("/review")
    response.set_cookie(COOKIE, token, max_age=reviewers.SESSION_S, path="/review", secure=True, httponly=True, samesite="strict")
    response.delete_cookie(LOGIN_COOKIE, path="/review")
    return response


def _sign_in(username: str, password: str, old_token: str, ip: str) -> str | None:
    address = throttle.ip_key(ip)
    with transaction() as session:
        wait = throttle.wait_s(session, [address, throttle.name_key(username)])
    if wait > 0:
        raise reviewers.Throttled(wait)
    with transaction() as session:
        reviewer = reviewers.authenticate(session, username, password)
        if reviewer is None:
            _failed(session, username, address)
            return None
        throttle.succeeded(session, address, username)
        reviewers.end_session(session, old_token)  # a token from before sign-in never survives it
        audit.log(session, "sign_in", actor=reviewer.username, reviewer_id=reviewer.id, ip=address.removeprefix("ip:"))
        return reviewers.start_session(session, reviewer)


def _failed(session: Session, username: str, address: str) -> None:
    """Count a failed sign-in against the address, and the account or the unknown name; audit it,
    and every wait it starts. An unknown name is not written down (it may be a password typed in
    the wrong field): it shows as `anonymous`."""
    known = reviewers.by_name(session, username)
    actor, reviewer_id = (known.username, known.id) if known else ("anonymous", None)
    ip = address.removeprefix("ip:")
    audit.log(session, "sign_in_failed", actor=actor, reviewer_id=reviewer_id, ip=ip, **({} if known else {"unknown_user": True}))
    if throttle.failed_from(session, address, username):
        audit.log(session, "sign_in_throttled", actor=actor, reviewer_id=reviewer_id, ip=ip, scope="address")
    if known is None and throttle.failed(session, throttle.name_key(username), throttle.NAME_AFTER):
        audit.log(session, "sign_in_throttled", actor=actor, ip=ip, scope="name")
    if known is not None and known.failed_logins >= reviewers.THROTTLE_AFTER:
        audit.log(session, "sign_in_throttled", actor=actor, reviewer_id=reviewer_id, ip=ip, scope="account")


@router.post("/logout")
async def logout(request: Request) -> Response:
    who, _ = await signed_post(request)
    with transaction() as session:
        reviewers.end_session(session, request.cookies.get(COOKIE, ""))
        audit.log(session, "sign_out", actor=who.username, reviewer_id=who.reviewer_id)
    response = redirect("/review/login")
    response.delete_cookie(COOKIE, path="/review")
    return response


# --- queues ----------------------------------------------------------------------------------------


def _age(when: datetime | None) -> str:
    if when is None:
        return "–"
    seconds = int((datetime.now(UTC) - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


@router.get("")
def home(request: Request) -> HTMLResponse:
    who = signed_in(request)
    with transaction() as session:
        projects = [
            {"id": project, "role": role, "queues": cases.queue_stats(session, project)}
            for project, role in reviewers.memberships(session, who.reviewer_id)
        ]
        exposure = _exposure(session, who)
    return page(request, "review_home.html", {"who": who, "projects": projects, "age": _age, "exposure": exposure,
                                               "notice": request.query_params.get("notice", "")[:200]})


def _exposure(session: Session, who: SignedIn) -> dict[str, Any]:
    """Today's counters and whether to remind the reviewer to take a break."""
    counts = audit.exposure_today(session, who.reviewer_id)
    limit = get_settings().review_daily_soft_limit
    return {**counts, "limit": limit, "rest": limit > 0 and sum(counts.values()) >= limit}


@router.post("/p/{project}/queues/{queue_id}/next")
async def claim_next(request: Request, project: str, queue_id: str) -> Response:
    who, _ = await signed_post(request)
    return redirect(_next_url(who, project, queue_id))


def _next_url(who: SignedIn, project: str, queue_id: str) -> str:
    """Claim the next case of the queue: its page, or home with a notice when the queue is empty."""
    with transaction() as session:
        role = require_role(session, who, project)
        if cases.get_queue(session, project, queue_id) is None:
            raise WebError(404, "No such queue in this project.")
        case = cases.claim_next(session, project, queue_id, who.reviewer_id, role)
        case_id = case.id if case else None
    if case_id is None:
        return "/review?notice=" + quote("Nothing to review in that queue right now.")
    return f"/review/p/{quote(project)}/cases/{case_id}"


# --- the case --------------------------------------------------------------------------------------


def _case_context(session: Session, who: SignedIn, project: str, case_id: str) -> dict[str, Any]:
    role = require_role(session, who, project)
    case = cases.get_case(session, project, case_id)
    if case is None:
        raise WebError(404, "No such case in this project.")
    decision, result = cases.automated(session, case)
    meta = cases.item_meta(session, case)
    mine = case.status == "claimed" and case.claimed_by == who.reviewer_id
    found = result.get("evidence", [])
    thumbnail = get_thumbnail(session, project, case.decision_id, case.data_id)
    flagged = evidence.ranges(found)
    frames = [evidence.picture(m, found, flagged) for m in get_frames(session, project, case.decision_id, case.data_id)]
    hidden = wellness.hidden_categories(session, project, who.reviewer_id)
    return {
        "who": who, "role": role, "project": project, "case": case, "result": result, "mine": mine,
        "policy": {"id": decision.policy_id, "version": decision.policy_version},
        "segments": evidence.segments(case.text, found, lambda c: wellness.is_hidden(hidden, c)) if case.text else [],
        "hidden": wellness.is_hidden(hidden, case.category),
        "has_image": thumbnail is not None,
        # Sharp review copies by frame time (None: the still image), fetched only on reveal.
        "sharp": sharp_ids(session, project, case.decision_id, case.data_id),
        "image": evidence.picture(thumbnail, found) if thumbnail is not None else None,
        "frames": frames, "timeline": evidence.timeline(flagged, frames), "clock": evidence.clock,
        "banks": [e for e in result.get("evidence", []) if e.get("type") == "bank_match"],
        "history": cases.history(session, case),
        "reviews": cases.human_decisions(session, [case.id]).get(case.id, []),
        "context": meta.context if meta else None,
        "queues": cases.queues(session, project),
        "people": [name for name, _, disabled in reviewers.members(session, project) if not disabled and name != who.username],
        "categories": CATEGORIES,
        "shortcuts": SHORTCUTS,
        "mask": MASK,
        "age": _age,
        "exposure": _exposure(session, who),
        # Notices and appeals (DSA); reporters' identity only to moderators and admins.
        "dsa": appeals.case_context(session, case, personal=reviewers.at_least(role, "moderator")),
    }


@router.get("/p/{project}/cases/{case_id}")
def case_view(request: Request, project: str, case_id: str) -> HTMLResponse:
    who = signed_in(request)
    with transaction() as session:
        context = _case_context(session, who, project, case_id)
        if (context["has_image"] or context["frames"]) and not context["hidden"] and not context["sharp"]:
            # Shown unblurred by the wellness settings: an exposure like a reveal, and audited as one
            # (a sharp copy the page then fetches is audited by the reveal that serves it).
            audit.log(session, "reveal", actor=who.username, reviewer_id=who.reviewer_id, project_id=project, case_id=case_id,
                      what="media", by="settings")
    return page(request, "review_case.html", context)


@router.get("/p/{project}/cases/{case_id}/image")
def case_image(request: Request, project: str, case_id: str) -> Response:
    """The item's stored thumbnail (already blurred when stored); the page blurs and greys it further
    until the reviewer reveals it."""
    who = signed_in(request)
    with transaction() as session:
        require_role(session, who, project)
        case = cases.get_case(session, project, case_id)
        media = get_thumbnail(session, project, case.decision_id, case.data_id) if case else None
        if media is None:
            raise WebError(404, "This case has no image (or media retention deleted it).")
        return Response(media.data, media_type=media.content_type, headers={"Cache-Control": "private, no-store"})


@router.get("/p/{project}/cases/{case_id}/frames/{media_id}")
def case_frame(request: Request, project: str, case_id: str, media_id: str) -> Response:
    """One of a video case's kept frames (blurred when stored, like thumbnails)."""
    who = signed_in(request)
    with transaction() as session:
        require_role(session, who, project)
        case = cases.get_case(session, project, case_id)
        media = session.get(ItemMedia, int(media_id)) if case and media_id.isdigit() and len(media_id) < 18 else None
        if case is None or media is None or (media.project_id, media.decision_id, media.data_id, media.kind) != (
                project, case.decision_id, case.data_id, "frame"):
            raise WebError(404, "This case has no such frame (or media retention deleted it).")
        return Response(media.data, media_type=media.content_type, headers={"Cache-Control": "private, no-store"})


@router.post("/p/{project}/cases/{case_id}/decision")
async def decide(request: Request, project: str, case_id: str) -> Response:
    who, form = await signed_post(request)
    action = form.get("action")
    if action not in ("uphold", "overturn"):
        raise WebError(422, "Choose uphold or overturn.")
    category = form.get("category") or None
    if category is not None and category not in CATEGORIES:
        raise WebError(422, "Choose a category from the list.")
    reason, note, reply = form.get("reason", "")[:200], form.get("note", "")[:5000], form.get("reply", "")[:5000] or None
    with transaction() as session:
        require_role(session, who, project)
        reviewer = reviewers.by_name(session, who.username)
        case = cases.get_case(session, project, case_id)
        queue_id = case.queue_id if case else ""
        try:
            record = cases.decide(session, project, case_id, action=action, category=category, reason=reason,  # type: ignore[arg-type]
                                  note=note, reviewer=reviewer, reply=reply)
        except cases.CaseError as exc:
            status = {"not_found": 404, "forbidden": 403, "invalid": 422}.get(exc.kind, 409)
            raise WebError(status, exc.detail) from exc
        audit.log(session, "decision", actor=who.username, reviewer_id=who.reviewer_id, project_id=project, case_id=case_id,
                  action=record.action, verdict=record.verdict, category=record.category)
    if form.get("next"):
        return redirect(_next_url(who, project, queue_id))
    return redirect(f"/review/p/{quote(project)}/cases/{case_id}")


@router.post("/p/{project}/cases/{case_id}/reveal")
async def reveal(request: Request, project: str, case_id: str) -> Response:
    """The page reports each reveal of a case's media or masked words: the audit log and today's
    exposure count it."""
    who, form = await signed_post(request)
    what = form.get("what") or "media"
    if what not in ("media", "words"):
        raise WebError(422, "Reveal media or words.")
    with transaction() as session:
        require_role(session, who, project)
        if cases.get_case(session, project, case_id) is None:
            raise WebError(404, "No such case in this project.")
        audit.log(session, "reveal", actor=who.username, reviewer_id=who.reviewer_id, project_id=project, case_id=case_id,
                  what=what)
    return Response(status_code=204)


@router.get("/p/{project}/audit")
def audit_log(request: Request, project: str) -> HTMLResponse:
    """Admins read the project's audit log (newest first, 100 a page)."""
    who = signed_in(request)
    before = request.query_params.get("before", "")
    with transaction() as session:
        require_role(session, who, project, "admin")
        rows = audit.events(session, project, before=int(before) if before.isdigit() and int(before) < 2**31 else None)
    return page(request, "review_audit.html", {"who": who, "project": project, "rows": rows})


@router.post("/p/{project}/cases/{case_id}/{step}")
async def case_step(request: Request, project: str, case_id: str, step: str) -> Response:
    """skip, hold, escalate (reviewers, on the case they hold), resume (moderators)."""
    who, form = await signed_post(request)
    with transaction() as session:
        role = require_role(session, who, project, "moderator" if step == "resume" else "reviewer")
        case = cases.get_case(session, project, case_id)
        queue_id = case.queue_id if case else ""
        try:
            if step == "skip":
                cases.skip(session, project, case_id, who.reviewer_id)
            elif step == "hold":
                cases.hold(session, project, case_id, who.reviewer_id)
            elif step == "escalate":
                cases.escalate(session, project, case_id, who.reviewer_id, queue_id=form.get("queue") or None,
                               to_reviewer=_escalation_target(session, project, form.get("to", "")))
            elif step == "resume":
                cases.resume(session, project, case_id)
            else:
                raise WebError(404, "No such action.")
        except cases.CaseError as exc:
            raise WebError(404 if exc.kind == "not_found" else 409 if exc.kind == "conflict" else 422, exc.detail) from exc
        del role
        audit.log(session, step, actor=who.username, reviewer_id=who.reviewer_id, project_id=project, case_id=case_id,
                  **({"queue": form.get("queue"), "to": form.get("to") or None} if step == "escalate" else {}))
    if step in ("skip", "hold", "escalate"):
        return redirect(_next_url(who, project, queue_id))
    return redirect(f"/review/p/{quote(project)}/cases/{case_id}")


def _escalation_target(session: Session, project: str, username: str) -> str | None:
    """The reviewer id of the person a case is escalated to (a member of the project), or None
    (escalated to the queue's moderators)."""
    if not username:
        return None
    person = reviewers.by_name(session, username[:64])
    if person is None or person.disabled or reviewers.role_in(session, person.id, project) is None:
        raise WebError(422, "Escalate to a member of this project.")
    return person.id


# --- search and admin ------------------------------------------------------------------------------


@router.get("/p/{project}/cases")
def case_list(request: Request, project: str) -> HTMLResponse:
    who = signed_in(request)
    status = request.query_params.get("status") or None
    data_id = (request.query_params.get("data_id") or "")[:256] or None
    if status not in (None, *cases.STATUSES):
        raise WebError(422, "Unknown status.")
    with transaction() as session:
        require_role(session, who, project)
        rows = cases.list_cases(session, project, status=status, data_id=data_id.replace("\x00", "") if data_id else None, limit=100)
        role = reviewers.role_in(session, who.reviewer_id, project)
    return page(request, "review_cases.html", {"who": who, "project": project, "rows": rows, "status": status or "",
                                                "data_id": data_id or "", "statuses": cases.STATUSES, "age": _age,
                                                "bulk": reviewers.at_least(role, "moderator"), "categories": CATEGORIES,
                                                "notice": request.query_params.get("notice", "")[:200]})


@router.post("/p/{project}/bulk")
async def bulk(request: Request, project: str) -> Response:
    """Moderators decide many waiting cases at once: first a confirmation page, then the action,
    which can be undone for cases.UNDO_S seconds (its webhooks wait until then)."""
    who, form = await signed_post(request, max_fields=cases.BULK_MAX + 10)
    raw = await request.form()
    ids = [v for v in raw.getlist("case") if isinstance(v, str)][: cases.BULK_MAX + 1]
    action, category = form.get("action"), form.get("category") or None
    if action not in ("uphold", "overturn") or (category is not None and category not in CATEGORIES):
        raise WebError(422, "Choose uphold or overturn, and a category from the list.")
    with transaction() as session:
        require_role(session, who, project, "moderator")
        if not form.get("confirm"):
            chosen = [c for c in (cases.get_case(session, project, i) for i in ids) if c is not None]
            return page(request, "review_bulk.html", {"who": who, "project": project, "chosen": chosen, "action": action,
                                                       "category": category or "", "reason": form.get("reason", "")[:200],
                                                       "undo_s": cases.UNDO_S})
        reviewer = reviewers.by_name(session, who.username)
        try:
            batch, made = cases.bulk_decide(session, project, ids, reviewer, action=action, category=category,  # type: ignore[arg-type]
                                            reason=form.get("reason", "")[:200], note="")
        except cases.CaseError as exc:
            raise WebError(422, exc.detail) from exc
        audit.log(session, "bulk", actor=who.username, reviewer_id=who.reviewer_id, project_id=project, batch=batch,
                  action=action, cases=[m.case_id for m in made])
    return page(request, "review_bulk_done.html", {"who": who, "project": project, "batch": batch, "n": len(made),
                                                    "asked": len(ids), "undo_s": cases.UNDO_S})


@router.post("/p/{project}/bulk/{batch_id}/undo")
async def bulk_undo(request: Request, project: str, batch_id: str) -> Response:
    who, _ = await signed_post(request)
    with transaction() as session:
        require_role(session, who, project, "moderator")
        try:
            n = cases.undo_batch(session, project, batch_id, who.reviewer_id)
        except cases.CaseError as exc:
            raise WebError(404 if exc.kind == "not_found" else 409, exc.detail) from exc
        audit.log(session, "bulk_undo", actor=who.username, reviewer_id=who.reviewer_id, project_id=project, batch=batch_id)
    return redirect(f"/review/p/{quote(project)}/cases?notice=" + quote(f"Undone: {n} cases wait again."))


@router.get("/p/{project}/admin")
def admin(request: Request, project: str) -> HTMLResponse:
    who = signed_in(request)
    with transaction() as session:
        require_role(session, who, project, "admin")
        context = {"who": who, "project": project, "members": reviewers.members(session, project),
                   "agreement": cases.agreement(session, project), "quality": quality.by_analyzer(session, project),
                   "queues": cases.queues(session, project), "notice": request.query_params.get("notice", "")[:200]}
    return page(request, "review_admin.html", context)


@router.post("/p/{project}/admin/queues")
async def admin_add_queue(request: Request, project: str) -> Response:
    import orjson

    who, form = await signed_post(request)
    try:
        rules = orjson.loads(form.get("rules") or "{}")
    except orjson.JSONDecodeError as exc:
        raise WebError(422, "Rules must be a JSON object.") from exc
    if not isinstance(rules, dict):
        raise WebError(422, "Rules must be a JSON object.")
    with transaction() as session:
        require_role(session, who, project, "admin")
        try:
            queue = cases.create_queue(session, project, form.get("name", "").strip(), rules,
                                       position=len(cases.queues(session, project)))
        except cases.CaseError as exc:
            raise WebError(409 if exc.kind == "conflict" else 422, exc.detail) from exc
        audit.log(session, "queue_add", actor=who.username, reviewer_id=who.reviewer_id, project_id=project,
                  queue=queue.name, rules=rules)
    return redirect(f"/review/p/{quote(project)}/admin?notice=" + quote("Queue added."))
