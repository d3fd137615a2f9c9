"""The transparency report in the review workspace: `/review/p/PROJECT/dsa/report`, for the
project's admins only (every other role is refused on the server). The page is the same
self-contained HTML as `tamis dsa report` (no script at all), or its CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from tamis.services.dsa import transparency
from tamis.store.db import transaction
from tamis.web import transparency as render
from tamis.web.review_common import WebError, require_role, signed_in

router = APIRouter(prefix="/review", include_in_schema=False)
MAX_DAYS = 3 * 366

# The report has its own inline style and no script: nothing may run, nothing may load.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def install(app: FastAPI) -> None:
    app.include_router(router)


def _period(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """[from, to) in UTC; by default this month up to and including today."""
    today = datetime.now(UTC).date()
    try:
        first = date.fromisoformat(start) if start else today.replace(day=1)
        last = date.fromisoformat(end) if end else today + timedelta(days=1)
    except ValueError:
        raise WebError(400, "The period's dates are YYYY-MM-DD.") from None
    if not first < last or (last - first).days > MAX_DAYS:
        raise WebError(400, f"The period must start before it ends and last at most {MAX_DAYS} days.")
    return (datetime.combine(first, datetime.min.time(), UTC), datetime.combine(last, datetime.min.time(), UTC))


@router.get("/p/{project}/dsa/report")
def report(request: Request, project: str) -> Response:
    who = signed_in(request)
    params = request.query_params
    start, end = _period(params.get("from"), params.get("to"))
    fmt = params.get("format", "html")
    if fmt not in ("html", "csv"):
        raise WebError(400, "The format is html or csv.")
    with transaction() as session:
        require_role(session, who, project, "admin")
        figures = transparency.figures(session, project, start, end)
    if fmt == "csv":
        name = f"tamis-transparency-{project}-{start.date()}-{end.date()}.csv"
        return Response(render.to_csv(figures), media_type="text/csv; charset=utf-8",
                        headers={**_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})
    return HTMLResponse(render.to_html(figures, form=True), headers=_HEADERS)
