"""Overturn rates per queue, category and analyzer version: `GET /v1/quality` and the admin page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from conftest import assert_problem
from review_helpers import add_reviewer
from test_cases import record
from tamis.schema import AnalyzerRun, CategoryResult, ItemResult


def _result(data_id: str, analyzer: str) -> ItemResult:
    name, version = analyzer.split("@")
    return ItemResult(data_id=data_id, verdict="review", evidence=[], analyzers=[AnalyzerRun(name=name, version=version, ms=1.0)],
                      categories=[CategoryResult(name="harassment", score=0.9, flagged=True, analyzers=[analyzer]),
                                  CategoryResult(name="spam", score=0.1, flagged=False, analyzers=["links@1"])])


@pytest.fixture
def decided(client, auth, project: str) -> str:  # type: ignore[no-untyped-def]
    """Four cases: text-model@1's upheld once, text-model@2's overturned twice and upheld once."""
    for n, analyzer in enumerate(["text-model@1", "text-model@2", "text-model@2", "text-model@2"]):
        record(project, [_result(f"post-{n}", analyzer)])
    ids = {c["data_id"]: c["id"] for c in client.get("/v1/cases", headers=auth).json()["cases"]}
    for data_id, action in (("post-0", "uphold"), ("post-1", "overturn"), ("post-2", "overturn"), ("post-3", "uphold")):
        answer = client.post(f"/v1/cases/{ids[data_id]}/decision", headers=auth, json={"action": action})
        assert answer.status_code == 201, answer.text
    return project


def test_overturn_rates_per_analyzer_version(client, auth, decided: str) -> None:  # type: ignore[no-untyped-def]
    report = client.get("/v1/quality", headers=auth).json()
    rows = {(r["queue"], r["category"], r["analyzer"]): (r["upheld"], r["overturned"], r["overturn_rate"]) for r in report["rows"]}
    assert rows == {("default", "harassment", "text-model@1"): (1, 0, 0.0),
                    ("default", "harassment", "text-model@2"): (1, 2, pytest.approx(0.6667, abs=1e-4))}
    assert report["window"] >= 1000
    assert client.get("/v1/quality", headers=auth, params={"since": "2999-01-01T00:00:00Z"}).json()["rows"] == []


def test_another_projects_key_and_bad_input(client, decided: str) -> None:  # type: ignore[no-untyped-def]
    from tamis.store import queries
    from tamis.store.db import transaction

    with transaction() as session:
        _, other = queries.create_key(session, f"{decided}-other")
    assert client.get("/v1/quality", headers={"Authorization": f"Bearer {other}"}).json()["rows"] == []
    assert_problem(client.get("/v1/quality"), 401, "Authorization")
    for since in ("soon", "0001-01-01T00:00:00", "2026-02-30T00:00:00", "9999-12-31T23:00:00-05:00"):
        assert_problem(client.get("/v1/quality", params={"since": since}, headers={"Authorization": f"Bearer {other}"}), 422, "since")


@pytest.mark.slow
def test_the_admin_page_shows_them_and_a_reviewer_is_refused(app, decided: str) -> None:  # type: ignore[no-untyped-def]
    from test_review_web import sign_in

    with TestClient(app, base_url="https://testserver") as admin, TestClient(app, base_url="https://testserver") as reviewer:
        sign_in(admin, add_reviewer(decided, "admin"))
        page = admin.get(f"/review/p/{decided}/admin")
        assert page.status_code == 200
        assert '<tr data-analyzer="text-model@2"><td>default</td><td>harassment</td>' in page.text and "67 %" in page.text
        sign_in(reviewer, add_reviewer(decided))
        assert reviewer.get(f"/review/p/{decided}/admin").status_code == 403
