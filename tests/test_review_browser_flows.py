"""The review workspace's flows in a real browser (Debian's chromium through Playwright) against one
real `tamis serve` and one chromium for the module: sign-in and sign-out (the old cookie no longer
works), role limits refused by the server, every case action from the keyboard, escalation to a
queue's moderators and to one person, bulk action with undo, and the audit trail of each as an admin
reads it on the audit page."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from review_helpers import PASSWORD, add_reviewer, review_everything_flagged
from serving import serve, stop
from test_scan import CHROMIUM_ARGS, _chromium
from tamis.store import queries
from tamis.store.db import transaction
from tamis.store.models import Case

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TEXTS = [f"you are a fucking idiot, number {n}" for n in range(8)]


@dataclass
class Site:
    base: str
    project: str
    key: str
    browser: Any  # playwright's Browser
    reviewer: str
    other: str  # a second reviewer: escalated to by name
    moderator: str
    admin: str

    def page_of(self, name: str) -> Any:
        """A new browser context (its own cookies) signed in as `name`, on the queues page."""
        page = self.browser.new_context().new_page()
        page.goto(self.base + "/review")
        page.wait_for_url("**/review/login")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", PASSWORD)
        page.click("#login button[type=submit]")
        page.wait_for_url(self.base + "/review")
        return page

    def audit(self, page: Any) -> list[tuple[str, str, str]]:
        """(kind, actor, case) of the audit page's rows, newest first, as the admin's browser shows them."""
        page.goto(f"{self.base}/review/p/{self.project}/audit")
        return [tuple(row.locator("td").nth(i).inner_text().strip() for i in (2, 1, 3))  # type: ignore[misc]
                for row in page.locator("#audit tbody tr[data-kind]").all()]


@pytest.fixture(scope="module")
def site(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    project = f"proj-{secrets.token_hex(4)}"
    with transaction() as session:
        _, key = queries.create_key(session, project)
    review_everything_flagged(project)
    people = [add_reviewer(project), add_reviewer(project), add_reviewer(project, "moderator"), add_reviewer(project, "admin")]
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    proc, base = serve([sys.executable, "-m", "tamis"], dict(os.environ), log, ready="/healthz")
    try:
        sent = httpx.post(base + "/v1/moderate", headers={"Authorization": f"Bearer {key}"}, timeout=180,
                          json={"items": [{"data_id": f"post-{n}", "text": t} for n, t in enumerate(TEXTS)]})
        assert sent.status_code == 200, sent.text
        assert [r["verdict"] for r in sent.json()["results"]] == ["review"] * len(TEXTS)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            try:
                yield Site(base, project, key, browser, *people)
            finally:
                browser.close()
    finally:
        stop(proc, log)


def _status(case_id: str) -> tuple[str, str | None]:
    with transaction() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.status, case.escalated_to


def _case_id(page: Any) -> str:
    return page.url.rsplit("/", 1)[1]


def _skip_through(page: Any) -> list[str]:
    """Claim from the default queue and skip (k) every case offered until none is left: the ids seen."""
    page.goto(page.url.split("/review")[0] + "/review")
    page.locator("tr[data-queue=default] button.claim").click()
    seen: list[str] = []
    for _ in range(len(TEXTS) + 1):
        page.wait_for_url(lambda url: "/cases/case_" in url or "notice=" in url)
        if "notice=" in page.url:
            assert "Nothing to review" in page.locator(".notice").inner_text()
            return seen
        seen.append(_case_id(page))
        page.keyboard.press("k")
        page.wait_for_url(lambda url: not url.endswith(seen[-1]))
    raise AssertionError(f"the same cases kept coming: {seen}")


def test_sign_in_sign_out_and_role_limits_on_the_server(site: Site) -> None:
    page = site.page_of(site.reviewer)
    assert site.project in page.locator("main").inner_text()
    assert page.locator(f"a[href$='/{site.project}/admin']").count() == 0  # hidden from a reviewer...
    for path in ("admin", "audit"):  # ...and refused by the server when asked anyway
        answer = page.goto(f"{site.base}/review/p/{site.project}/{path}")
        assert answer is not None and answer.status == 403 and "admin role" in page.locator("main").inner_text()
    page.goto(site.base + "/review")
    csrf = page.locator("input[name=csrf]").first.input_value()
    for path, form in (("admin/queues", {"name": "mine", "rules": "{}"}),
                       ("bulk", {"action": "overturn", "case": "case_x", "confirm": "1"})):
        status = page.evaluate(
            "([url, form]) => fetch(url, {method: 'POST', body: new URLSearchParams(form)}).then(r => r.status)",
            [f"{site.base}/review/p/{site.project}/{path}", {**form, "csrf": csrf}])
        assert status == 403, path
    # Sign out: the page goes to sign-in, and the old session cookie signs nobody in any more.
    old = [c for c in page.context.cookies() if c["name"] == "tamis_review"]
    assert len(old) == 1
    page.click("#sign-out")
    page.wait_for_url("**/review/login")
    replay = site.browser.new_context()
    replay.add_cookies(old)
    again = replay.new_page()
    again.goto(site.base + "/review")
    assert again.url.endswith("/review/login")
    assert httpx.get(site.base + "/review", cookies={"tamis_review": old[0]["value"]}, follow_redirects=False
                     ).headers["location"] == "/review/login"
    replay.close()
    page.context.close()
    admin = site.page_of(site.admin)
    trail = site.audit(admin)
    assert ("sign_out", site.reviewer, "") in trail and ("sign_in", site.reviewer, "") in trail
    assert trail.index(("sign_out", site.reviewer, "")) < trail.index(("sign_in", site.reviewer, ""))  # newest first
    admin.context.close()


def test_every_case_action_with_the_keyboard_and_its_audit_trail(site: Site) -> None:
    page = site.page_of(site.reviewer)
    page.locator("tr[data-queue=default] button.claim").click()
    page.wait_for_url("**/cases/case_*")
    skipped = _case_id(page)
    page.keyboard.press("k")  # skip: the next case comes, never the skipped one
    page.wait_for_url(lambda url: "/cases/case_" in url and not url.endswith(skipped))
    held = _case_id(page)
    page.keyboard.press("h")  # hold
    page.wait_for_url(lambda url: "/cases/case_" in url and not url.endswith(held))
    to_moderators = _case_id(page)
    page.keyboard.press("e")  # escalate to the queue's moderators
    page.wait_for_url(lambda url: "/cases/case_" in url and not url.endswith(to_moderators))
    to_person = _case_id(page)
    page.select_option("#escalate-to", site.other)  # escalate to one person: choose them, then e
    page.keyboard.press("Escape")  # leaves the field: shortcuts pause while a field has the focus
    page.keyboard.press("e")
    page.wait_for_url(lambda url: "/cases/case_" in url and not url.endswith(to_person))
    overturned = _case_id(page)
    page.keyboard.press("o")
    assert page.locator("#action-overturn").is_checked()
    page.keyboard.press("s")  # submit & next
    page.wait_for_url(lambda url: "/cases/case_" in url and not url.endswith(overturned))
    upheld = _case_id(page)
    page.keyboard.press("u")
    page.keyboard.press("s")
    page.wait_for_url(lambda url: not url.endswith(upheld))
    assert len({skipped, held, to_moderators, to_person, overturned, upheld}) == 6
    assert _status(skipped) == ("open", None) and _status(held)[0] == "on_hold"
    assert _status(to_moderators) == ("escalated", None) and _status(to_person)[0] == "escalated"
    assert _status(overturned)[0] == _status(upheld)[0] == "decided"

    # A plain reviewer never gets a case escalated to moderators or to someone else...
    seen = _skip_through(page)
    assert to_moderators not in seen and to_person not in seen and upheld not in seen
    # ...the person it was escalated to gets theirs (and no other escalated case)...
    other = site.page_of(site.other)
    seen = _skip_through(other)
    assert to_person in seen and to_moderators not in seen
    other.context.close()
    # ...and a moderator puts the held case back, and takes every escalated one.
    moderator = site.page_of(site.moderator)
    moderator.goto(f"{site.base}/review/p/{site.project}/cases/{held}")
    moderator.get_by_role("button", name="Put back in its queue").click()
    moderator.wait_for_url(f"**/cases/{held}")
    assert _status(held)[0] == "open"
    seen = _skip_through(moderator)
    assert {to_moderators, to_person, held} <= set(seen)
    moderator.context.close()
    page.context.close()

    admin = site.page_of(site.admin)
    trail = site.audit(admin)
    mine = [(kind, case) for kind, actor, case in trail if actor == site.reviewer and case]
    assert mine[::-1][:6] == [("skip", skipped), ("hold", held), ("escalate", to_moderators), ("escalate", to_person),
                               ("decision", overturned), ("decision", upheld)]
    assert ("resume", site.moderator, held) in trail
    row = admin.locator(f"#audit tr[data-kind=escalate]:has(a:text('{to_person}')) code").inner_text()
    assert f'"to": "{site.other}"' in row.replace('":"', '": "')
    admin.context.close()


def test_bulk_overturn_with_confirmation_then_undo_and_its_audit_trail(site: Site) -> None:
    page = site.page_of(site.moderator)
    page.goto(f"{site.base}/review/p/{site.project}/cases?status=open")
    boxes = page.locator("#bulk input[type=checkbox][name=case]")
    assert boxes.count() >= 2
    chosen = [boxes.nth(i).get_attribute("value") for i in (0, 1)]
    for i in (0, 1):
        boxes.nth(i).check()
    page.select_option("#bulk select[name=action]", "overturn")
    page.fill("#bulk input[name=reason]", "satire")
    page.click("#bulk button[type=submit]")
    assert page.locator("h1").inner_text() == "Overturn 2 cases?"
    page.click("#bulk-confirm button[type=submit]")
    assert page.locator("h1").inner_text() == "2 of 2 cases decided"
    assert [_status(c)[0] for c in chosen] == ["decided", "decided"]  # type: ignore[arg-type]
    page.click("#undo button[type=submit]")
    page.wait_for_url("**/cases?notice=*")
    assert "Undone: 2 cases wait again." in page.locator(".notice").inner_text()
    assert [_status(c)[0] for c in chosen] == ["open", "open"]  # type: ignore[arg-type]
    page.context.close()
    admin = site.page_of(site.admin)
    kinds = [(kind, actor) for kind, actor, _ in site.audit(admin)]
    assert kinds.index(("bulk_undo", site.moderator)) < kinds.index(("bulk", site.moderator))
    with transaction() as session:
        open_now = set(session.scalars(select(Case.id).where(Case.project_id == site.project, Case.status == "open")))
    assert set(chosen) <= open_now
    admin.context.close()
