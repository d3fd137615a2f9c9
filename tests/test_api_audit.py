"""`GET /v1/audit`: the review audit log through the API, for the key's project only, paged and
filtered; it is append-only (no operation changes or deletes an event); bad filters are problems
naming the parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conftest import assert_problem
from review_helpers import add_reviewer
from test_cases import _result, record
from tamis.services import audit
from tamis.store.db import transaction


@pytest.fixture
def logged(client, auth, project: str) -> str:  # type: ignore[no-untyped-def]
    """A project with a case decided through the API and a few workspace events."""
    record(project, [_result("post-1", "review", "harassment", 0.9)])
    name = add_reviewer(project)
    with transaction() as session:
        audit.log(session, "sign_in", actor=name)
        audit.log(session, "skip", actor=name, project_id=project, case_id="case_x")
    case_id = client.get("/v1/cases", headers=auth).json()["cases"][0]["id"]
    decided = client.post(f"/v1/cases/{case_id}/decision", headers=auth, json={"action": "overturn", "reviewer": "mo"})
    assert decided.status_code == 201, decided.text
    return case_id


def test_the_projects_events_newest_first_with_api_decisions(client, auth, logged: str) -> None:  # type: ignore[no-untyped-def]
    events = client.get("/v1/audit", headers=auth).json()["events"]
    assert [e["kind"] for e in events] == ["decision", "skip"]  # a sign-in without a membership is nobody's here
    decision = events[0]
    assert (decision["actor"], decision["case_id"], decision["detail"]) == (
        "api:mo", logged, {"action": "overturn", "verdict": "pass", "category": None})
    assert datetime.fromisoformat(decision["at"]).tzinfo is not None


def test_members_sign_ins_paging_and_filters(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    name = add_reviewer(project)
    with transaction() as session:
        for _ in range(5):
            audit.log(session, "sign_in", actor=name, reviewer_id=_id(session, name))
        audit.log(session, "reveal", actor=name, project_id=project, case_id="case_y", what="media")
    page = client.get("/v1/audit", headers=auth, params={"limit": 4}).json()
    assert len(page["events"]) == 4 and page["next_before"] == page["events"][-1]["id"]
    rest = client.get("/v1/audit", headers=auth, params={"limit": 4, "before": page["next_before"]}).json()
    assert len(rest["events"]) == 2 and rest["next_before"] is None
    ids = [e["id"] for e in page["events"] + rest["events"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6
    assert len(client.get("/v1/audit", headers=auth, params={"before": 2**31 - 1}).json()["events"]) == 6  # the largest id
    only = client.get("/v1/audit", headers=auth, params=[("kind", "reveal"), ("kind", "decision")]).json()["events"]
    assert [e["kind"] for e in only] == ["reveal"] and only[0]["detail"] == {"what": "media"}
    now = datetime.now(UTC)
    assert len(client.get("/v1/audit", headers=auth, params={"since": (now - timedelta(minutes=5)).isoformat()}).json()["events"]) == 6
    assert client.get("/v1/audit", headers=auth, params={"since": (now + timedelta(minutes=5)).isoformat()}).json()["events"] == []
    assert client.get("/v1/audit", headers=auth, params={"until": (now - timedelta(minutes=5)).isoformat()}).json()["events"] == []
    naive = (now + timedelta(minutes=5)).replace(tzinfo=None).isoformat()  # UTC when no offset is given
    assert len(client.get("/v1/audit", headers=auth, params={"until": naive}).json()["events"]) == 6


def _id(session, name: str) -> str:  # type: ignore[no-untyped-def]
    from tamis.services import reviewers

    found = reviewers.by_name(session, name)
    assert found is not None
    return found.id


def test_another_projects_key_sees_none_of_it(client, logged: str) -> None:  # type: ignore[no-untyped-def]
    from tamis.store import queries

    with transaction() as session:
        _, other = queries.create_key(session, "proj-elsewhere")
    events = client.get("/v1/audit", headers={"Authorization": f"Bearer {other}"}).json()["events"]
    assert all(e["case_id"] != logged for e in events)
    assert_problem(client.get("/v1/audit"), 401, "Authorization")


@pytest.mark.parametrize("params, field", [
    ({"kind": "nope"}, "kind[0]"), ({"since": "yesterday"}, "since"), ({"until": "2026-13-45"}, "until"),
    ({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"before": "x"}, "before"), ({"before": 2**63}, "before"), ({"before": 2**31}, "before"),
    ({"before": 0}, "before"), ({"since": "0001-01-01T00:00:00"}, "since"), ({"until": "9999-12-31T23:00:00-05:00"}, "until"),
    ({"since": "9999-12-31T23:59:59"}, "since"), ({"kind": "sign_in\x00"}, "kind[0]"),
])
def test_bad_filters_are_problems_naming_the_parameter(client, auth, params: dict, field: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    assert_problem(client.get("/v1/audit", params=params, headers=auth), 422, field)


def test_too_many_kinds_are_refused(client, auth) -> None:  # type: ignore[no-untyped-def]
    assert_problem(client.get("/v1/audit", params=[("kind", "reveal")] * 31, headers=auth), 422, "kind")


def test_the_log_is_append_only(client, app, auth, logged: str) -> None:  # type: ignore[no-untyped-def]
    event = client.get("/v1/audit", headers=auth).json()["events"][0]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert client.request(method, "/v1/audit", headers=auth, json={}).status_code == 405
        assert client.request(method, f"/v1/audit/{event['id']}", headers=auth, json={}).status_code in (404, 405)
    paths = {path: set(ops) for path, ops in app.openapi()["paths"].items() if path.startswith("/v1/audit")}
    assert paths == {"/v1/audit": {"get"}}
    assert client.get("/v1/audit", headers=auth).json()["events"][0] == event  # unchanged


def test_policy_and_key_changes_are_audited(client, auth, project: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import orjson
    from typer.testing import CliRunner

    from tamis.cli import app as cli

    assert client.put("/v1/policies/strict", headers=auth, json={"description": "stricter"}).status_code == 201
    policy = tmp_path / "p.json"
    policy.write_bytes(orjson.dumps({"description": "from the command line"}))
    assert CliRunner().invoke(cli, ["policy", "set", str(policy), "--id", "strict", "--project", project]).exit_code == 0
    created = CliRunner().invoke(cli, ["keys", "create", "--project", project, "--name", "ci"])
    assert created.exit_code == 0, created.output
    with transaction() as session:
        from tamis.store import queries

        key_id = next(k.id for k in queries.list_keys(session, project) if k.name == "ci")
        caller = next(k.id for k in queries.list_keys(session, project) if k.name != "ci")  # the key `auth` sends
    assert CliRunner().invoke(cli, ["keys", "revoke", key_id]).exit_code == 0
    events = client.get("/v1/audit", headers=auth, params=[("kind", "policy_put"), ("kind", "key_create"), ("kind", "key_revoke")]).json()["events"]
    # The API change names the key that made it (its id, never the key).
    assert [(e["kind"], e["actor"]) for e in events] == [("key_revoke", "cli"), ("key_create", "cli"), ("policy_put", "cli"),
                                                         ("policy_put", f"key:{caller}")]
    assert events[3]["detail"] == {"policy": "strict", "version": 1, "shadow": False} and events[2]["detail"]["version"] == 2
    assert events[0]["detail"] == {"key": key_id} and events[1]["detail"]["key"] == key_id and "ci" == events[1]["detail"]["name"]
    assert not any(len(str(v)) > 40 for e in events for v in e["detail"].values())  # never a key itself
