"""`/v1/policies`: versions, validation, lists, thresholds, shadow mode, and what decisions record."""

from __future__ import annotations

from typing import Any

import pytest

from tamis.analyzers import get_analyzer
from tamis.engine.policy import default_body
from tamis.store import queries
from tamis.store.db import transaction
from conftest import assert_problem

PROFANE = "you are a fucking idiot"
CLEAN = "I am a proud gardener and I love tomatoes"


def put(client, auth: dict[str, str], body: dict[str, Any], policy_id: str = "default"):  # type: ignore[no-untyped-def]
    return client.put(f"/v1/policies/{policy_id}", json=body, headers=auth)


def judge(client, auth: dict[str, str], *texts: str, policy: str = "default") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    items = [{"data_id": f"t{i}", "text": t} for i, t in enumerate(texts)]
    response = client.post("/v1/moderate", json={"items": items, "policy": policy}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()



def test_default_policy_is_the_shipped_one_as_version_0(client, auth: dict[str, str]) -> None:
    response = client.get("/v1/policies/default", headers=auth)
    assert response.status_code == 200, response.text
    doc = response.json()
    enforced = doc["enforced"]
    assert enforced["id"] == "default" and enforced["version"] == 0 and enforced["shadow"] is False
    shipped = default_body().model_dump(mode="json")
    assert {k: enforced[k] for k in shipped} == shipped
    # a category that only reviews says so explicitly: block null, not missing
    assert enforced["categories"]["profanity"] == {"review": shipped["categories"]["profanity"]["review"], "block": None}
    assert enforced["analyzers"] == ["nsfw-image", "image-safety", "text-model", "image-text", "links"]
    assert doc["shadow"] is None
    assert doc["versions"] == []
    listing = client.get("/v1/policies", headers=auth).json()
    assert listing == {"policies": [{"id": "default", "enforced_version": 0, "shadow_version": None}]}


def test_put_makes_new_versions(client, auth: dict[str, str]) -> None:
    first = put(client, auth, {"description": "first", "categories": {"profanity": {"review": 0.7}}})
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1 and first.json()["description"] == "first"
    assert first.json()["categories"] == {"profanity": {"review": 0.7, "block": None}}
    second = put(client, auth, {"description": "second"})
    assert second.status_code == 201, second.text
    assert second.json()["version"] == 2

    doc = client.get("/v1/policies/default", headers=auth).json()
    assert doc["enforced"]["version"] == 2 and doc["enforced"]["description"] == "second"
    assert [v["version"] for v in doc["versions"]] == [2, 1]
    assert all(v["shadow"] is False and v["created_at"] for v in doc["versions"])

    # Old versions stay readable.
    v1 = client.get("/v1/policies/default/versions/1", headers=auth)
    assert v1.status_code == 200 and v1.json()["description"] == "first"
    assert client.get("/v1/policies/default/versions/3", headers=auth).status_code == 404

    # Another policy id has its own numbering and is listed.
    other = put(client, auth, {"description": "strict"}, "strict")
    assert other.status_code == 201 and other.json()["version"] == 1
    listing = {p["id"]: p for p in client.get("/v1/policies", headers=auth).json()["policies"]}
    assert listing["default"]["enforced_version"] == 2 and listing["strict"]["enforced_version"] == 1


def test_policies_are_per_project(client, auth: dict[str, str]) -> None:
    assert put(client, auth, {"description": "mine"}).status_code == 201
    with transaction() as session:
        _, other_key = queries.create_key(session, "proj-other-policies")
    other = {"Authorization": f"Bearer {other_key}"}
    assert client.get("/v1/policies/default", headers=other).json()["enforced"]["version"] == 0
    assert client.get("/v1/policies/nope", headers=auth).status_code == 404


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("unknown category", {"categories": {"nudity": {"review": 0.5}}}, "categories"),
    ("review above block", {"categories": {"profanity": {"review": 0.9, "block": 0.5}}}, "categories.profanity"),
    ("unknown analyzer", {"analyzers": ["profanity-text", "mind-reader"]}, "analyzers"),
    ("regex does not compile", {"block_lists": [{"name": "bad", "regex": ["(unclosed"]}]}, "block_lists[0].regex[0]"),
    ("allow regex does not compile", {"allow_lists": [{"name": "bad", "regex": ["[z-a]"]}]}, "allow_lists[0].regex[0]"),
    ("threshold above 1", {"categories": {"profanity": {"block": 1.5}}}, "categories.profanity.block"),
    ("threshold below 0", {"categories": {"profanity": {"review": -0.1}}}, "categories.profanity.review"),
    ("extra field", {"description": "x", "owner": "me"}, "owner"),
    ("extra threshold field", {"categories": {"profanity": {"review": 0.5, "warn": 0.2}}}, "categories.profanity.warn"),
    ("list with unknown category", {"block_lists": [{"name": "b", "category": "brands", "terms": ["x"]}]}, "block_lists[0].category"),
    ("list with bad action", {"block_lists": [{"name": "b", "action": "delete", "terms": ["x"]}]}, "block_lists[0].action"),
    ("list with bad name", {"block_lists": [{"name": "Bad Name", "terms": ["x"]}]}, "block_lists[0].name"),
    ("NUL in a term", {"block_lists": [{"name": "b", "terms": ["ok", "a\x00b"]}]}, "block_lists[0].terms"),
    ("NUL in the description", {"description": "a\x00b"}, "description"),
    ("shadow not a bool", {"shadow": "maybe"}, "shadow"),
]


