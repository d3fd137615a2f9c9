"""Shared by the review-workspace tests: a policy that sends to review what it would block, reviewers."""

from __future__ import annotations

import secrets
from typing import Any

from tamis.engine.policy import PolicyBody, default_body
from tamis.services import reviewers
from tamis.store import queries
from tamis.store.db import transaction

PASSWORD = "correct horse battery"


def review_everything_flagged(project: str, terms: list[str] | None = None) -> None:
    """The project's default policy without block thresholds: what the models flag goes to review
    (and, with `terms`, a term list of insults that sends its matches to review)."""
    body: dict[str, Any] = default_body().model_dump(mode="json")
    if terms:
        body["block_lists"] = [{"name": "insults", "category": "harassment", "action": "review", "terms": terms}]
    for thresholds in body["categories"].values():
        thresholds.pop("block", None)
    with transaction() as session:
        queries.put_policy(session, project, "default", PolicyBody.model_validate(body))


def add_reviewer(project: str, role: str = "reviewer", password: str = PASSWORD) -> str:
    name = f"{role[:3]}-{secrets.token_hex(4)}"
    with transaction() as session:
        reviewers.add(session, name, password)
        reviewers.grant(session, name, project, role)
    return name


def sign_in_page(page: Any, base: str, name: str, password: str = PASSWORD) -> None:
    """Sign in through the real form in a Playwright page, and wait for the queues page."""
    page.goto(base + "/review/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("#login button[type=submit]")
    page.wait_for_url(base + "/review")


def wait_true(page: Any, expression: str, timeout_s: float = 30) -> None:
    """Wait until a JavaScript expression is true in the page. Playwright's wait_for_function polls
    with eval inside the page, which the review pages' Content-Security-Policy (no 'unsafe-eval')
    refuses; page.evaluate goes through the browser's debugging protocol, which the policy allows."""
    import time

    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout_s:.0f} s: {expression}")
        time.sleep(0.05)
