"""Shared by the DSA statement and report tests: a policy that needs no model, whose lists block,
send to review or pass the texts the tests choose."""

from __future__ import annotations

from tamis.engine.policy import PolicyBody
from tamis.store import queries
from tamis.store.db import transaction

BLOCK_WORD = "zorblax"    # a harassment block-list term
REVIEW_WORD = "quibbit"   # a hate review-list term


def list_policy(project: str) -> None:
    body = PolicyBody.model_validate({
        "analyzers": [],  # the lists alone: no model to load
        "block_lists": [
            {"name": "insults", "category": "harassment", "action": "block", "terms": [BLOCK_WORD]},
            {"name": "doubtful", "category": "hate", "action": "review", "terms": [REVIEW_WORD]},
        ],
    })
    with transaction() as session:
        queries.put_policy(session, project, "default", body)
