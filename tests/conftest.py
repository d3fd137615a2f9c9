"""Shared fixtures: a real database (SQLite, or PostgreSQL when TAMIS_DATABASE_URL is set), the app,
and a fresh project with its key for each test (tests never share a project, so they never interfere).
"""

from __future__ import annotations

import importlib
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tamis import config
from tamis.store import db

FIXTURES = Path(__file__).parent / "fixtures"


def _reset_caches() -> None:
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.session_factory.cache_clear()


def _postgres_database(url: str) -> tuple[str, str]:
    """Create a throw-away database on the server of `url`; (its URL, its name)."""
    name = f"tamis_t_{secrets.token_hex(4)}"
    admin = create_engine(db.driver_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base, _, _ = db.driver_url(url).rpartition("/")
    return f"{base}/{name}", name


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str]:
    """Point tamis at a fresh database for the whole test session."""
    data_dir = tempfile.mkdtemp(prefix="tamis-test-")
    os.environ["TAMIS_DATA_DIR"] = data_dir
    # One folder of derived int8 models for the session's servers too (each has its own data dir).
    os.environ.setdefault("TAMIS_MODEL_CACHE_DIR", str(Path(data_dir) / "models"))
    given = os.environ.get("TAMIS_DATABASE_URL")
    created = None
    if given:
        url, created = _postgres_database(given)
        os.environ["TAMIS_DATABASE_URL"] = url
    _reset_caches()
    db.get_engine()
    yield os.environ.get("TAMIS_DATABASE_URL") or f"sqlite in {data_dir}"
    db.get_engine().dispose()
    _reset_caches()
    if given and created:
        os.environ["TAMIS_DATABASE_URL"] = given
        admin = create_engine(db.driver_url(given), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def app(database: str):  # type: ignore[no-untyped-def]
    from tamis.api import create_app

    return create_app(embedded_worker=False)


@pytest.fixture(scope="session")
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The app, once its models are loaded. Waiting matters beyond speed: the models load in a
    thread, and loading parses (numpy's array headers use ast); CPython 3.11.7's ast.parse is not
    safe in two threads at once ("AST constructor recursion depth mismatch"), and tests parse too
    (pytest's reports, hypothesis's descriptions)."""
    from tamis.api import health

    with TestClient(app) as test_client:
        deadline = time.monotonic() + 600
        while health.MODELS.state == "loading" and time.monotonic() < deadline:
            time.sleep(0.1)
        yield test_client


@pytest.fixture
def sample_everything(monkeypatch):  # type: ignore[no-untyped-def]
    """TAMIS_REVIEW_SAMPLE_RATE=1: every pass and block also goes to review (quality checks)."""
    from tamis import config

    monkeypatch.setenv("TAMIS_REVIEW_SAMPLE_RATE", "1")
    config.get_settings.cache_clear()
    yield
    monkeypatch.delenv("TAMIS_REVIEW_SAMPLE_RATE")
    config.get_settings.cache_clear()


@pytest.fixture
def allow_loopback_webhooks() -> Iterator[None]:
    """Webhook receivers in tests listen on 127.0.0.1, which is no webhook destination unless the
    operator allows it: allow it explicitly, as an operator would, for this test only."""
    before = os.environ.get("TAMIS_WEBHOOK_ALLOW_NETWORKS")
    os.environ["TAMIS_WEBHOOK_ALLOW_NETWORKS"] = "127.0.0.0/8"
    config.get_settings.cache_clear()
    yield
    if before is None:
        del os.environ["TAMIS_WEBHOOK_ALLOW_NETWORKS"]
    else:
        os.environ["TAMIS_WEBHOOK_ALLOW_NETWORKS"] = before
    config.get_settings.cache_clear()


@pytest.fixture
def project() -> str:
    return f"proj-{secrets.token_hex(4)}"


@pytest.fixture
def key(project: str) -> str:
    from tamis.store import queries
    from tamis.store.db import transaction

    with transaction() as session:
        _, plaintext = queries.create_key(session, project)
    return plaintext


@pytest.fixture
def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_problem(response, status: int, field: str | None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """An RFC 9457 problem response with this status, naming `field` (None: any or no field)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert isinstance(body["detail"], str) and body["detail"]
    if field is not None:
        assert body["field"] == field, body
    return body


def unlimited_key(project: str) -> str:
    """A key of `project` with no rate limit (its own limits set to 0, as `tamis limits` would), for
    suites that send thousands of requests with one key (the fuzzing suites)."""
    from tamis.store import queries
    from tamis.store.db import transaction
    from tamis.store.models import ProjectLimits

    with transaction() as session:
        _, plaintext = queries.create_key(session, project)
        session.merge(ProjectLimits(project_id=project, requests_per_s=0.0, items_per_s=0.0))
    return plaintext


# --- skips: only for what a developer's machine may lack (chromium, PostgreSQL), never in CI ----------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql_only: the test is about PostgreSQL's behaviour (row locks)")
    config.addinivalue_line("markers", "sqlite_only: the test is about SQLite's behaviour (file locks)")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: `-m "not postgres"` must see the marker added here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of one backend are deselected (not skipped) on the other: CI runs both, and covers them.

    A `postgresql_only` test needs a PostgreSQL server, so it is also `postgres`: the marker
    `make test-fast` leaves out (with TAMIS_DATABASE_URL set, the fast lane still runs on PostgreSQL).
    """
    for item in items:
        if item.get_closest_marker("postgresql_only") is not None:
            item.add_marker(pytest.mark.postgres)
    postgres = os.environ.get("TAMIS_DATABASE_URL", "").startswith(("postgresql", "postgres:"))
    other = "sqlite_only" if postgres else "postgresql_only"
    chosen = [item for item in items if item.get_closest_marker(other) is None]
    if len(chosen) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in chosen])
        items[:] = chosen


def pytest_collection_finish(session: pytest.Session) -> None:
    """A session that runs no `models` test (`make test-fast`) skips the app's model warm-up.

    The warm-up (tamis.api.app.warm_up, started with every app) loads the default policy's models so
    that a server's first answers are fast; in the fast lane it would only cost ~15 s of CPU. The app is
    otherwise the real one, and a model a test does use still loads on first use (that test then needs
    the `models` marker: `make test-fast` would show it slow).
    """
    if not any(item.get_closest_marker("models") for item in session.items):
        setattr(importlib.import_module("tamis.api.app"), "warm_up", lambda: None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI (CI=true) a skip is a failure: CI installs everything the tests need."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and os.environ.get("CI", "").lower() in ("true", "1"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped in CI (CI=true), where nothing may skip: {reason}"
