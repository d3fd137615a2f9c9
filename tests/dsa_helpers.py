"""Shared by the DSA notice and appeal tests: items recorded without running a model, reports."""

from __future__ import annotations

from typing import Any

from test_cases import _result, record

EMAIL = "reporter.person@example.org"
NAME = "Rita Reporter"


def item(project: str, data_id: str, verdict: str = "pass", category: str = "harassment", score: float = 0.2) -> str:
    """An item the project sent to tamis (its decision recorded as the pipeline would); the decision id."""
    return record(project, [_result(data_id, verdict, category, score)])


def report_body(data_id: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"data_id": data_id, "category": "harassment", "explanation": "It insults a named person.",
                            "location": f"https://forum.example.org/t/{data_id}", "reporter_name": NAME,
                            "reporter_email": EMAIL, "good_faith": True}
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}
