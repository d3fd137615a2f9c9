"""`/healthz`, `/readyz` and `/metrics` (Prometheus text format). None needs a key."""

from __future__ import annotations

import threading
from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text

from tamis import __version__
from tamis.store.db import get_engine

router = APIRouter(tags=["operations"])


class ModelState:
    """Whether this process has loaded the default policy's models (they load in the background)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.state = "loading"

    def loaded(self) -> None:
        with self._lock:
            self.state = "loaded"

    def failed(self, exc: Exception) -> None:
        with self._lock:
            self.state = f"error: {type(exc).__name__}"


MODELS = ModelState()


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(description="ok when the database answers.")
    database: str = Field(description='"ok", or "error: <exception type>".', examples=["ok"])
    models: str = Field(description='"loaded", "loading" (at start), or "error: <exception type>".', examples=["loaded"])
    version: str = Field(examples=[__version__])


def _database() -> str:
    try:
        with get_engine().connect() as connection:
            connection.execute(text("select 1"))
        return "ok"
    except Exception as exc:  # report, don't crash: this is what monitors poll
        return f"error: {type(exc).__name__}"


def _health() -> Health:
    database = _database()
    return Health(status="ok" if database == "ok" else "degraded", database=database, models=MODELS.state, version=__version__)


_UNAVAILABLE = {"model": Health, "description": "The database does not answer (or, for /readyz, the models are not loaded yet)."}


@router.get("/healthz", response_model=Health, responses={503: _UNAVAILABLE}, summary="Liveness: is the database reachable")
def healthz() -> JSONResponse:
    """200 while the database answers, 503 otherwise; says whether the models are loaded yet.
    For load balancers that must wait until requests can be served, poll `/readyz`."""
    doc = _health()
    return JSONResponse(doc.model_dump(), status_code=200 if doc.database == "ok" else 503)


@router.get("/readyz", response_model=Health, responses={503: _UNAVAILABLE}, summary="Readiness: database and models")
def readyz() -> JSONResponse:
    """200 once the database answers and the models are loaded; 503 until then (models load at start)."""
    doc = _health()
    ready = doc.database == "ok" and doc.models == "loaded"
    return JSONResponse(doc.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
                     "description": "Prometheus text exposition format: request counts and latencies by route."}},
)
def metrics() -> Response:
    """Request counts (`tamis_http_requests_total` by method, route template and status) and latencies
    (`tamis_http_request_seconds` by route), plus the process's own metrics. No key needed: expose it
    only to your monitoring network."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
