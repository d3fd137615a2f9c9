"""Notices and appeals in the review workspace, in a real browser (Debian's chromium through
Playwright) against a real `tamis serve`: someone sends a notice through the public form; a reviewer sees a case's reports (without the reporters'
identity) and decides it; the platform files an appeal; the first reviewer cannot claim it; a
moderator sees the appeal, the contested decision and who made it, the reporters' identity on the
first case, and reverses it with a reply."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from dsa_helpers import EMAIL, NAME, item, report_body
from review_helpers import add_reviewer, sign_in_page
from serving import serve, stop
from test_scan import CHROMIUM_ARGS, _chromium
from tamis.services import redress, webhooks
from tamis.store.db import transaction
from tamis.store.models import Appeal, Delivery, Report

pytestmark = pytest.mark.browser



def test_reports_and_an_appeal_in_the_review_screens(project: str, key: str, tmp_path: Path) -> None:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    first, moderator = add_reviewer(project), add_reviewer(project, "moderator")
    item(project, "post-9", "pass", "harassment", 0.3)
    log = tmp_path / "serve.log"
    proc, base = serve([sys.executable, "-m", "tamis"], dict(os.environ), log, ready="/healthz")
    auth = {"Authorization": f"Bearer {key}"}
    try:
        with transaction() as session:  # an outbox to read (`--no-worker`: nothing is sent)
            webhooks.create_webhook(session, project, "http://127.0.0.1:9/hook")
            redress.update_settings(session, project, public_form=True)
        sent = [httpx.post(base + "/v1/reports", headers=auth, timeout=30, json=report_body(
                    "post-9", explanation=f"Insults my neighbour ({i})", trusted_flagger=i == 1)) for i in range(2)]
        assert [s.status_code for s in sent] == [201, 201], [s.text for s in sent]
        case_id = sent[0].json()["case_id"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                elsewhere: list[str] = []
                page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(base) else None)
                # Someone without an account uses the public form, from the platform's "report" link.
                page.goto(base + f"/report/{project}?data_id=post-9&location=https://forum.example.org/t/9")
                page.select_option("#category", "hate")
                page.fill("#explanation", "A slur against my community (form)")
                page.fill("#name", "Pat Public")
                page.fill("#email", "pat.public@example.org")
                page.check("#good-faith")
                page.click("#send-report")
                assert page.locator("#receipt-id").inner_text().startswith("rep_")
                sign_in_page(page, base, first)
                page.locator("tr[data-queue=default] button.claim").click()
                page.wait_for_url(f"**/cases/{case_id}")
                reports = page.locator("#reports")
                assert page.locator("#report-count").inner_text() == "3"
                assert "Insults my neighbour (0)" in reports.inner_text() and "trusted flagger" in reports.inner_text()
                assert "(form)" in reports.inner_text()
                for personal in (EMAIL, NAME, "pat.public@example.org"):
                    assert personal not in page.content()  # a reviewer never sees who reported
                assert page.locator("#reply").count() == 0  # no reply field on a case that is not an appeal
                page.keyboard.press("o")
                assert page.locator("#action-overturn").is_checked()
                page.keyboard.press("s")
                page.wait_for_url("**/review?notice=*")

                appeal = httpx.post(base + "/v1/appeals", headers=auth, timeout=30, json={
                    "appellant": "affected_user", "data_id": "post-9", "reason": "It quotes a film, it insults nobody."})
                assert appeal.status_code == 201, appeal.text
                page.goto(base + "/review")
                page.locator("tr[data-queue=appeals] button.claim").click()
                page.wait_for_url("**/review?notice=*")
                assert "Nothing to review" in page.locator(".notice").inner_text()  # the first reviewer is not offered it

                other = browser.new_context().new_page()
                sign_in_page(other, base, moderator)
                other.goto(base + f"/review/p/{project}/cases/{case_id}")
                assert EMAIL in other.locator("#reports").inner_text()  # moderators see who reported
                other.goto(base + "/review")
                other.locator("tr[data-queue=appeals] button.claim").click()
                other.wait_for_url(f"**/cases/{appeal.json()['case_id']}")
                assert "It quotes a film" in other.locator("#appeal-reason").inner_text()
                assert first in other.locator("#appeal-first").inner_text()
                other.fill("#reply", "Looked again: it quotes a film. Restored.")
                other.click("#action-overturn")
                other.click("#submit")
                other.wait_for_url(f"**/cases/{appeal.json()['case_id']}")
                assert "reversed" in other.locator("#appeal").inner_text()
                assert "Restored." in other.locator("#appeal-reply").inner_text()
                assert not elsewhere, elsewhere
            finally:
                browser.close()
        with transaction() as session:
            filed = session.scalar(select(Appeal).where(Appeal.project_id == project))
            closed = session.scalars(select(Report.outcome).where(Report.project_id == project)).all()
            bodies = session.scalars(select(Delivery.body).where(Delivery.project_id == project)).all()
        assert filed is not None and filed.outcome == "reversed" and filed.decided_actor == moderator
        assert list(closed) == ["founded"] * 3
        assert sum('"type":"report.decided"' in b for b in bodies) == 3
        assert not any("pat.public@example.org" in b or EMAIL in b for b in bodies)
        assert sum('"type":"appeal.decided"' in b and '"reversed":true' in b for b in bodies) == 1
    finally:
        stop(proc, log)
