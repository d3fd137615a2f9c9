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
