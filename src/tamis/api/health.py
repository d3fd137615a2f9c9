"""`/healthz` and `/metrics` (Prometheus text format). Neither needs a key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from tamis import __version__
from tamis.store.db import get_engine

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> Any:
    try:
        with get_engine().connect() as connection:
            connection.execute(text("select 1"))
        database = "ok"
    except Exception as exc:  # report, don't crash: this is what monitors poll
        database = f"error: {type(exc).__name__}"
    status = 200 if database == "ok" else 503
    return JSONResponse({"status": "ok" if status == 200 else "degraded", "database": database, "version": __version__}, status_code=status)


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
