"""The FastAPI application: routers, problem documents, metrics, offline docs, the embedded runner."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from PIL import Image
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Receive, Scope, Send

from tamis import __version__
from tamis.analyzers import get_analyzer
from tamis.api import banks, decisions, hashes, health, moderate, openai_compat, policies, problems, webhooks
from tamis.api import audit as audit_api
from tamis.api import quality as quality_api
from tamis.api import cases, dsa, openapi, videos
from tamis.api.cases import CaseDecisionRequest
from tamis.api import appeals, reports
from tamis.api.appeals import AppealRequest
from tamis.api.dsa import SettingsRequest
from tamis.api.reports import ReportRequest
from tamis.web import dsa_pages, review, review_media, review_wellness
from tamis.web import dsa as dsa_web
from tamis.api.hashes import MatchRequest
from tamis.api.intake import ModerateRequest
from tamis.api.openai_compat import ModerationRequest
from tamis.config import get_settings
from tamis.errors import ProblemError, too_large
from tamis.schema import Item
from tamis.media import decode_image
from tamis.services.moderation import judge
from tamis.engine.policy import Policy, default_body
from tamis.store.db import get_engine, session_factory
from tamis.banks.matcher import save_matcher_snapshot
from tamis.services.jobs import JobLoop
from tamis.services.retention import MediaRetentionLoop
from tamis.services.delivery import DeliveryLoop

log = logging.getLogger("tamis.api")
REQUESTS = Counter("tamis_http_requests_total", "HTTP requests.", ["method", "route", "status"])
# Label values come from a fixed set: a made-up method must not grow the series without bound.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY = Histogram("tamis_http_request_seconds", "HTTP request latency.", ["route"])

DESCRIPTION = """Self-hosted content moderation. Send text and images; get per-category scores,
evidence and a verdict (pass / review / block) under your project's policy. Every decision is
recorded; non-pass decisions are announced by signed webhooks. Authenticate with
`Authorization: Bearer KEY` (create keys with `tamis keys create`). Errors are RFC 9457 problem
documents naming the field at fault.

Start with `POST /v1/moderate`, or `POST /v1/moderations` from an OpenAI client. To try calls here,
press **Authorize** and paste a key."""

LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tamis</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}}code{{background:#eee;padding:0 .2em}}</style>
</head><body>
<h1>tamis {version}</h1>
<p>Self-hosted content moderation. This server judges text, images and videos under your projects' policies.</p>
<ul>
<li><a href="/docs">API documentation</a> (try calls with <b>Authorize</b> and a key) ·
    <a href="/openapi.json">OpenAPI document</a></li>
<li><a href="/review">Review workspace</a> (reviewers sign in; accounts: <code>tamis users add</code>)</li>
<li><a href="/healthz">Health</a> · <a href="/readyz">Readiness</a> · <a href="/metrics">Metrics</a></li>
</ul>
<p>A key: <code>tamis keys create --project NAME</code> on this machine.</p>
</body></html>
"""


class MetricsMiddleware:
    """Counts requests by route template (not raw path: ids would explode the label set)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), [500]

        async def send_status(message):  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"] if scope["method"] in METHODS else "other"
            REQUESTS.labels(method, route, str(status[0])).inc()
            LATENCY.labels(route).observe(time.perf_counter() - start)


class BodyLimitMiddleware:
    """Refuse bodies over TAMIS_MAX_REQUEST_BYTES, declared or streamed (multipart uploads included),
    before they are buffered or spooled to disk."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        limit = settings.max_request_bytes
        deadline = time.monotonic() + settings.body_timeout_s
        seen, body_done = 0, False

        async def limited_receive():  # type: ignore[no-untyped-def]
            nonlocal seen, body_done
            if body_done:  # later receives wait for a disconnect (streamed responses): no deadline
                return await receive()
            try:
                # A body that trickles in must not hold the request (and its memory) for ever.
                message = await asyncio.wait_for(receive(), timeout=max(deadline - time.monotonic(), 0))
            except TimeoutError:
                raise ProblemError(408, "Request timeout", f"the body did not arrive within {settings.body_timeout_s} s",
                                   field="body", kind="request-timeout") from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large(f"request body is over the limit of {limit} bytes", "body")
            return message

        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                doc = too_large(f"request body is {int(value)} bytes; the limit is {limit}", "body").to_problem(scope["path"])
                await JSONResponse(doc, status_code=413, media_type="application/problem+json")(scope, receive, send)
                return
        await self.app(scope, limited_receive, send)


def warm_up() -> None:
    """Load the default policy's models and run them once on a text and a small image (several build
    their sessions on first use), so that a ready server answers its first request at full speed."""
    body = default_body()
    for name in body.analyzers:
        get_analyzer(name)
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(picture, "JPEG")
    items = [Item("warm-up-text", text="warming up"), Item("warm-up-image", image=decode_image(picture.getvalue(), field="warm-up"))]
    judge("warm-up", Policy("default", 0, body), items)


def _load_models() -> None:
    try:
        warm_up()
    except Exception as exc:  # /healthz and /readyz say so; requests that need the model fail alone
        log.error("loading the models failed: %s", type(exc).__name__, exc_info=exc)
        health.MODELS.failed(exc)
    else:
        health.MODELS.loaded()
        log.info("models loaded; tamis is ready")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    get_engine()  # migrate before serving
    # Models load in the background: /healthz answers at once (models "loading"), /readyz once loaded.
    threading.Thread(target=_load_models, name="tamis-models", daemon=True).start()
    loops = [DeliveryLoop(session_factory()), JobLoop(session_factory())] if app.state.embedded_worker else []
    loops += [MediaRetentionLoop(session_factory())] if app.state.embedded_worker else []
    for loop in loops:
        loop.start()
    try:
        yield
    finally:
        for loop in loops:
            loop.stop()
        save_matcher_snapshot()


def create_app(*, embedded_worker: bool | None = None) -> FastAPI:
    app = FastAPI(
        title="tamis",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.embedded_worker = get_settings().embedded_worker if embedded_worker is None else embedded_worker
    problems.install(app)
    openapi.install(app, [ModerateRequest, ModerationRequest, MatchRequest, CaseDecisionRequest, ReportRequest, AppealRequest,
                          SettingsRequest])
    for module in (moderate, openai_compat, decisions, policies, webhooks, banks, hashes, health):
        app.include_router(module.router)
    app.include_router(videos.router)
    app.include_router(cases.router)
    app.include_router(reports.router)
    app.include_router(appeals.router)
    app.include_router(audit_api.router)
    app.include_router(quality_api.router)
    app.include_router(dsa.router)
    review.install(app)
    dsa_web.install(app)
    dsa_pages.install(app)
    review_wellness.install(app)
    review_media.install(app)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(MetricsMiddleware)
    # Docs without a CDN: tamis runs on machines that may not reach the internet. Swagger UI 5 (the
    # copy inside fastapi-offline): older bundles cannot render an OpenAPI 3.1 document at all.
    app.mount("/static/swagger", StaticFiles(directory=str(resources.files("fastapi_offline") / "static")), name="swagger")

    @app.get("/", include_in_schema=False)
    def landing() -> HTMLResponse:
        return HTMLResponse(LANDING.format(version=__version__))

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="tamis API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon.png",
        )

    return app
