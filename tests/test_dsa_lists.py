"""`GET /v1/reports` and `GET /v1/appeals`: the project's own, newest first, filtered by status,
data_id and time received, paged with `before`; attackers' tests: another project's key sees none of
them, a malformed cursor or filter and an oversized limit are 422s naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conftest import assert_problem
from dsa_helpers import item, report_body
from test_webhooks import other_auth


def _reports(client, auth, project: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Five reports: three of post-1 (one case), two of post-2; the first case then decided."""
    item(project, "post-1")
    item(project, "post-2")
    ids = [client.post("/v1/reports", headers=auth, json=report_body(d, reporter_ref=f"u{i}")).json()
           for i, d in enumerate(["post-1", "post-1", "post-2", "post-1", "post-2"])]
    assert client.post(f"/v1/cases/{ids[0]['case_id']}/decision", headers=auth, json={"action": "uphold"}).status_code == 201
    return [r["id"] for r in ids]


def _all(client, auth, path: str, key: str, **params: Any) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    rows, before = [], None
    for _ in range(20):
        page = client.get(path, headers=auth, params={**params, **({"before": before} if before else {})})
        assert page.status_code == 200, page.text
        rows += page.json()[key]
        before = page.json()["next_before"]
        if before is None:
            return rows
    raise AssertionError("paging did not end")


def test_reports_are_listed_newest_first_filtered_and_paged(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    ids = _reports(client, auth, project)
    listed = _all(client, auth, "/v1/reports", "reports", limit=2)
    assert [r["id"] for r in listed] == ids[::-1]
    assert all(r.get("reporter") is None for r in listed)  # names and emails only one report at a time
    assert [r["id"] for r in _all(client, auth, "/v1/reports", "reports", data_id="post-2")] == [ids[4], ids[2]]
    decided = _all(client, auth, "/v1/reports", "reports", status="decided")
    assert {r["id"] for r in decided} == {ids[0], ids[1], ids[3]}, decided
    assert all(r["outcome"] == "unfounded" for r in decided), decided
    assert {r["id"] for r in _all(client, auth, "/v1/reports", "reports", status="open")} == {ids[2], ids[4]}
    now = datetime.now(UTC)
    assert _all(client, auth, "/v1/reports", "reports", since=(now + timedelta(minutes=5)).isoformat()) == []
    assert len(_all(client, auth, "/v1/reports", "reports", since=(now - timedelta(hours=1)).isoformat(),
                    until=(now + timedelta(hours=1)).isoformat())) == 5


def test_appeals_are_listed_newest_first_filtered_and_paged(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    filed = []
    for data_id in ("b1", "b2", "b3"):
        item(project, data_id, "block", "harassment", 0.99)
        answer = client.post("/v1/appeals", headers=auth, json={"appellant": "affected_user", "data_id": data_id,
                                                                "reason": "It was a quote."})
        assert answer.status_code == 201, answer.text
        filed.append(answer.json()["id"])
    assert [a["id"] for a in _all(client, auth, "/v1/appeals", "appeals", limit=1)] == filed[::-1]
    assert [a["id"] for a in _all(client, auth, "/v1/appeals", "appeals", data_id="b2")] == [filed[1]]
    assert [a["id"] for a in _all(client, auth, "/v1/appeals", "appeals", status="open")] == filed[::-1]
    assert _all(client, auth, "/v1/appeals", "appeals", status="decided") == []


def test_another_projects_key_sees_nothing(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    _reports(client, auth, project)
    item(project, "b1", "block", "harassment", 0.99)
    assert client.post("/v1/appeals", headers=auth, json={"appellant": "affected_user", "data_id": "b1",
                                                          "reason": "It was a quote."}).status_code == 201
    other = other_auth(f"attacker-{project}")
    for path, key in (("/v1/reports", "reports"), ("/v1/appeals", "appeals")):
        assert client.get(path, headers=other).json() == {key: [], "next_before": None}
        assert client.get(path, headers=other, params={"data_id": "post-1"}).json()[key] == []
        assert client.get(path).status_code == 401


@pytest.mark.parametrize("path", ["/v1/reports", "/v1/appeals"])
@pytest.mark.parametrize(("params", "field"), [
    ({"before": "nope"}, "before"), ({"before": "rep_" + "g" * 32}, "before"), ({"before": "x" * 5000}, "before"),
    ({"before": "rep_%00"}, "before"), ({"limit": 501}, "limit"), ({"limit": 0}, "limit"), ({"limit": "ten"}, "limit"),
    ({"status": "pending"}, "status"), ({"data_id": "a\x00b"}, "data_id"), ({"data_id": "x" * 257}, "data_id"),
    ({"since": "yesterday"}, "since"), ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since"),
])
def test_malformed_filters_are_refused_naming_the_field(client, auth, path: str, params: dict[str, Any], field: str) -> None:  # type: ignore[no-untyped-def]
    if path == "/v1/appeals" and "before" in params and params["before"].startswith("rep_"):
        params = {"before": "apl_" + params["before"][4:]}
    assert_problem(client.get(path, headers=auth, params=params), 422, field)
