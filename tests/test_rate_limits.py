"""Rate limits per API key (issue 10, item 6): token buckets for requests and for items, answered
past the limit with a 429 problem and Retry-After, one key's burst never touching another's."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import assert_problem
from tamis import config
from tamis.api import ratelimit
from tamis.cli import app as cli
from tamis.store import queries
from tamis.store.db import transaction
from tamis.store.models import Decision


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Small limits for this test: 3 requests at once then one per 5 s; 5 items at once then one per
    10 s (slow refills, so that a busy machine's slowness cannot refill a bucket mid-test)."""
    for name, value in {"REQUESTS_PER_S": "0.2", "REQUESTS_BURST": "3", "ITEMS_PER_S": "0.1", "ITEMS_BURST": "5"}.items():
        monkeypatch.setenv(f"TAMIS_RATE_LIMIT_{name}", value)
    config.get_settings.cache_clear()
    yield
    monkeypatch.undo()
    config.get_settings.cache_clear()


def new_key(project: str) -> dict[str, str]:
    with transaction() as session:
        _, plaintext = queries.create_key(session, project)
    return {"Authorization": f"Bearer {plaintext}"}


def texts(n: int) -> dict[str, object]:
    return {"items": [{"data_id": f"t-{i}", "text": "hello friend"} for i in range(n)]}


def decisions(project: str) -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(Decision).where(Decision.project_id == project)) or 0


@pytest.mark.slow
def test_a_burst_over_the_request_limit_gets_429_with_retry_after(client, auth, project, limits) -> None:  # type: ignore[no-untyped-def]
    answers = [client.get("/v1/webhooks", headers=auth) for _ in range(6)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    refused = answers[3]
    body = assert_problem(refused, 429, None)
    assert body["type"].endswith("/rate-limited")
    assert body["retry_after"] == int(refused.headers["Retry-After"]) >= 1
    assert "0.2 requests per second" in body["detail"]
    assert all(a.status_code == 429 for a in answers[4:])

    # Another project's key is untouched.
    other = new_key(f"{project}-other")
    assert [client.get("/v1/webhooks", headers=other).status_code for _ in range(3)] == [200, 200, 200]

    metrics = client.get("/metrics").text
    assert any(line.startswith('tamis_rate_limited_total{bucket="requests"}') for line in metrics.splitlines())

    # Retry-After tells the truth: after waiting that long, the key is served again.
    time.sleep(int(refused.headers["Retry-After"]))
    assert client.get("/v1/webhooks", headers=auth).status_code == 200


@pytest.mark.models
def test_items_are_limited_before_any_work(client, auth, project, limits) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/v1/moderate", json=texts(5), headers=auth).status_code == 200
    refused = client.post("/v1/moderate", json=texts(3), headers=auth)
    body = assert_problem(refused, 429, None)
    assert "items" in body["detail"] and "has 3" in body["detail"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert decisions(project) == 1  # nothing was judged or recorded for the refused request
    # The OpenAI endpoint counts its inputs the same way.
    assert client.post("/v1/moderations", json={"input": ["a", "b", "c", "d"]}, headers=auth).status_code == 429
    other = new_key(f"{project}-other")
    assert client.post("/v1/moderate", json=texts(5), headers=other).status_code == 200


@pytest.mark.models
def test_a_request_larger_than_the_burst_passes_once_then_waits(client, auth, project, limits) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/v1/moderate", json=texts(8), headers=auth).status_code == 200  # 8 > burst 5
    refused = client.post("/v1/moderate", json=texts(1), headers=auth)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 30  # the debt of 3 items plus 1, at 0.1 per second


def test_bucket_refills_at_its_rate_and_caps_at_its_burst() -> None:
    bucket = ratelimit.Bucket()
    now = 1000.0
    assert [bucket.take(1, 2.0, 4.0, now) for _ in range(4)] == [0.0] * 4
    assert bucket.take(1, 2.0, 4.0, now) == pytest.approx(0.5)
    assert bucket.take(1, 2.0, 4.0, now + 0.5) == 0.0  # one token came back
    assert bucket.take(1, 2.0, 4.0, now + 100) == 0.0  # a long pause refills to the burst only
    assert [bucket.take(1, 2.0, 4.0, now + 100) for _ in range(4)][-1] == pytest.approx(0.5)


def test_a_project_override_set_with_the_cli(client, project) -> None:  # type: ignore[no-untyped-def]
    auth = new_key(project)
    result = CliRunner().invoke(cli, ["limits", "--project", project, "--requests-per-s", "0.1", "--requests-burst", "2"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["own"] == {"requests_per_s": 0.1, "requests_burst": 2.0}
    assert shown["limits"]["items_per_s"] == config.get_settings().rate_limit_items_per_s  # the default stays
    statuses = [client.get("/v1/webhooks", headers=auth).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    # Projects without an override keep the defaults.
    other = new_key(f"{project}-other")
    assert {client.get("/v1/webhooks", headers=other).status_code for _ in range(5)} == {200}

    reset = CliRunner().invoke(cli, ["limits", "--project", project, "--reset"])
    assert reset.exit_code == 0 and json.loads(reset.stdout)["own"] == {}
    bad = CliRunner().invoke(cli, ["limits", "--project", project, "--requests-per-s", "-1"])
    assert bad.exit_code == 2
