"""The admins' statement settings form in a real browser (Debian's chromium through Playwright)
against a real `tamis serve`: an admin maps a category elsewhere and narrows the territorial scope,
and the next statement says so; a reviewer gets no form and the server refuses their post."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import httpx
import pytest

from review_helpers import add_reviewer, sign_in_page
from serving import serve, stop
from test_scan import CHROMIUM_ARGS, _chromium
from tamis.services.dsa import settings as dsa_settings
from tamis.store.db import transaction

pytestmark = pytest.mark.browser


def test_an_admin_edits_the_statement_settings_a_reviewer_is_refused(project: str, key: str, tmp_path: Path) -> None:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    admin, reviewer = add_reviewer(project, "admin"), add_reviewer(project, "reviewer")
    log = tmp_path / "serve.log"
    proc, base = serve([sys.executable, "-m", "tamis"], dict(os.environ), log, ready="/healthz")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                sign_in_page(page, base, admin)
                page.goto(base + f"/review/p/{project}/dsa")
                page.select_option("select[name='map.spam']", "STATEMENT_CATEGORY_SCAMS_AND_FRAUD")
                page.fill("input[name='kw.spam']", "KEYWORD_PHISHING")
                page.fill("#territorial-scope", "XX")
                page.click("#save-statements")
                assert "territorial_scope" in page.content()  # refused, naming the field
                page.goto(base + f"/review/p/{project}/dsa")
                page.select_option("select[name='map.spam']", "STATEMENT_CATEGORY_SCAMS_AND_FRAUD")
                page.fill("#territorial-scope", "FR, BE")
                page.click("#save-statements")
                page.wait_for_url(re.compile(r".*/dsa\?notice=.*"))
                assert "Statement settings saved." in page.locator(".notice").inner_text()
                assert page.locator("select[name='map.spam']").input_value() == "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
                assert page.locator("#territorial-scope").input_value() == "FR, BE"

                other = browser.new_context().new_page()
                sign_in_page(other, base, reviewer)
                seen = other.goto(base + f"/review/p/{project}/dsa")
                assert seen is not None and seen.status == 403 and other.locator("#dsa-statements").count() == 0
                # A hand-made post with the reviewer's own valid CSRF token: refused by the server for the role.
                other.goto(base + "/review")
                csrf = other.locator("input[name=csrf]").first.get_attribute("value")
                answer = other.request.post(base + f"/review/p/{project}/dsa/statements", headers={"Origin": base},
                                            form={"csrf": csrf or "", "territorial_scope": "DE"})
                assert answer.status == 403 and "needs the admin role" in answer.text()
            finally:
                browser.close()
        with transaction() as session:
            stored, _ = dsa_settings.load(session, project)
        assert stored.territorial_scope == ["FR", "BE"] and stored.categories["spam"].category == "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
        # The API reads the same settings.
        shown = httpx.get(base + "/v1/dsa/settings", headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
        assert shown["territorial_scope"] == ["FR", "BE"]
    finally:
        stop(proc, log)
