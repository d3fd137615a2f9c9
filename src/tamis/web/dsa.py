"""The DSA pages of the web workspace: a project's DSA settings (admins, at /review/p/{project}/dsa)
and the optional public report form (/report/{project}: no sign-in, off unless an admin turns it
on, CSRF-protected by a double-submit cookie, rate-limited per client address in the database).

The public form is for people who are not the platform's signed-in users (DSA Art. 16 asks that
anyone can send a notice). A platform that has its own report button sends `POST /v1/reports`.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from tamis.services import audit, rate_limits, redress, reports, throttle
from tamis.services.dsa import settings as dsa_settings
from tamis.store.db import transaction
from tamis.web.review_common import WebError, page, read_form, redirect, require_role, same_origin, signed_in, signed_post

FORM_COOKIE = "tamis_report_form"
FORM_RATE_PER_S = 1 / 60  # a client address may send 5 notices at once, then one a minute
FORM_BURST = 5.0

router = APIRouter(include_in_schema=False)


def install(app: FastAPI) -> None:
    app.include_router(router)


# --- settings (admins) -----------------------------------------------------------------------------


@router.get("/review/p/{project}/dsa")
def settings_page(request: Request, project: str) -> HTMLResponse:
    who = signed_in(request)
    with transaction() as session:
        require_role(session, who, project, "admin")
        conf = redress.settings(session, project)
        values = {"appeal_window_days": conf.appeal_window_days, "out_of_court_info": conf.out_of_court_info,
                  "public_form": conf.public_form}
        statements, _ = dsa_settings.load(session, project)
    return page(request, "review_dsa.html", {
        "who": who, "project": project, "conf": values, "notice": request.query_params.get("notice", "")[:200],
        "statements": statements, "statement_categories": sorted(dsa_settings.STATEMENT_CATEGORIES),
        "grounds": (dsa_settings.INCOMPATIBLE, dsa_settings.ILLEGAL)})


@router.post("/review/p/{project}/dsa")
async def save_settings(request: Request, project: str) -> Response:
    who, form = await signed_post(request)
    days = form.get("appeal_window_days", "")
    if not days.isdigit() or len(days) > 6:
        raise WebError(422, "The appeal window is a whole number of days.")
    with transaction() as session:
        require_role(session, who, project, "admin")
        try:
            redress.update_settings(session, project, appeal_window_days=int(days), public_form=form.get("public_form") == "on",
                                    out_of_court_info=form.get("out_of_court_info", ""))
        except redress.RedressError as exc:
            raise WebError(422, exc.detail) from exc
        audit.log(session, "dsa_settings", actor=who.username, reviewer_id=who.reviewer_id, project_id=project,
                  appeal_window_days=int(days), public_form=form.get("public_form") == "on")
    return redirect(f"/review/p/{quote(project)}/dsa?notice=" + quote("Saved."))


STATEMENT_FORM_FIELDS = 2 * len(dsa_settings.DEFAULT_MAPPING) + 10


def statement_settings(current: dsa_settings.StatementSettings, form: dict[str, str]) -> dsa_settings.StatementSettings:
    """The settings the form asks for: the category mapping (`map.<category>`, `kw.<category>` as
    comma-separated keywords), the ground and the territorial scope (comma-separated country codes).
    A field the form leaves out keeps its value; the restriction wording and the submission endpoint
    stay as set through the API. Raises pydantic's ValidationError, naming the field."""
    doc = current.model_dump(mode="json")
    for name, mapping in doc["categories"].items():
        if f"map.{name}" in form:
            mapping["category"] = form[f"map.{name}"]
        if f"kw.{name}" in form:
            mapping["specification"] = [k.strip() for k in form[f"kw.{name}"].split(",") if k.strip()]
    for field in ("decision_ground", "incompatible_content_ground"):
        if field in form:
            doc[field] = form[field].strip()
    for field in ("illegal_content_legal_ground", "decision_ground_reference_url"):
        if field in form:
            doc[field] = form[field].strip() or None
    if "territorial_scope" in form:
        doc["territorial_scope"] = [c.strip().upper() for c in form["territorial_scope"].split(",") if c.strip()]
    return dsa_settings.StatementSettings.model_validate(doc)


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "settings"
    return f"{where}: {first['msg'].removeprefix('Value error, ')}"


