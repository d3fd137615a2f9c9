"""Shared by the DSA tests (notices, appeals, statements, the transparency report): items recorded
without running a model, a policy whose term lists block, send to review or pass the texts the tests
choose, and notices."""

from __future__ import annotations

from typing import Any

from test_cases import _result, record
from tamis.engine.policy import PolicyBody
from tamis.services import reports
from tamis.store import queries
from tamis.store.db import transaction

EMAIL = "reporter.person@example.org"
NAME = "Rita Reporter"
BLOCK_WORD = "zorblax"    # a harassment block-list term
REVIEW_WORD = "quibbit"   # a hate review-list term


def item(project: str, data_id: str, verdict: str = "pass", category: str = "harassment", score: float = 0.2) -> str:
    """An item the project sent to tamis (its decision recorded as the pipeline would); the decision id."""
    return record(project, [_result(data_id, verdict, category, score)])


def report_body(data_id: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"data_id": data_id, "category": "harassment", "explanation": "It insults a named person.",
                            "location": f"https://forum.example.org/t/{data_id}", "reporter_name": NAME,
                            "reporter_email": EMAIL, "good_faith": True}
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def notice(data_id: str, **over: Any) -> reports.Notice:
    """A notice as the API hands it to the service (checked already)."""
    fields: dict[str, Any] = {"data_id": data_id, "category": "harassment", "explanation": "It insults a named person.",
                              "location": f"https://forum.example.org/t/{data_id}", "source": "api"}
    fields.update(over)
    return reports.Notice(**fields)


def list_policy(project: str) -> None:
    """The project's default policy: the term lists alone (no model to load)."""
    body = PolicyBody.model_validate({
        "analyzers": [],
        "block_lists": [
            {"name": "insults", "category": "harassment", "action": "block", "terms": [BLOCK_WORD]},
            {"name": "doubtful", "category": "hate", "action": "review", "terms": [REVIEW_WORD]},
        ],
    })
    with transaction() as session:
        queries.put_policy(session, project, "default", body)
