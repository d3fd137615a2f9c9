"""`/v1/cases`: items sent to review through `/v1/moderate` become cases that a platform lists,
reads and decides; another project's ids, malformed and oversized bodies are refused as problems."""

from __future__ import annotations

import pytest

from conftest import assert_problem
from review_helpers import review_everything_flagged
from tamis.store.db import transaction
from tamis.services import webhooks


@pytest.fixture
def case_id(client, auth, project: str) -> str:  # type: ignore[no-untyped-def]
    review_everything_flagged(project)
    sent = client.post("/v1/moderate", headers=auth, json={"items": [
        {"data_id": "post-1", "text": "you are a fucking idiot", "author_id": "user-9", "context": "thread: cats"},
        {"data_id": "post-2", "text": "what a lovely garden"},
    ]})
    assert sent.status_code == 200, sent.text
    assert [r["verdict"] for r in sent.json()["results"]] == ["review", "pass"]
    listed = client.get("/v1/cases", headers=auth).json()["cases"]
    assert [c["data_id"] for c in listed] == ["post-1"]
    return listed[0]["id"]


def test_moderate_then_list_read_and_decide_a_case(client, auth, project: str, case_id: str) -> None:  # type: ignore[no-untyped-def]
    with transaction() as session:
        hook_id = webhooks.create_webhook(session, project, "https://example.org/hook").id
    case = client.get(f"/v1/cases/{case_id}", headers=auth).json()
    assert case["status"] == "open" and case["author_id"] == "user-9" and case["verdict"] == "review"
    assert case["result"]["data_id"] == "post-1" and case["result"]["evidence"]
    assert case["category"] in {c["name"] for c in case["result"]["categories"] if c["flagged"]}
    assert client.get("/v1/cases", params={"status": "open", "data_id": "post-1"}, headers=auth).json()["cases"][0]["id"] == case_id
    assert client.get("/v1/cases", params={"status": "decided"}, headers=auth).json()["cases"] == []
    decided = client.post(f"/v1/cases/{case_id}/decision", headers=auth,
                          json={"action": "uphold", "category": "harassment", "reason": "insult", "reviewer": "mod-ana"})
    assert decided.status_code == 201, decided.text
    assert decided.json()["verdict"] == "block" and decided.json()["by"] == "api:mod-ana"
    after = client.get(f"/v1/cases/{case_id}", headers=auth).json()
    assert after["status"] == "decided" and [r["by"] for r in after["reviews"]] == ["api:mod-ana"]
    assert_problem(client.post(f"/v1/cases/{case_id}/decision", headers=auth, json={"action": "overturn"}), 409, None)
    from test_webhooks import deliveries

    bodies = [d.body for d in deliveries(project) if d.webhook_id == hook_id]
    assert any('"type":"review"' in b and case_id in b for b in bodies)
    # The automated decision is unchanged.
    decision = client.get(f"/v1/decisions/{case['decision_id']}", headers=auth).json()
    assert decision["results"][0]["verdict"] == "review"


def test_paging(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    review_everything_flagged(project)
    client.post("/v1/moderate", headers=auth, json={"items": [{"data_id": f"p{i}", "text": "you are a fucking idiot"} for i in range(3)]})
    first = client.get("/v1/cases", params={"limit": 2}, headers=auth).json()
    assert len(first["cases"]) == 2 and first["next_before"]
    rest = client.get("/v1/cases", params={"limit": 2, "before": first["next_before"]}, headers=auth).json()
    assert len(rest["cases"]) == 1 and rest["next_before"] is None
    assert {c["id"] for c in first["cases"]}.isdisjoint({c["id"] for c in rest["cases"]})


def test_another_projects_case_is_not_found(client, auth, case_id: str) -> None:  # type: ignore[no-untyped-def]
    from conftest import unlimited_key

    other = {"Authorization": f"Bearer {unlimited_key('attacker-' + case_id[-6:])}"}
    assert_problem(client.get(f"/v1/cases/{case_id}", headers=other), 404, None)
    assert_problem(client.post(f"/v1/cases/{case_id}/decision", headers=other, json={"action": "overturn"}), 404, None)
    assert client.get("/v1/cases", headers=other).json()["cases"] == []
    assert client.get(f"/v1/cases/{case_id}", headers=auth).json()["status"] == "open"  # untouched
    assert_problem(client.get("/v1/cases/case_nope", headers=auth), 404, None)
    assert_problem(client.get("/v1/cases/a%00b", headers=auth), 404, None)


@pytest.mark.parametrize("body, status, field", [
    (b"{not json", 400, "body"),
    (b'{"action": "ban"}', 422, "action"),
    (b'{"action": "uphold", "category": "politics"}', 422, "category"),
    (b'{"action": "uphold", "note": "' + b"x" * 6000 + b'"}', 422, "note"),
    (b'{"action": "uphold", "reason": "a\\u0000b"}', 422, "reason"),
    (b'{"action": "uphold", "extra": 1}', 422, "extra"),
    (b'[]', 422, "body"),
])
def test_bad_decisions_are_problems_naming_the_field(client, auth, case_id: str, body: bytes, status: int, field: str) -> None:  # type: ignore[no-untyped-def]
    answer = client.post(f"/v1/cases/{case_id}/decision", headers={**auth, "Content-Type": "application/json"}, content=body)
    assert_problem(answer, status, field)
    assert client.get(f"/v1/cases/{case_id}", headers=auth).json()["status"] == "open"  # nothing half-written


def test_an_oversized_decision_body_is_413(client, auth, case_id: str) -> None:  # type: ignore[no-untyped-def]
    from tamis.config import get_settings

    body = b'{"action": "uphold", "note": "' + b"x" * (get_settings().max_request_bytes + 10) + b'"}'
    answer = client.post(f"/v1/cases/{case_id}/decision", headers={**auth, "Content-Type": "application/json"}, content=body)
    assert_problem(answer, 413, "body")


@pytest.mark.parametrize("params, field", [
    ({"status": "lost"}, "status"), ({"limit": 0}, "limit"), ({"data_id": "x" * 300}, "data_id"), ({"before": "a\x00"}, "before"),
])
def test_bad_filters_are_problems_naming_the_field(client, auth, params: dict, field: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    assert_problem(client.get("/v1/cases", params=params, headers=auth), 422, field)


def test_cases_need_a_key(client) -> None:  # type: ignore[no-untyped-def]
    assert_problem(client.get("/v1/cases"), 401, "Authorization")
    assert_problem(client.post("/v1/cases/x/decision", json={"action": "uphold"}), 401, "Authorization")


def test_author_id_and_context_are_checked(client, auth) -> None:  # type: ignore[no-untyped-def]
    for item, field in (({"author_id": ""}, "items[0].author_id"), ({"context": "x" * 2001}, "items[0].context"),
                        ({"author_id": "a\x00"}, "items[0].author_id")):
        answer = client.post("/v1/moderate", headers=auth, json={"items": [{"data_id": "d", "text": "hello", **item}]})
        assert_problem(answer, 422, field)


def test_author_id_is_never_a_signal(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    """The same text judged with and without an author and context gets the same scores."""
    plain = client.post("/v1/moderate", headers=auth, json={"items": [{"data_id": "a", "text": "you are an idiot"}]}).json()
    told = client.post("/v1/moderate", headers=auth, json={"items": [
        {"data_id": "a", "text": "you are an idiot", "author_id": "known-troll", "context": "flame war thread"}]}).json()
    assert plain["results"][0]["categories"] == told["results"][0]["categories"]