@router.post("/review/p/{project}/dsa/statements")
async def save_statement_settings(request: Request, project: str) -> Response:
    """Admins edit how decisions become statements of reasons (the same settings as PUT /v1/dsa/settings)."""
    who, form = await signed_post(request, max_fields=STATEMENT_FORM_FIELDS)
    with transaction() as session:
        require_role(session, who, project, "admin")
        current, _ = dsa_settings.load(session, project)
        try:
            updated = statement_settings(current, form)
        except ValidationError as exc:
            raise WebError(422, _first_error(exc)) from exc
        dsa_settings.save(session, project, updated, token=None)
        changed = sorted(k for k, v in updated.categories.items() if v != current.categories.get(k))
        audit.log(session, "dsa_settings", actor=who.username, reviewer_id=who.reviewer_id, project_id=project,
                  part="statements", categories_changed=changed, decision_ground=updated.decision_ground,
                  territorial_scope=len(updated.territorial_scope))
    return redirect(f"/review/p/{quote(project)}/dsa?notice=" + quote("Statement settings saved."))


# --- the public report form -------------------------------------------------------------------------


class _Limiter:
    """Per (project, client address, IPv6 by /64), in the database (services/rate_limits.py): every
    API process counts the same notices. Behind a reverse proxy every client has the proxy's
    address, so the limit is then the whole form's."""

    def take(self, project: str, client: str, now: float | None = None) -> bool:
        with transaction() as session:
            return rate_limits.take(session, rate_limits.key_of("form", project, throttle.ip_key(client)),
                                    per_s=FORM_RATE_PER_S, burst=FORM_BURST, now=now)


limiter = _Limiter()


def _enabled(project: str) -> None:
    """The form answers 404 unless its project turned it on (an unknown project looks the same)."""
    if len(project) > 64:
        raise WebError(404, "No report form here.")
    with transaction() as session:
        if not redress.settings(session, project).public_form:
            raise WebError(404, "No report form here.")


def _form_page(request: Request, project: str, values: dict[str, str], error: str = "", status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page(request, "report_form.html", {"who": None, "project": project, "csrf": token, "values": values,
                                                   "error": error, "categories": reports.REPORT_CATEGORIES}, status)
    response.set_cookie(FORM_COOKIE, token, max_age=3600, path="/report", secure=True, httponly=True, samesite="strict")
    return response


@router.get("/report/{project}")
def report_form(request: Request, project: str) -> HTMLResponse:
    _enabled(project)
    # A platform's "report" link may fill in the item and its address.
    values = {k: request.query_params.get(k, "")[:2048] for k in ("data_id", "location")}
    return _form_page(request, project, values)


@router.post("/report/{project}")
async def send_report(request: Request, project: str) -> Response:
    same_origin(request)
    _enabled(project)
    form = await read_form(request)
    values = {k: form.get(k, "") for k in ("data_id", "location", "category", "explanation", "name", "email")}
    expected = request.cookies.get(FORM_COOKIE, "")
    if not expected or not hmac.compare_digest(form.get("csrf", "").encode(), expected.encode()):
        return _form_page(request, project, values, "This form expired: please send it again.", 403)
    if not limiter.take(project, request.client.host if request.client else "-"):
        return _form_page(request, project, values, "Too many reports from your address: please try again in a few minutes.", 429)
    if form.get("good_faith") != "on":
        return _form_page(request, project, values, "Please confirm that your report is accurate and made in good faith.", 422)
    try:
        notice = _notice(values)
        with transaction() as session:
            report = reports.file_report(session, project, notice)
            receipt = {"id": report.id, "received_at": report.received_at.isoformat()}
    except reports.ReportError as exc:
        return _form_page(request, project, values, f"{exc.field}: {exc.detail}", 422)
    response = page(request, "report_sent.html", {"who": None, "project": project, "receipt": receipt}, 201)
    response.delete_cookie(FORM_COOKIE, path="/report")
    return response


def _notice(values: dict[str, str]) -> reports.Notice:
    """The form's fields checked like the API's (reports.ReportError names the field at fault)."""
    for field, limit in (("data_id", 256), ("category", 40), ("explanation", 5000), ("name", 200), ("email", 254)):
        if len(values[field]) > limit or "\x00" in values[field]:
            raise reports.ReportError(f"at most {limit} characters", field)
    if not values["explanation"].strip():
        raise reports.ReportError("please explain why the content is illegal or against the rules", "explanation")
    if not values["data_id"]:
        raise reports.ReportError("the item's id is missing: use the platform's report link", "data_id")
    return reports.Notice(
        data_id=values["data_id"], category=values["category"], explanation=values["explanation"],
        location=reports.check_location(values["location"]), source="form",
        reporter_name=values["name"].strip() or None,
        reporter_email=reports.check_email(values["email"], "email") if values["email"].strip() else None,
    )
