"""Quality sampling set per policy (`review_sampling`): the policy's rates decide which pass and
block items also become review cases, over the server's TAMIS_REVIEW_SAMPLE_RATE; hostile values
are refused naming the field, and nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from conftest import assert_problem
from test_cases import _result, project_cases
from tamis import config
from tamis.schema import DecisionDoc, PolicyRef, new_id
from tamis.services import moderation
from tamis.store import queries
from tamis.store.db import transaction


def _record(project: str, version: int) -> None:
    """Twenty pass and twenty block items decided under the policy's `version`."""
    results = [_result(f"ok-{n}", "pass", "hate", 0.1) for n in range(20)] + [_result(f"bad-{n}", "block", "hate", 0.99) for n in range(20)]
    doc = DecisionDoc(id=new_id("dec"), project=project, policy=PolicyRef(id="default", version=version, shadow=False),
                      created_at=datetime.now(UTC).isoformat(), results=results)
    with transaction() as session:
        queries.ensure_project(session, project)
        moderation.record(session, doc, shadow=False, source="api")


def _put(client, auth, sampling: Any):  # type: ignore[no-untyped-def]
    return client.put("/v1/policies/default", headers=auth, json={"review_sampling": sampling})


def test_the_policys_rates_decide_and_win_over_the_server_setting(client, auth, project: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TAMIS_REVIEW_SAMPLE_RATE", "1")
    config.get_settings.cache_clear()
    try:
        answer = _put(client, auth, {"pass_rate": 0.0, "block_rate": 1.0})
        assert answer.status_code == 201, answer.text
        assert client.get("/v1/policies/default", headers=auth).json()["enforced"]["review_sampling"] == {"pass_rate": 0.0, "block_rate": 1.0}
        _record(project, answer.json()["version"])
        assert {c.data_id.split("-")[0] for c in project_cases(project)} == {"bad"}  # every block, no pass
        assert len(project_cases(project)) == 20
        # Version 0 (the shipped policy, no sampling of its own) takes the server's rate: all of them.
        _record(project, 0)
        assert len(project_cases(project)) == 60
    finally:
        monkeypatch.delenv("TAMIS_REVIEW_SAMPLE_RATE")
        config.get_settings.cache_clear()


def test_a_policy_without_sampling_takes_the_server_setting(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    answer = client.put("/v1/policies/default", headers=auth, json={"description": "no sampling"})
    assert answer.status_code == 201
    _record(project, answer.json()["version"])  # TAMIS_REVIEW_SAMPLE_RATE is 0 here
    assert project_cases(project) == []


@pytest.mark.parametrize(("sampling", "field"), [
    ({"pass_rate": 1.5}, "review_sampling.pass_rate"), ({"block_rate": -0.1}, "review_sampling.block_rate"),
    ({"pass_rate": "0.5"}, "review_sampling.pass_rate"), ({"pass_rate": True}, "review_sampling.pass_rate"),
    ({"pass_rate": None}, "review_sampling.pass_rate"), ({"pass_rate": [0.1]}, "review_sampling.pass_rate"),
    ({"pass_rate": float("nan")}, None), ({"rate": 0.1}, "review_sampling.rate"), ("often", "review_sampling"),
    ([0.1, 0.2], "review_sampling"), ({"block_rate": 1e308 * 10}, None),
])
def test_hostile_sampling_is_refused_naming_the_field(client, auth, sampling: Any, field: str | None) -> None:  # type: ignore[no-untyped-def]
    if isinstance(sampling, dict) and any(isinstance(v, float) and v != v or v == float("inf") for v in sampling.values()):
        import orjson  # NaN and Infinity are not JSON: sent as the literal tokens a careless client writes

        body = orjson.dumps({"review_sampling": {k: 0 for k in sampling}}).decode()
        for k, v in sampling.items():
            body = body.replace(f'"{k}":0', f'"{k}":{"NaN" if v != v else "Infinity"}')
        answer = client.put("/v1/policies/default", headers={**auth, "Content-Type": "application/json"}, content=body)
        assert answer.status_code in (400, 422), answer.text
    else:
        assert_problem(_put(client, auth, sampling), 422, field)
    assert client.get("/v1/policies/default", headers=auth).json()["versions"] == []  # nothing written
