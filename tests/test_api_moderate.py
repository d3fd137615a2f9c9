"""`POST /v1/moderate` and `/v1/decisions` end to end: real models, a real database, real HTTP parsing.

Every bad input must answer a 4xx RFC 9457 problem naming the field, and record nothing.
"""

from __future__ import annotations

import base64
import io
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image

from tamis import config
from tamis.analyzers import get_analyzer
from tamis.api import auth as api_auth
from tamis.store import queries
from tamis.store.db import transaction
from conftest import assert_problem

INSULT = "you are a fucking idiot"  # harassment far above the default policy's block threshold
CLEAN = "I am a proud gardener and I love tomatoes"
TEXT_CATEGORIES = set(get_analyzer("text-model").categories)
IMAGE_CATEGORIES = {"sexual", "violence/graphic"}


# --- helpers ---------------------------------------------------------------------------------------


def png_bytes(size: tuple[int, int] = (64, 64), color: tuple[int, int, int] = (200, 120, 90), noise: bool = False) -> bytes:
    if noise:
        image = Image.frombytes("RGB", size, secrets.token_bytes(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, color)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes(size: tuple[int, int] = (256, 256)) -> bytes:
    image = Image.frombytes("RGB", size, secrets.token_bytes(size[0] * size[1] * 3))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def moderate(client, auth: dict[str, str], *items: dict[str, Any], **extra: Any):  # type: ignore[no-untyped-def]
    return client.post("/v1/moderate", json={"items": list(items), **extra}, headers=auth)


def decisions(client, auth: dict[str, str], **params: Any) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    response = client.get("/v1/decisions", params={"limit": 500, **params}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["decisions"]


def decision_count(client, auth: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    return len(decisions(client, auth)) + len(decisions(client, auth, shadow="true"))



def result_categories(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in result["categories"]}


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> config.Settings:
    """The cached settings instance; tests change its attributes through monkeypatch."""
    return config.get_settings()


# --- text ------------------------------------------------------------------------------------------


@pytest.mark.models
def test_text_item_result_shape(client, project: str, auth: dict[str, str]) -> None:
    response = moderate(client, auth, {"data_id": "post-9", "text": INSULT})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    doc = response.json()
    assert doc["id"].startswith("dec_") and len(doc["id"]) > 10
    assert doc["project"] == project
    assert doc["policy"] == {"id": "default", "version": 0, "shadow": False}
    assert len(doc["results"]) == 1
    result = doc["results"][0]
    assert result["data_id"] == "post-9"
    assert result["verdict"] == "block"
    assert any("harassment" in reason for reason in result["reasons"]), result["reasons"]

    categories = result_categories(result)
    assert set(categories) == TEXT_CATEGORIES  # only what the text analyzer scores
    harassment = categories["harassment"]
    assert set(harassment) >= {"name", "score", "flagged", "analyzers"}
    assert 0.8 <= harassment["score"] <= 1.0
    assert harassment["flagged"] is True
    assert categories["self-harm"]["flagged"] is False and categories["self-harm"]["score"] < 0.1
    analyzer = get_analyzer("text-model")
    assert harassment["analyzers"] == [f"{analyzer.name}@{analyzer.version}"]
    assert result["language"] == {"code": "en", "confidence": result["language"]["confidence"], "supported": True}

    # Evidence: the sentence that carried the harassment score.
    spans = [e for e in result["evidence"] if e["type"] == "span"]
    assert {"type": "span", "start": 0, "end": len(INSULT), "category": "harassment", "analyzer": "text-model"} in spans
    for e in spans:
        assert 0 <= e["start"] < e["end"] <= len(INSULT)

    assert result["analyzers"][0] == {"name": "text-model", "version": analyzer.version, "ms": result["analyzers"][0]["ms"]}
    assert [a["name"] for a in result["analyzers"]] == ["text-model", "links"]
    assert isinstance(result["analyzers"][0]["ms"], float) and result["analyzers"][0]["ms"] >= 0


@pytest.mark.models
def test_clean_text_passes_and_unscored_categories_are_absent(client, auth: dict[str, str]) -> None:
    response = moderate(client, auth, {"data_id": "c1", "text": CLEAN}, {"data_id": "c2", "text": "I am a proud Muslim"})
    assert response.status_code == 200, response.text
    for result in response.json()["results"]:
        assert result["verdict"] == "pass", result
        categories = result_categories(result)
        assert set(categories) == TEXT_CATEGORIES
        assert "violence/graphic" not in categories and "illicit" not in categories  # not assessed: absent, not 0
        assert all(c["score"] < 0.3 and c["flagged"] is False for c in categories.values()), categories
        assert result["evidence"] == []


# --- images ----------------------------------------------------------------------------------------


def _check_image_result(result: dict[str, Any]) -> None:
    categories = result_categories(result)
    assert set(categories) == IMAGE_CATEGORIES, categories
    nsfw, safety = get_analyzer("nsfw-image"), get_analyzer("image-safety")
    assert categories["sexual"]["analyzers"] == [f"nsfw-image@{nsfw.version}", f"image-safety@{safety.version}"]
    assert categories["violence/graphic"]["analyzers"] == [f"image-safety@{safety.version}"]
    for c in categories.values():
        assert 0.0 <= c["score"] <= 1.0
    assert [a["name"] for a in result["analyzers"]] == ["nsfw-image", "image-safety", "image-text", "links", "hash-match"]  # banks apply to every image
    versions = [get_analyzer(name).version for name in ("nsfw-image", "image-safety", "image-text", "links")]
    assert [a["version"] for a in result["analyzers"]] == [*versions, "1"]
    assert "harassment" not in categories  # no text in the item, none in the image: not assessed


@pytest.mark.models
def test_image_upload_multipart(client, auth: dict[str, str]) -> None:
    response = client.post("/v1/moderate", files={"file": ("photo.png", png_bytes(), "image/png")}, headers=auth)
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["data_id"] == "photo.png"  # defaults to the file name
    assert result["verdict"] == "pass"  # a flat terracotta square
    _check_image_result(result)


@pytest.mark.models
def test_image_upload_multipart_with_data_id_and_text(client, auth: dict[str, str]) -> None:
    response = client.post(
        "/v1/moderate",
        files={"file": ("photo.png", png_bytes(), "image/png")},
        data={"data_id": "post-1", "text": INSULT},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["data_id"] == "post-1"
    assert set(result_categories(result)) == IMAGE_CATEGORIES | TEXT_CATEGORIES
    assert result["verdict"] == "block"


@pytest.mark.models
def test_image_base64_in_json(client, auth: dict[str, str]) -> None:
    encoded = base64.b64encode(png_bytes(color=(10, 200, 30))).decode()
    response = moderate(client, auth, {"data_id": "img-1", "image_base64": encoded})
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["data_id"] == "img-1"
    _check_image_result(result)


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []
    body = b""

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def loopback_image_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 serving a PNG, recording the paths asked for."""
    handler = type("Handler", (_Recorder,), {"hits": [], "body": png_bytes()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_image_url_to_loopback_is_refused(client, auth: dict[str, str], loopback_image_server, host: str) -> None:
    base, hits = loopback_image_server
    assert config.get_settings().fetch_allow_private is False  # the default
    url = base.replace("127.0.0.1", host) + "/cat.png"
    response = moderate(client, auth, {"data_id": "u1", "image_url": url})
    body = assert_problem(response, 422, "items[0].image_url")
    assert "refused" in body["detail"]
    assert hits == []  # not even one request reached the server
    assert decision_count(client, auth) == 0


# --- batches ---------------------------------------------------------------------------------------


@pytest.mark.models
def test_batch_of_100_keeps_order(client, auth: dict[str, str]) -> None:
    profane_at = {3, 42, 99}
    items = [{"data_id": f"item-{i}", "text": INSULT if i in profane_at else f"{CLEAN} number {i}"} for i in range(100)]
    response = moderate(client, auth, *items)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["data_id"] for r in results] == [f"item-{i}" for i in range(100)]
    assert [i for i, r in enumerate(results) if r["verdict"] != "pass"] == sorted(profane_at)
    assert all(results[i]["verdict"] == "block" for i in profane_at)


def test_batch_of_101_is_refused(client, auth: dict[str, str]) -> None:
    items = [{"data_id": f"item-{i}", "text": CLEAN} for i in range(101)]
    body = assert_problem(moderate(client, auth, *items), 413, "items")
    assert "101" in body["detail"] and "100" in body["detail"]
    assert decision_count(client, auth) == 0


@pytest.mark.models
def test_item_with_text_and_image(client, auth: dict[str, str]) -> None:
    encoded = base64.b64encode(png_bytes()).decode()
    response = moderate(
        client, auth, {"data_id": "both", "text": INSULT, "image_base64": encoded}, {"data_id": "text", "text": CLEAN}
    )
    assert response.status_code == 200, response.text
    both, text = response.json()["results"]
    assert set(result_categories(both)) == IMAGE_CATEGORIES | TEXT_CATEGORIES
    assert [a["name"] for a in both["analyzers"]] == ["nsfw-image", "image-safety", "text-model", "image-text", "links", "hash-match"]
    assert both["verdict"] == "block"
    assert set(result_categories(text)) == TEXT_CATEGORIES
    assert [a["name"] for a in text["analyzers"]] == ["text-model", "links"]


# --- bad input: a problem document naming the field, and nothing recorded ----------------------------


def _bomb_png() -> bytes:
    # 8000 x 8000 = 64 M pixels (limit 50 M); 1-bit, so cheap to make and a few kB compressed.
    buf = io.BytesIO()
    Image.new("1", (8000, 8000)).save(buf, "PNG")
    return buf.getvalue()


JSON_CASES: list[tuple[str, Any, int, str]] = [
    ("empty text", {"items": [{"data_id": "a", "text": ""}]}, 422, "items[0].text"),
    ("whitespace text", {"items": [{"data_id": "a", "text": " \n\t  "}]}, 422, "items[0].text"),
    ("missing items", {}, 422, "items"),
    ("items not a list", {"items": "hello"}, 422, "items"),
    ("empty items", {"items": []}, 422, "items"),
    ("neither text nor image", {"items": [{"data_id": "a"}]}, 422, "items[0]"),
    ("image_url and image_base64", {"items": [{"data_id": "a", "image_url": "http://127.0.0.1:9/a.png", "image_base64": "AAAA"}]}, 422, "items[0]"),
    ("missing data_id", {"items": [{"text": "hello"}]}, 422, "items[0].data_id"),
    ("empty data_id", {"items": [{"data_id": "", "text": "hello"}]}, 422, "items[0].data_id"),
    ("data_id too long", {"items": [{"data_id": "x" * 257, "text": "hello"}]}, 422, "items[0].data_id"),
    ("NUL in data_id", {"items": [{"data_id": "a\x00b", "text": "hello"}]}, 422, "items[0].data_id"),
    ("data_id not a string", {"items": [{"data_id": 5, "text": "hello"}]}, 422, "items[0].data_id"),
    ("unknown item field", {"items": [{"data_id": "a", "text": "hello", "lang": "en"}]}, 422, "items[0].lang"),
    ("unknown top-level field", {"items": [{"data_id": "a", "text": "hello"}], "callback": "x"}, 422, "callback"),
    ("bad base64", {"items": [{"data_id": "a", "image_base64": "not base64!!"}]}, 422, "items[0].image_base64"),
    ("base64 of non-image", {"items": [{"data_id": "a", "image_base64": base64.b64encode(b"hello world").decode()}]}, 415, "items[0].image_base64"),
    ("bad policy name", {"items": [{"data_id": "a", "text": "hello"}], "policy": "../etc"}, 422, "policy"),
    ("image_url not http", {"items": [{"data_id": "a", "image_url": "file:///etc/passwd"}]}, 422, "items[0].image_url"),
    ("body is a list", [{"data_id": "a", "text": "hello"}], 422, "body"),
]


@pytest.mark.parametrize(("body", "status", "field"), [c[1:] for c in JSON_CASES], ids=[c[0] for c in JSON_CASES])
def test_bad_json_input(client, auth: dict[str, str], body: Any, status: int, field: str) -> None:
    assert_problem(client.post("/v1/moderate", json=body, headers=auth), status, field)
    assert decision_count(client, auth) == 0


@pytest.mark.models
def test_data_id_at_the_limit_is_accepted(client, auth: dict[str, str]) -> None:
    response = moderate(client, auth, {"data_id": "x" * 256, "text": CLEAN})
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["data_id"] == "x" * 256


@pytest.mark.models
def test_text_over_the_limit(client, auth: dict[str, str], settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "max_text_chars", 50)
    assert moderate(client, auth, {"data_id": "ok", "text": "a" * 50}).status_code == 200
    assert decision_count(client, auth) == 1
    body = assert_problem(moderate(client, auth, {"data_id": "long", "text": "a" * 51}), 413, "items[0].text")
    assert "51" in body["detail"] and "50" in body["detail"]
    # Multipart text too.
    response = client.post(
        "/v1/moderate", files={"file": ("a.png", png_bytes(), "image/png")}, data={"text": "b" * 51}, headers=auth
    )
    assert_problem(response, 413, "text")
    assert decision_count(client, auth) == 1


@pytest.mark.parametrize(
    ("name", "make", "status"),
    [
        ("not an image", lambda: b"this is plain text, not an image", 415),
        ("truncated jpeg", lambda: jpeg_bytes()[: len(jpeg_bytes()) // 2], 422),
        ("decompression bomb", _bomb_png, 413),
        ("empty file", lambda: b"", 422),
    ],
)
def test_bad_upload(client, auth: dict[str, str], name: str, make, status: int) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/moderate", files={"file": ("upload.jpg", make(), "image/jpeg")}, headers=auth)
    assert_problem(response, status, "file")
    assert decision_count(client, auth) == 0


@pytest.mark.models
def test_truncated_jpeg_is_the_truncation_not_the_format(client, auth: dict[str, str]) -> None:
    whole = jpeg_bytes()
    assert client.post("/v1/moderate", files={"file": ("w.jpg", whole, "image/jpeg")}, headers=auth).status_code == 200
    truncated = whole[: len(whole) // 2]
    encoded = base64.b64encode(truncated).decode()
    assert_problem(moderate(client, auth, {"data_id": "t", "image_base64": encoded}), 422, "items[0].image_base64")
    assert decision_count(client, auth) == 1


def test_decompression_bomb_in_json(client, auth: dict[str, str]) -> None:
    encoded = base64.b64encode(_bomb_png()).decode()
    body = assert_problem(moderate(client, auth, {"data_id": "b", "image_base64": encoded}), 413, "items[0].image_base64")
    assert "pixels" in body["detail"]
    assert decision_count(client, auth) == 0


@pytest.mark.models
def test_oversized_image_bytes(client, auth: dict[str, str], settings, monkeypatch: pytest.MonkeyPatch) -> None:
    data = png_bytes((64, 64), noise=True)  # ~12 kB: noise does not compress
    monkeypatch.setattr(settings, "max_image_bytes", len(data) - 1)
    response = client.post("/v1/moderate", files={"file": ("big.png", data, "image/png")}, headers=auth)
    assert_problem(response, 413, "file")
    encoded = base64.b64encode(data).decode()
    assert_problem(moderate(client, auth, {"data_id": "big", "image_base64": encoded}), 413, "items[0].image_base64")
    assert decision_count(client, auth) == 0
    monkeypatch.setattr(settings, "max_image_bytes", len(data))  # at the limit: fine
    assert client.post("/v1/moderate", files={"file": ("big.png", data, "image/png")}, headers=auth).status_code == 200
    assert decision_count(client, auth) == 1


@pytest.mark.parametrize("raw", [b'{"items": [{"data_id": "a", "text": "hi"}', b"\xff\xfe\x00", b"", b"{'items': []}"])
def test_malformed_json(client, auth: dict[str, str], raw: bytes) -> None:
    response = client.post("/v1/moderate", content=raw, headers={**auth, "Content-Type": "application/json"})
    body = assert_problem(response, 400, "body")
    assert body["title"] == "Malformed JSON"
    assert decision_count(client, auth) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type(client, auth: dict[str, str], content_type: str | None) -> None:
    headers = dict(auth)
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post("/v1/moderate", content=b'{"items": [{"data_id": "a", "text": "hi"}]}', headers=headers)
    body = assert_problem(response, 415, "Content-Type")
    assert "application/json" in body["detail"]
    assert decision_count(client, auth) == 0


@pytest.mark.models
def test_json_content_type_with_charset_is_accepted(client, auth: dict[str, str]) -> None:
    response = client.post(
        "/v1/moderate",
        content=b'{"items": [{"data_id": "a", "text": "hi there"}]}',
        headers={**auth, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.models
def test_multipart_bad_fields(client, auth: dict[str, str]) -> None:
    png = png_bytes()
    cases = [
        ({"data_id": "a\x00b", "text": CLEAN}, "data_id", 422),
        ({"text": CLEAN, "policy": "../../etc"}, "policy", 422),
        ({"text": CLEAN, "policy": "x\x00"}, "policy", 422),
    ]
    for data, field, status in cases:
        response = client.post("/v1/moderate", data=data, files={"file": ("a.png", png, "image/png")}, headers=auth)
        assert_problem(response, status, field)
    response = client.post("/v1/moderate", files={"file": ("a\x00b.png", png, "image/png")}, headers=auth)
    assert response.status_code < 500, response.text
    assert decision_count(client, auth) == (1 if response.status_code == 200 else 0)


def test_lone_surrogate_is_malformed_json(client, auth: dict[str, str]) -> None:
    for raw in (rb'{"items": [{"data_id": "a", "text": "\ud800 x"}]}', rb'{"items": [{"data_id": "\udfff", "text": "x"}]}'):
        response = client.post("/v1/moderate", content=raw, headers={**auth, "Content-Type": "application/json"})
        assert_problem(response, 400, "body")
    assert decision_count(client, auth) == 0


def test_multipart_without_file_or_text(client, auth: dict[str, str]) -> None:
    response = client.post("/v1/moderate", data={"data_id": "x"}, files={"other": ("a.txt", b"hi", "text/plain")}, headers=auth)
    assert_problem(response, 422, "file")
    assert decision_count(client, auth) == 0


def test_one_bad_item_in_a_batch_records_nothing(client, auth: dict[str, str]) -> None:
    items: list[dict[str, Any]] = [{"data_id": f"i{i}", "text": f"{CLEAN} {i}"} for i in range(10)]
    items[7] = {"data_id": "i7", "text": "   "}
    body = assert_problem(moderate(client, auth, *items), 422, "items[7].text")
    assert "items[7]" in body["detail"] or body["field"] == "items[7].text"
    assert decision_count(client, auth) == 0

    # The same with a bad image in position 7 (the other items carry good images).
    good = base64.b64encode(png_bytes()).decode()
    items = [{"data_id": f"i{i}", "image_base64": good} for i in range(10)]
    items[7] = {"data_id": "i7", "image_base64": base64.b64encode(jpeg_bytes()[:600]).decode()}  # truncated
    assert_problem(moderate(client, auth, *items), 422, "items[7].image_base64")
    assert decision_count(client, auth) == 0

    # And a schema error in item 7.
    items = [{"data_id": f"i{i}", "text": f"{CLEAN} {i}"} for i in range(10)]
    items[7] = {"data_id": "i7", "text": "hello", "colour": "red"}
    assert_problem(moderate(client, auth, *items), 422, "items[7].colour")
    assert decision_count(client, auth) == 0


def test_unknown_policy(client, auth: dict[str, str]) -> None:
    response = moderate(client, auth, {"data_id": "a", "text": CLEAN}, policy="no-such-policy")
    body = assert_problem(response, 404, "policy")
    assert "no-such-policy" in body["detail"]
    response = client.post(
        "/v1/moderate", data={"text": CLEAN, "policy": "no-such-policy"}, files={"file": ("a.png", png_bytes(), "image/png")}, headers=auth
    )
    assert_problem(response, 404, "policy")
    assert decision_count(client, auth) == 0


@pytest.mark.models
def test_no_bad_input_gives_500(client, auth: dict[str, str]) -> None:
    """A grab-bag of odd but well-formed requests: each is either judged or refused with a 4xx."""
    odd: list[Any] = [
        {"items": [{"data_id": "a", "text": None}]},
        {"items": [{"data_id": "a", "text": 12}]},
        {"items": [{"data_id": "a", "text": ["x"]}]},
        {"items": [{"data_id": "a", "image_base64": ""}]},
        {"items": [{"data_id": "a", "image_url": ""}]},
        {"items": [{"data_id": "a", "image_url": "http://"}]},
        {"items": [{"data_id": "a", "image_url": "http://[::1]:1/x.png"}]},
        {"items": [None]},
        {"items": [{"data_id": "a", "text": "hi"}], "policy": None},
        {"items": [{"data_id": "a", "text": "\u0000\u200b"}]},
        {"items": [{"data_id": "\U0001f600" * 256, "text": "emoji only \U0001f600"}]},
        {"items": [{"data_id": "a", "text": "x", "image_base64": None}]},
    ]
    for body in odd:
        response = client.post("/v1/moderate", json=body, headers=auth)
        assert response.status_code < 500, (body, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json"), body
            assert response.json().get("field"), (body, response.json())


# --- authentication ----------------------------------------------------------------------------------


def test_missing_or_bad_authorization(client) -> None:  # type: ignore[no-untyped-def]
    body = {"items": [{"data_id": "a", "text": CLEAN}]}
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer tamis_nope"}):
        response = client.post("/v1/moderate", json=body, headers=headers)
        assert_problem(response, 401, "Authorization")
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert_problem(client.get("/v1/decisions"), 401, "Authorization")


@pytest.mark.models
def test_revoked_key(client, project: str) -> None:  # type: ignore[no-untyped-def]
    with transaction() as session:
        api_key, plaintext = queries.create_key(session, project, "to-revoke")
        key_id = api_key.id
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert moderate(client, headers, {"data_id": "a", "text": CLEAN}).status_code == 200
    with transaction() as session:
        assert queries.revoke_key(session, key_id) is True
    api_auth._cache.clear()  # the 5 s cache would otherwise still accept it
    assert_problem(moderate(client, headers, {"data_id": "b", "text": CLEAN}), 401, "Authorization")
    assert_problem(client.get("/v1/decisions", headers=headers), 401, "Authorization")


@pytest.mark.models
def test_other_projects_decisions_are_invisible(client, auth: dict[str, str]) -> None:
    doc = moderate(client, auth, {"data_id": "mine", "text": CLEAN}).json()
    with transaction() as session:
        _, other_key = queries.create_key(session, f"proj-{secrets.token_hex(4)}")
    other = {"Authorization": f"Bearer {other_key}"}
    assert client.get(f"/v1/decisions/{doc['id']}", headers=auth).status_code == 200
    assert_problem(client.get(f"/v1/decisions/{doc['id']}", headers=other), 404, None)
    assert decisions(client, other) == []
    assert decisions(client, other, data_id="mine") == []


# --- the record ----------------------------------------------------------------------------------------


@pytest.mark.models
def test_get_decision_returns_what_was_answered(client, auth: dict[str, str]) -> None:
    encoded = base64.b64encode(png_bytes()).decode()
    answered = moderate(
        client, auth, {"data_id": "p1", "text": INSULT}, {"data_id": "p2", "text": CLEAN, "image_base64": encoded}
    ).json()
    stored = client.get(f"/v1/decisions/{answered['id']}", headers=auth)
    assert stored.status_code == 200, stored.text
    assert stored.json() == answered
    assert_problem(client.get("/v1/decisions/dec_doesnotexist", headers=auth), 404, None)


@pytest.mark.models
def test_list_decisions_filters(client, auth: dict[str, str]) -> None:
    profane = moderate(client, auth, {"data_id": "post-a", "text": INSULT}).json()
    clean = moderate(client, auth, {"data_id": "post-b", "text": CLEAN}).json()
    mixed = moderate(client, auth, {"data_id": "post-c", "text": CLEAN}, {"data_id": "post-a", "text": CLEAN}).json()

    def ids(**params: Any) -> list[str]:
        found = [d["id"] for d in decisions(client, auth, **params)]
        assert found == sorted(found, reverse=True)  # newest first (ids sort by time)
        return found

    assert set(ids()) == {profane["id"], clean["id"], mixed["id"]}
    assert set(ids(data_id="post-a")) == {mixed["id"], profane["id"]}
    assert ids(data_id="post-b") == [clean["id"]]
    assert ids(data_id="post-z") == []
    assert ids(verdict="block") == [profane["id"]]
    assert set(ids(verdict="pass")) == {mixed["id"], clean["id"]}
    assert ids(verdict="review") == []
    assert ids(data_id="post-a", verdict="pass") == [mixed["id"]]
    assert decisions(client, auth, shadow="true") == []
    assert decisions(client, auth, verdict="block")[0] == profane

    assert_problem(client.get("/v1/decisions", params={"verdict": "maybe"}, headers=auth), 422, "verdict")
    # U+0000 cannot be in any stored string (PostgreSQL refuses it even in a comparison).
    assert_problem(client.get("/v1/decisions", params={"data_id": "post-a\x00"}, headers=auth), 422, "data_id")
    assert_problem(client.get("/v1/decisions", params={"before": "dec_\x00"}, headers=auth), 422, "before")
    assert_problem(client.get("/v1/decisions/dec_%00", headers=auth), 404, None)
    assert_problem(client.get("/v1/decisions", params={"limit": 0}, headers=auth), 422, "limit")
    assert_problem(client.get("/v1/decisions", params={"limit": 501}, headers=auth), 422, "limit")


@pytest.mark.models
def test_list_decisions_paging(client, auth: dict[str, str]) -> None:
    ids = [moderate(client, auth, {"data_id": f"p{i}", "text": CLEAN}).json()["id"] for i in range(5)]
    newest_first = sorted(ids, reverse=True)
    assert [d["id"] for d in decisions(client, auth)] == newest_first

    seen: list[str] = []
    before = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if before:
            params["before"] = before
        response = client.get("/v1/decisions", params=params, headers=auth)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["decisions"]) <= 2
        seen += [d["id"] for d in page["decisions"]]
        pages += 1
        before = page["next_before"]
        if before is None:
            break
        assert before == page["decisions"][-1]["id"]
    assert seen == newest_first
    assert pages == 3  # 2 + 2 + 1


def test_multipart_upload_over_the_request_limit_is_refused_before_buffering(
    client, auth, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    import tamis.config

    monkeypatch.setattr(tamis.config.get_settings(), "max_request_bytes", 10_000)
    response = client.post("/v1/moderate", headers=auth, files={"file": ("big.png", b"\x89PNG" + b"0" * 20_000, "image/png")})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == "body"


def test_streamed_body_without_length_over_the_limit_is_refused(client, auth, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import tamis.config

    monkeypatch.setattr(tamis.config.get_settings(), "max_request_bytes", 10_000)

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(30):
            yield b"x" * 1000

    response = client.post(
        "/v1/moderate", headers={**auth, "Content-Type": "multipart/form-data; boundary=zz"}, content=chunks()
    )
    assert response.status_code == 413 and response.json()["field"] == "body"
