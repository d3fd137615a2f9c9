"""Submitting statements: off by default (nothing sent), and when the operator configures it, sent in
batches of at most 100 with their token to a local test server, only after the destination check
(a loopback address is refused unless the operator allowed it), with each batch and its answer recorded."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import assert_problem
from dsa_helpers import BLOCK_WORD, list_policy
from test_webhooks import receiver  # noqa: F401  (the local test server fixture)
from tamis import config
from tamis.cli import app
from tamis.services.dsa import statements, submit
from tamis.store.db import transaction
from tamis.store.models import Statement, StatementSubmission

TOKEN = "tdb-token-0123456789abcdef"


def blocked(client, auth, project: str, n: int) -> None:  # type: ignore[no-untyped-def]
    list_policy(project)
    for start in range(0, n, 100):
        items = [{"data_id": f"i{i}", "text": BLOCK_WORD} for i in range(start, min(n, start + 100))]
        assert client.post("/v1/moderate", headers=auth, json={"items": items}).status_code == 200


def submissions(project: str) -> list[StatementSubmission]:
    with transaction() as session:
        rows = list(session.scalars(select(StatementSubmission).where(StatementSubmission.project_id == project)
                                    .order_by(StatementSubmission.created_at)))
        session.expunge_all()
    return rows


def since() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


def test_off_by_default_nothing_is_sent(client, auth, project: str, receiver) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    blocked(client, auth, project, 3)
    assert client.get("/v1/dsa/settings", headers=auth).json()["submission"] == {"enabled": False, "url": None, "token_set": False}
    with pytest.raises(submit.SubmissionOff):
        submit.submit(project, submit.pending(project, since=since(), until=None))
    done = CliRunner().invoke(app, ["dsa", "statements", "--since", since().isoformat(), "--project", project, "--submit"])
    assert done.exit_code == 2 and "submission is off" in done.output
    assert receiver.seen == 0 and submissions(project) == []


def test_a_loopback_endpoint_is_refused_unless_allowed(client, auth, project: str, receiver) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    settings = {"submission": {"enabled": True, "url": receiver.url}, "submission_token": TOKEN}
    assert_problem(client.put("/v1/dsa/settings", headers=auth, json=settings), 422, "submission.url")
    # Allowed by the operator, configured; then the allowance is withdrawn: the next submission is refused.
    os.environ["TAMIS_WEBHOOK_ALLOW_NETWORKS"] = "127.0.0.0/8"
    config.get_settings.cache_clear()
    try:
        assert client.put("/v1/dsa/settings", headers=auth, json=settings).status_code == 200
    finally:
        del os.environ["TAMIS_WEBHOOK_ALLOW_NETWORKS"]
        config.get_settings.cache_clear()
    blocked(client, auth, project, 2)
    sent = submit.submit(project, submit.pending(project, since=since(), until=None))
    assert [(s.count, s.status_code, s.error) for s in sent] == [(2, None, "refused destination")]
    assert receiver.seen == 0
    assert len(submit.pending(project, since=since(), until=None)) == 2  # not marked: they go next time


def test_batches_go_with_the_token_and_are_recorded(client, auth, project: str, receiver, allow_loopback_webhooks) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    put = client.put("/v1/dsa/settings", headers=auth, json={"submission": {"enabled": True, "url": receiver.url},
                                                              "submission_token": TOKEN})
    assert put.status_code == 200 and TOKEN not in put.text
    blocked(client, auth, project, 230)
    receiver.fail_first = 1  # the first batch answers 500: recorded, retried on the next run
    first = submit.submit(project, submit.pending(project, since=since(), until=None))
    assert [(s.count, s.status_code, s.error) for s in first] == [(100, 500, "HTTP 500"), (100, 200, None), (30, 200, None)]
    done = CliRunner().invoke(app, ["dsa", "statements", "--since", since().isoformat(), "--project", project, "--submit"])
    assert done.exit_code == 0, done.output
    assert receiver.wait_for(3, 5)
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert sorted(len(b["statements"]) for b in bodies) == [30, 100, 100] and all(set(b) == {"statements"} for b in bodies)
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" and r.headers["content-type"] == "application/json"
               for r in receiver.requests)
    assert all(statements.errors(s) == [] for b in bodies for s in b["statements"])
    got = {s["puid"] for b in bodies for s in b["statements"]}
    with transaction() as session:
        rows = list(session.scalars(select(Statement).where(Statement.project_id == project)))
        assert {r.puid for r in rows} == got and all(r.submitted_at is not None for r in rows)
    recorded = submissions(project)
    assert [(r.status_code, len(r.puids)) for r in recorded] == [(500, 100), (200, 100), (200, 30), (200, 100)]
    assert recorded[1].response == '{"ok": true}' and recorded[0].url == receiver.url
    # Nothing left: a new run sends nothing.
    assert submit.submit(project, submit.pending(project, since=since(), until=None)) == []
    assert len(receiver.requests) == 3


def test_restorations_are_left_out_unless_asked(client, auth, project: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    os.environ["TAMIS_REVIEW_SAMPLE_RATE"] = "1"
    config.get_settings.cache_clear()
    try:
        blocked(client, auth, project, 2)
    finally:
        del os.environ["TAMIS_REVIEW_SAMPLE_RATE"]
        config.get_settings.cache_clear()
    case_id = client.get("/v1/cases", headers=auth).json()["cases"][0]["id"]
    assert client.post(f"/v1/cases/{case_id}/decision", headers=auth, json={"action": "overturn"}).status_code == 201
    assert sorted(r.kind for r in submit.pending(project, since=since(), until=None, restorations=True)) == ["automated", "automated", "restore"]
    assert [r.kind for r in submit.pending(project, since=since(), until=None)] == ["automated", "automated"]
    runner = CliRunner()
    for flags, n in (([], 2), (["--include-restorations"], 3)):
        out = tmp_path / str(n)
        done = runner.invoke(app, ["dsa", "statements", "--since", since().isoformat(), "--project", project, "--out", str(out), *flags])
        assert done.exit_code == 0, done.output
        assert sum(len(json.loads(f.read_text())["statements"]) for f in out.glob("batch-*.json")) == n
