"""The API explains itself: every operation of /openapi.json has a description, a typed answer, its
security and its problem-document errors; the landing page and health endpoints say where to go."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tamis import __version__
from tamis.api import health

METHODS = {"get", "post", "put", "patch", "delete"}


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in doc["paths"].items() for method, op in ops.items() if method in METHODS]


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if isinstance(node.get("$ref"), str) else []) + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def typed(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """A schema that says what comes back: a named model with fields, a string/binary body, a list of those."""
    if "$ref" in schema:
        target = components[schema["$ref"].rsplit("/", 1)[-1]]
        return bool(target.get("properties")) or typed(target, components)
    if schema.get("type") == "string":
        return True
    if schema.get("type") == "array":
        return typed(schema.get("items", {}), components)
    if schema.get("anyOf") or schema.get("oneOf"):
        return all(typed(s, components) for s in schema.get("anyOf") or schema["oneOf"])
    return bool(schema.get("properties"))


def problems_of(doc: dict[str, Any], path: str, method: str) -> set[int]:
    return {int(code) for code in doc["paths"][path][method]["responses"] if code.startswith(("4", "5"))}


def test_every_operation_explains_itself(client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/openapi.json").json()
    components = doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "tamis API key",
        "description": doc["components"]["securitySchemes"]["apiKey"]["description"],
    }
    assert "HTTPValidationError" not in components and "ValidationError" not in components
    missing: list[str] = []
    for path, method, op in operations(doc):
        name = f"{method.upper()} {path}"
        if len(op.get("description", "").strip()) < 20:
            missing.append(f"{name}: no description")
        if not op.get("summary"):
            missing.append(f"{name}: no summary")
        ok = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        if not ok:
            missing.append(f"{name}: no 2xx response")
        for code, response in ok.items():
            if code == "204":
                continue
            content = response.get("content", {})
            if not content or not all(typed(c.get("schema", {}), components) for c in content.values()):
                missing.append(f"{name}: {code} answer is untyped: {content}")
        if path.startswith("/v1/"):
            if op.get("security") != [{"apiKey": []}]:
                missing.append(f"{name}: no bearer security")
            if "401" not in op["responses"]:
                missing.append(f"{name}: 401 not declared")
            if "429" not in op["responses"] or "Retry-After" not in op["responses"]["429"].get("headers", {}):
                missing.append(f"{name}: 429 (rate limit, Retry-After) not declared")
            if "{" in path and method != "put" and "404" not in op["responses"]:  # PUT creates
                missing.append(f"{name}: 404 not declared")
            if "requestBody" in op and not {"413", "422"} <= set(op["responses"]):
                missing.append(f"{name}: a body but no 413/422 declared")
            if (op.get("parameters") or "requestBody" in op) and "422" not in op["responses"]:
                missing.append(f"{name}: inputs but no 422 declared")
            if "requestBody" in op and len(op["requestBody"]["content"]) > 1 and "415" not in op["responses"]:
                missing.append(f"{name}: several content types but no 415 declared")
            for content in op["requestBody"]["content"].values() if "requestBody" in op else []:
                if not typed(content.get("schema", {}), components):
                    missing.append(f"{name}: untyped request body {content}")
        for code, response in op["responses"].items():
            if not code.startswith(("4", "5")):
                continue
            if path in ("/healthz", "/readyz") and code == "503":  # a health document, for monitors
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Health"}
                continue
            problem = response.get("content", {}).get("application/problem+json")
            if problem is None or problem.get("schema") != {"$ref": "#/components/schemas/Problem"}:
                missing.append(f"{name}: {code} is not declared as a problem document")
            elif problem.get("example", {}).get("status") != int(code):
                missing.append(f"{name}: {code} has no example of its own")
    assert not missing, "\n".join(missing)
    # Every reference resolves.
    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[-1] in components, ref


def test_the_documented_answers_fit_the_operations_that_use_them(client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/openapi.json").json()
    moderate = doc["paths"]["/v1/moderate"]["post"]
    assert moderate["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/DecisionDoc"}
    assert {401, 413, 415, 422} <= problems_of(doc, "/v1/moderate", "post")
    moderations = doc["paths"]["/v1/moderations"]["post"]
    assert moderations["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/ModerationRequest")
    assert set(doc["paths"]["/v1/match"]["post"]["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert doc["paths"]["/v1/videos"]["post"]["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/VideoAccepted")
    assert "/metrics" in doc["paths"] and "text/plain" in doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert "security" not in doc["paths"]["/healthz"]["get"]


def test_a_documented_problem_is_what_the_api_answers(client, auth) -> None:  # type: ignore[no-untyped-def]
    """The 422 declared for /v1/moderate has the shape of a real 422 (the field, the errors)."""
    doc = client.get("/openapi.json").json()
    declared = doc["paths"]["/v1/moderate"]["post"]["responses"]["422"]["content"]["application/problem+json"]["example"]
    real = client.post("/v1/moderate", json={"items": [{"data_id": "a", "text": ""}]}, headers=auth)
    assert real.status_code == 422 and real.headers["content-type"] == "application/problem+json"
    assert set(declared) <= set(real.json()) and real.json()["field"] == declared["field"] == "items[0].text"
    unauthorized = client.get("/v1/decisions", headers={"Authorization": "Bearer nope"})
    assert unauthorized.status_code == 401 and unauthorized.json()["field"] == "Authorization"
    assert client.get("/v1/decisions").status_code == 401  # no header at all: the same problem


def test_landing_page_links_docs_and_health(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    links = set(re.findall(r'href="([^"]+)"', response.text))
    assert {"/docs", "/openapi.json", "/healthz", "/readyz", "/metrics"} <= links
    for link in links:
        served = client.get(link)
        # /readyz answers 503 until this process has loaded its models (they load in the background).
        assert served.status_code == 200 or (link == "/readyz" and served.json()["models"] == "loading"), link
    assert __version__ in response.text


def test_readyz_waits_for_the_models(client, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(health.MODELS, "state", "loading")
    loading = client.get("/readyz")
    assert loading.status_code == 503 and loading.json()["models"] == "loading"
    alive = client.get("/healthz")  # alive while loading: only readiness waits
    assert alive.status_code == 200 and alive.json()["models"] == "loading"
    monkeypatch.setattr(health.MODELS, "state", "loaded")
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "models": "loaded", "version": __version__}
