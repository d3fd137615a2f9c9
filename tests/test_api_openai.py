"""`POST /v1/moderations`: OpenAI's moderation API shape, checked by hand and with the official SDK."""

from __future__ import annotations

import base64
import io
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from PIL import Image

from tamis.store import queries
from tamis.store.db import transaction
from tamis.taxonomy import OPENAI_CATEGORIES

PROFANE = "you are a fucking idiot"
CLEAN = "I am a proud gardener and I love tomatoes"


def png_data_url() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (40, 90, 200)).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def moderations(client, auth: dict[str, str], input: Any, **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.post("/v1/moderations", json={"input": input, **extra}, headers=auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def check_shape(doc: dict[str, Any], n: int) -> None:
    assert set(doc) == {"id", "model", "results"}
    assert doc["id"].startswith("modr-") and len(doc["id"]) > 10
    assert doc["model"] == "tamis-policy-default@0"
    assert len(doc["results"]) == n
    for result in doc["results"]:
        assert set(result) == {"flagged", "categories", "category_scores", "category_applied_input_types"}
        assert isinstance(result["flagged"], bool)
        for key in ("categories", "category_scores", "category_applied_input_types"):
            assert set(OPENAI_CATEGORIES) <= set(result[key]), key  # all 13 of OpenAI's categories
        assert set(result["categories"]) == set(result["category_scores"]) == set(result["category_applied_input_types"])
        for name, score in result["category_scores"].items():
            flagged = result["categories"][name]
            applied = result["category_applied_input_types"][name]
            if score is None:  # not assessed: null, never 0
                assert flagged is None and applied == [], name
            else:
                assert 0.0 <= score <= 1.0 and isinstance(flagged, bool) and applied, name


@pytest.mark.models
def test_string_input(client, auth: dict[str, str]) -> None:
    doc = moderations(client, auth, PROFANE)
    check_shape(doc, 1)
    (result,) = doc["results"]
    assert result["flagged"] is True
    assert result["categories"]["harassment"] is True
    assert result["category_scores"]["harassment"] >= 0.8
    assert result["category_applied_input_types"]["harassment"] == ["text"]
    assert result["categories"]["self-harm"] is False
    # The default policy's text model does not score these: not assessed, so null rather than 0.
    for name in ("hate/threatening", "self-harm/intent", "illicit", "violence/graphic"):
        assert result["categories"][name] is None
        assert result["category_scores"][name] is None
        assert result["category_applied_input_types"][name] == []


@pytest.mark.models
def test_clean_string_is_not_flagged(client, auth: dict[str, str]) -> None:
    (result,) = moderations(client, auth, CLEAN, model="omni-moderation-latest")["results"]
    assert result["flagged"] is False
    assert result["categories"]["harassment"] is False
    assert result["category_scores"]["harassment"] < 0.5


@pytest.mark.models
def test_list_of_strings_keeps_order(client, auth: dict[str, str]) -> None:
    texts = [CLEAN, PROFANE, "What a lovely day", "shut up you stupid bitch"]
    doc = moderations(client, auth, texts)
    check_shape(doc, 4)
    assert [r["flagged"] for r in doc["results"]] == [False, True, False, True]
    scores = [r["category_scores"]["harassment"] for r in doc["results"]]
    assert scores[1] > scores[0] and scores[3] > scores[2]


@pytest.mark.models
def test_list_of_parts_is_one_input(client, auth: dict[str, str]) -> None:
    parts = [{"type": "text", "text": PROFANE}, {"type": "image_url", "image_url": {"url": png_data_url()}}]
    doc = moderations(client, auth, parts)
    check_shape(doc, 1)
    (result,) = doc["results"]
    assert result["flagged"] is True
    for name in ("sexual", "violence/graphic", "harassment"):
        assert result["category_scores"][name] is not None, name
    assert result["category_applied_input_types"]["sexual"] == ["text", "image"]  # both models score it
    assert result["category_applied_input_types"]["violence/graphic"] == ["image"]
    assert result["category_applied_input_types"]["harassment"] == ["text"]
    assert result["category_scores"]["hate/threatening"] is None

    image_only = moderations(client, auth, [{"type": "image_url", "image_url": {"url": png_data_url()}}])
    (result,) = image_only["results"]
    assert result["flagged"] is False
    assert result["category_scores"]["harassment"] is None
    assert result["category_applied_input_types"]["sexual"] == ["image"]


@pytest.mark.models
def test_a_decision_is_recorded(client, project: str, auth: dict[str, str]) -> None:
    doc = moderations(client, auth, [CLEAN, PROFANE])
    listed = client.get("/v1/decisions", headers=auth).json()["decisions"]
    assert len(listed) == 1
    decision = listed[0]
    assert decision["id"] == "dec_" + doc["id"].removeprefix("modr-")
    assert [r["data_id"] for r in decision["results"]] == ["input-0", "input-1"]
    assert [r["verdict"] for r in decision["results"]] == ["pass", "block"]
    with transaction() as session:
        row = queries.get_decision(session, project, decision["id"])
        assert row is not None and row.source == "openai"


BAD: list[tuple[str, Any, int, str]] = [
    ("missing input", {}, 422, "input"),
    ("empty string", {"input": ""}, 422, "input"),
    ("blank list item", {"input": ["fine", "  "]}, 422, "input[1]"),
    ("number", {"input": 5}, 422, "input"),
    ("unknown part type", {"input": [{"type": "audio", "audio": "x"}]}, 422, "input[0].type"),
    ("list of numbers", {"input": [1, 2]}, 422, "input[0]"),
    ("image part without url", {"input": [{"type": "image_url", "image_url": {}}]}, 422, "input[0].image_url.url"),
    ("text part without text", {"input": ["a", {"type": "text"}]}, 422, "input[1].text"),
    ("bad data url", {"input": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}]}, 422, "input[0].image_url.url"),
    ("not an image", {"input": [{"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(b"hello").decode()}}]}, 415, "input[0].image_url.url"),
    ("loopback url", {"input": [{"type": "image_url", "image_url": {"url": "http://127.0.0.1:9/x.png"}}]}, 422, "input[0].image_url.url"),
    ("two images", {"input": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}] * 2}, 422, "input[1]"),
]


@pytest.mark.parametrize(("body", "status", "field"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input(client, auth: dict[str, str], body: Any, status: int, field: str) -> None:
    response = client.post("/v1/moderations", json=body, headers=auth)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert problem["field"] == field, problem
    assert client.get("/v1/decisions", headers=auth).json()["decisions"] == []


@pytest.mark.models
def test_too_many_inputs(client, auth: dict[str, str]) -> None:
    response = client.post("/v1/moderations", json={"input": ["hello"] * 101}, headers=auth)
    assert response.status_code == 413
    assert response.json()["field"] == "input"
    assert len(moderations(client, auth, ["hello"] * 100)["results"]) == 100


def test_needs_a_key(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/moderations", json={"input": "hello"})
    assert response.status_code == 401
    assert response.json()["field"] == "Authorization"


# --- the official SDK ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_url(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app served by uvicorn on a free loopback port, so the SDK talks real HTTP to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.mark.models
def test_openai_sdk(server_url: str, client, key: str, auth: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    from openai import AuthenticationError, DefaultHttpxClient, OpenAI

    sdk = OpenAI(
        base_url=f"{server_url}/v1",
        api_key=key,
        max_retries=0,
        timeout=60,
        http_client=DefaultHttpxClient(trust_env=False),  # no proxy between the test and loopback
    )
    with sdk:
        response = sdk.moderations.create(input=PROFANE, model="omni-moderation-latest")
        assert response.id.startswith("modr-")
        assert response.model == "tamis-policy-default@0"
        (result,) = response.results
        assert result.flagged is True
        assert result.categories.harassment is True
        assert result.categories.illicit is None  # not assessed
        assert result.category_scores.self_harm_intent is None

        batch = sdk.moderations.create(input=[CLEAN, PROFANE])
        assert [r.flagged for r in batch.results] == [False, True]

        parts = sdk.moderations.create(
            input=[{"type": "text", "text": CLEAN}, {"type": "image_url", "image_url": {"url": png_data_url()}}]
        )
        (result,) = parts.results
        assert result.flagged is False
        assert isinstance(result.category_scores.sexual, float)
        assert result.category_applied_input_types.sexual == ["text", "image"]

    assert len(client.get("/v1/decisions", headers=auth).json()["decisions"]) == 3

    bad = OpenAI(base_url=f"{server_url}/v1", api_key="tamis_wrong", max_retries=0, http_client=DefaultHttpxClient(trust_env=False))
    with bad, pytest.raises(AuthenticationError):
        bad.moderations.create(input="hello")
