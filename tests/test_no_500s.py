"""Inputs and conditions that answered 500 (issue 10, item 5): each now gets a clear 4xx or 503."""

from __future__ import annotations

import pytest

from conftest import assert_problem

DEEP = "[" * 100_000


def test_moderations_with_an_empty_input_list_is_422(client, auth: dict[str, str]) -> None:
    assert_problem(client.post("/v1/moderations", headers=auth, json={"input": []}), 422, "input")


@pytest.fixture
def bank(client, auth: dict[str, str]) -> str:
    assert client.post("/v1/banks", headers=auth, json={"name": "deep"}).status_code == 201
    return "deep"


def test_a_deeply_nested_vpdq_entry_is_422(client, auth: dict[str, str], bank: str) -> None:
    response = client.post(f"/v1/banks/{bank}/entries", headers=auth, json=[{"signal": "vpdq", "value": DEEP}])
    assert_problem(response, 422, "[0].value")


@pytest.mark.parametrize(
    "fmt, content",
    [("plain", DEEP), ("te", "vpdq " + DEEP), ("te-csv", "indicator_type,indicator\nvpdq," + DEEP),
     ("hma", DEEP), ("te-simple", DEEP)],
)
def test_a_deeply_nested_vpdq_import_is_422(client, auth: dict[str, str], bank: str, fmt: str, content: str) -> None:
    response = client.post(f"/v1/banks/{bank}/import?format={fmt}&signal=vpdq", headers=auth, content=content.encode())
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/v1/banks/{bank}", headers=auth).json()["entries"] == 0


# --- a client that leaves mid-body ---------------------------------------------------------------


def _requests_counted(route: str, status: str) -> float:
    from prometheus_client import REGISTRY

    total = 0.0
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            if sample.name == "tamis_http_requests_total" and sample.labels.get("route") == route \
                    and sample.labels.get("status") == status:
                total += sample.value
    return total


def _send_half_then_leave(app, key: str, path: str, content_type: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """Drive the ASGI app directly: headers, half of a body, then the client disconnects."""
    import anyio

    half = {
        "application/json": b'{"items": [{"data_id": "a", "te',
        "multipart/form-data; boundary=x": b'--x\r\nContent-Disposition: form-data; name="text"\r\n\r\nhel',
    }.get(content_type, b"0123456789abcdef0123456789abcdef\n")
    messages = iter([
        {"type": "http.request", "body": half, "more_body": True},
        {"type": "http.disconnect"},
    ])
    sent: list[dict] = []

    async def receive() -> dict:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {key}".encode()),
                    (b"content-type", content_type.encode()), (b"content-length", b"100000")],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }
    anyio.run(app, scope, receive, send)
    return sent


@pytest.mark.parametrize(
    "path, content_type",
    [("/v1/moderate", "application/json"), ("/v1/moderate", "multipart/form-data; boundary=x"),
     ("/v1/banks/b/import", "text/plain")],
)
def test_a_client_leaving_mid_body_is_no_error_and_no_500(app, client, key: str, path: str, content_type: str,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    route = {"/v1/banks/b/import": "/v1/banks/{name}/import"}.get(path, path)
    before = _requests_counted(route, "500")
    with caplog.at_level("INFO", logger="tamis"):
        sent = _send_half_then_leave(app, key, path, content_type)
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")], caplog.text
    assert _requests_counted(route, "500") == before
    statuses = [m["status"] for m in sent if m["type"] == "http.response.start"]
    assert statuses in ([], [499]), statuses
    assert _requests_counted(route, "499") >= 1


def test_metrics_label_made_up_methods_as_other(client) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        client.request(f"BREW{i}", "/healthz")
    text = client.get("/metrics").text
    assert 'method="BREW0"' not in text and 'method="other"' in text


# --- the database: a lock held outside tamis, and what errors may log ----------------------------


@pytest.mark.models
@pytest.mark.sqlite_only  # an external lock on the SQLite file
def test_an_external_lock_on_the_sqlite_file_is_503_with_retry_after(client, auth: dict[str, str], monkeypatch,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    import sqlite3
    import time

    from tamis import config
    from tamis.store import db

    secret = "a-secret-text-7f3a9c"
    warm = client.post("/v1/moderate", headers=auth, json={"items": [{"data_id": "w", "text": "warm up the models"}]})
    assert warm.status_code == 200
    monkeypatch.setattr(config.get_settings(), "sqlite_busy_timeout_s", 0.5)
    db.get_engine().dispose()  # new connections take the shorter wait
    path = db.get_engine().url.database
    holder = sqlite3.connect(path, timeout=1)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # what a backup tool or a stray sqlite3 shell may do
        started = time.monotonic()
        with caplog.at_level("INFO"):
            response = client.post("/v1/moderate", headers=auth, json={"items": [{"data_id": "d", "text": secret}]})
        elapsed = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
        db.get_engine().dispose()
    assert_problem(response, 503, None)
    assert int(response.headers["retry-after"]) >= 1
    assert elapsed < 4.0, elapsed  # the old code answered 500 after 10 s
    assert secret not in caplog.text
    assert client.post("/v1/moderate", headers=auth, json={"items": [{"data_id": "d", "text": secret}]}).status_code == 200


def test_database_errors_never_carry_the_statements_values(caplog: pytest.LogCaptureFixture) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from tamis.store import db

    secret = "content-that-must-not-be-logged-51c2"
    engine = db.get_engine()
    assert engine.hide_parameters
    with pytest.raises(DBAPIError) as info:
        with engine.connect() as connection:
            connection.execute(text("INSERT INTO no_such_table (x) VALUES (:x)"), {"x": secret})
    assert secret not in str(info.value)
    import logging

    logging.getLogger("tamis.api").error("db error", exc_info=info.value)
    assert secret not in caplog.text
