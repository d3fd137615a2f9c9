"""Operations: health, Prometheus metrics, the OpenAPI document and the offline API docs."""

from __future__ import annotations

import re

import pytest

from tamis import __version__

SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")


def samples(text: str, name: str) -> dict[str, float]:
    """{labels: value} for every sample of metric `name` in Prometheus text."""
    found = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and m["name"] == name:
            found[m["labels"] or ""] = float(m["value"])
    return found


def test_healthz(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.status_code == 200
    doc = response.json()
    assert doc == {"status": "ok", "database": "ok", "models": doc["models"], "version": __version__}
    assert doc["models"] in ("loaded", "loading")  # loading in the background while the app starts


@pytest.mark.models
def test_metrics_count_requests_and_items(client, auth: dict[str, str]) -> None:
    before = client.get("/metrics")
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/plain")
    items_before = samples(before.text, "tamis_items_total")
    requests_before = samples(before.text, "tamis_http_requests_total")

    body = {"items": [{"data_id": "a", "text": "hello there"}, {"data_id": "b", "text": "you are a fucking idiot"}]}
    assert client.post("/v1/moderate", json=body, headers=auth).status_code == 200
    assert client.post("/v1/moderate", json={"items": []}, headers=auth).status_code == 422

    after = client.get("/metrics").text
    assert "# TYPE tamis_items_total counter" in after
    assert "# TYPE tamis_http_requests_total counter" in after
    items = samples(after, "tamis_items_total")
    requests = samples(after, "tamis_http_requests_total")
    for verdict in ("pass", "block"):
        label = f'verdict="{verdict}"'
        assert items[label] == items_before.get(label, 0.0) + 1, verdict
    ok = 'method="POST",route="/v1/moderate",status="200"'
    bad = 'method="POST",route="/v1/moderate",status="422"'
    assert requests[ok] == requests_before.get(ok, 0.0) + 1
    assert requests[bad] == requests_before.get(bad, 0.0) + 1
    # Routes are templates, never raw paths with ids in them.
    client.get("/v1/decisions/dec_abc123", headers=auth)
    labels = samples(client.get("/metrics").text, "tamis_http_requests_total")
    assert any('route="/v1/decisions/{decision_id}"' in k for k in labels)
    assert not any("dec_abc123" in k for k in labels)
    assert samples(after, "tamis_http_request_seconds_count")


def test_openapi_lists_the_api(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["info"]["title"] == "tamis" and doc["info"]["version"] == __version__
    paths = doc["paths"]
    for path in ("/v1/moderate", "/v1/moderations", "/v1/policies/{policy_id}", "/v1/webhooks", "/v1/decisions"):
        assert path in paths, path
    moderate = paths["/v1/moderate"]["post"]
    assert set(moderate["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "put" in paths["/v1/policies/{policy_id}"]
    assert "/docs" not in paths and "/" not in paths  # pages, not API operations
    assert "/metrics" in paths and "/readyz" in paths


def test_docs_are_served_without_a_cdn(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '"/static/swagger/swagger-ui-bundle.js"' in html
    assert "/openapi.json" in html
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs", "fastapi.tiangolo.com"):
        assert cdn not in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html), "every asset must be local"

    for asset in re.findall(r"""(?:src|href)="(/static/[^"]+)\"""", html):
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 0, asset
    bundle = client.get("/static/swagger/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert len(bundle.content) > 100_000 and b"SwaggerUIBundle" in bundle.content
    assert client.get("/static/swagger/swagger-ui.css").status_code == 200