@pytest.mark.parametrize(("body", "field"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_policy_bodies(client, auth: dict[str, str], body: dict[str, Any], field: str) -> None:
    assert_problem(put(client, auth, body), 422, field)
    assert client.get("/v1/policies/default", headers=auth).json()["versions"] == []  # nothing written


def test_invalid_policy_id_and_json(client, auth: dict[str, str]) -> None:
    assert put(client, auth, {}, "Not-Valid").status_code == 422
    response = client.put("/v1/policies/default", content=b"{nope", headers={**auth, "Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/policies/default", headers=auth).json()["versions"] == []


@pytest.mark.models
def test_block_list_matches_disguised_text(client, auth: dict[str, str]) -> None:
    body = {"block_lists": [{"name": "brand", "category": "spam", "action": "block", "terms": ["buy cheap pills"]}]}
    assert put(client, auth, body).status_code == 201
    text = "BUY CHEAP P1LLS now"
    doc = judge(client, auth, text, CLEAN)
    assert doc["policy"]["version"] == 1
    hit, clean = doc["results"]
    assert hit["verdict"] == "block"
    evidence = [e for e in hit["evidence"] if e["type"] == "list"]
    assert len(evidence) == 1
    e = evidence[0]
    assert e["list"] == "brand" and e["entry"] == "buy cheap pills" and e["category"] == "spam"
    assert (e["start"], e["end"]) == (0, len("BUY CHEAP P1LLS"))
    assert text[e["start"] : e["end"]] == "BUY CHEAP P1LLS"  # offsets point into the original text
    spam = {c["name"]: c for c in hit["categories"]}["spam"]
    assert spam["score"] == 1.0 and spam["flagged"] is False  # no spam threshold: the list's action blocks
    assert spam["analyzers"] == [f"text-model@{get_analyzer('text-model').version}", "lists@default.1"]
    assert any("brand" in r or "spam" in r for r in hit["reasons"])
    # A list that does not match says nothing about its category (the text model still scores it).
    assert clean["verdict"] == "pass"
    assert {c["name"]: c for c in clean["categories"]}["spam"]["analyzers"] == [f"text-model@{get_analyzer('text-model').version}"]
    assert [e for e in clean["evidence"] if e["type"] == "list"] == []


@pytest.mark.models
def test_allow_list_suppresses_an_overlapping_block_match(client, auth: dict[str, str]) -> None:
    body = {
        "block_lists": [{"name": "drugs", "category": "illicit", "action": "block", "terms": ["pills"]}],
        "allow_lists": [{"name": "pharmacy", "terms": ["vitamin pills"]}],
    }
    assert put(client, auth, body).status_code == 201
    allowed, blocked, both = judge(
        client, auth, "I take vitamin pills every morning", "cheap pills here", "vitamin pills and cheap pills"
    )["results"]
    assert allowed["verdict"] == "pass"
    assert [e for e in allowed["evidence"] if e["type"] == "list"] == []
    assert "illicit" not in {c["name"] for c in allowed["categories"]}
    assert blocked["verdict"] == "block"
    assert [(e["start"], e["end"]) for e in blocked["evidence"] if e["type"] == "list"] == [(6, 11)]
    # The allowed span is skipped, the other match still blocks.
    assert both["verdict"] == "block"
    text = "vitamin pills and cheap pills"
    assert [(e["start"], e["end"]) for e in both["evidence"] if e["type"] == "list"] == [(text.rindex("pills"), len(text))]


@pytest.mark.models
def test_review_action_list(client, auth: dict[str, str]) -> None:
    body = {"block_lists": [{"name": "watch", "action": "review", "regex": [r"\bfree\s+money\b"]}]}
    assert put(client, auth, body).status_code == 201
    hit, miss = judge(client, auth, "Get FREE   money today", "money is not free")["results"]
    assert hit["verdict"] == "review"
    (e,) = [e for e in hit["evidence"] if e["type"] == "list"]
    assert "Get FREE   money today"[e["start"] : e["end"]] == "FREE   money"
    assert miss["verdict"] == "pass"


@pytest.mark.models
def test_review_only_thresholds_turn_block_into_review(client, auth: dict[str, str]) -> None:
    before = judge(client, auth, PROFANE)
    assert before["results"][0]["verdict"] == "block" and before["policy"]["version"] == 0
    lenient = {name: {"review": 0.5, "block": None} for name in ("harassment", "hate")}
    assert put(client, auth, {"categories": lenient}).status_code == 201
    after = judge(client, auth, PROFANE, CLEAN)
    assert after["policy"] == {"id": "default", "version": 1, "shadow": False}
    assert [r["verdict"] for r in after["results"]] == ["review", "pass"]
    assert {c["name"]: c for c in after["results"][0]["categories"]}["harassment"]["flagged"] is True


@pytest.mark.models
def test_policy_without_text_analyzer_does_not_assess_text(client, auth: dict[str, str]) -> None:
    assert put(client, auth, {"analyzers": ["nsfw-image"]}).status_code == 201
    result = judge(client, auth, PROFANE)["results"][0]
    assert result["verdict"] == "pass"
    assert result["categories"] == [] and result["analyzers"] == []


@pytest.mark.models
def test_shadow_policy_is_recorded_not_enforced(client, auth: dict[str, str]) -> None:
    lenient = {name: {"review": 0.5} for name in ("harassment", "hate")}
    shadow = put(client, auth, {"shadow": True, "categories": lenient})
    assert shadow.status_code == 201, shadow.text
    assert shadow.json()["version"] == 1 and shadow.json()["shadow"] is True
    doc = client.get("/v1/policies/default", headers=auth).json()
    assert doc["enforced"]["version"] == 0 and doc["shadow"]["version"] == 1
    assert client.get("/v1/policies", headers=auth).json()["policies"] == [
        {"id": "default", "enforced_version": 0, "shadow_version": 1}
    ]

    answered = judge(client, auth, PROFANE)
    assert answered["policy"] == {"id": "default", "version": 0, "shadow": False}
    assert answered["results"][0]["verdict"] == "block"  # the enforced default

    enforced = client.get("/v1/decisions", headers=auth).json()["decisions"]
    assert [d["id"] for d in enforced] == [answered["id"]]
    shadowed = client.get("/v1/decisions", params={"shadow": "true"}, headers=auth).json()["decisions"]
    assert len(shadowed) == 1
    s = shadowed[0]
    assert s["id"] != answered["id"]
    assert s["policy"] == {"id": "default", "version": 1, "shadow": True}
    assert s["results"][0]["verdict"] == "review"  # the shadow policy never blocks
    assert s["results"][0]["data_id"] == "t0"
    assert client.get(f"/v1/decisions/{s['id']}", headers=auth).json() == s
    shadow_review = client.get("/v1/decisions", params={"shadow": "true", "verdict": "review"}, headers=auth)
    assert [d["id"] for d in shadow_review.json()["decisions"]] == [s["id"]]
    # Both judged the same text, from the same analyzer run: same score, different verdicts.
    shadow_harassment = {c["name"]: c for c in s["results"][0]["categories"]}["harassment"]
    enforced_harassment = {c["name"]: c for c in answered["results"][0]["categories"]}["harassment"]
    assert shadow_harassment["score"] == enforced_harassment["score"]
    assert shadow_harassment["flagged"] is True and enforced_harassment["flagged"] is True

    # Writing an enforced version ends the shadow run.
    assert put(client, auth, {"description": "enforced"}).json()["version"] == 2
    doc = client.get("/v1/policies/default", headers=auth).json()
    assert doc["enforced"]["version"] == 2 and doc["shadow"] is None
    judge(client, auth, PROFANE)
    assert len(client.get("/v1/decisions", params={"shadow": "true"}, headers=auth).json()["decisions"]) == 1


@pytest.mark.models
def test_decisions_record_policy_and_analyzer_versions(client, project: str, auth: dict[str, str]) -> None:
    assert put(client, auth, {"categories": {"profanity": {"review": 0.5}}}).status_code == 201
    assert put(client, auth, {"categories": {"profanity": {"review": 0.6}}}).status_code == 201
    answered = judge(client, auth, PROFANE, CLEAN)
    stored = client.get(f"/v1/decisions/{answered['id']}", headers=auth).json()
    assert stored["policy"] == {"id": "default", "version": 2, "shadow": False}
    model, links = get_analyzer("text-model"), get_analyzer("links")
    for result in stored["results"]:
        assert [(a["name"], a["version"]) for a in result["analyzers"]] == [("text-model", model.version), ("links", links.version)]
        assert all(isinstance(a["ms"], float) for a in result["analyzers"])
        assert all(c["analyzers"] == [f"text-model@{model.version}"] for c in result["categories"])  # no link: links assessed nothing
    with transaction() as session:
        row = queries.get_decision(session, project, answered["id"])
        assert row is not None
        assert (row.policy_id, row.policy_version, row.shadow, row.source) == ("default", 2, False, "api")
