"""The transparency report in a real browser against a real `tamis serve`: an admin opens it from the
admin page (charts, the accuracy table, a CSV download, nothing loaded from elsewhere, no script);
a reviewer of the same project is refused, and so is an admin of another project."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest

from dsa_helpers import BLOCK_WORD, REVIEW_WORD, list_policy
from review_helpers import add_reviewer, sign_in_page
from serving import serve, stop
from test_scan import CHROMIUM_ARGS, _chromium

pytestmark = [pytest.mark.slow, pytest.mark.browser]



def test_an_admin_opens_the_report_and_a_reviewer_is_refused(project: str, key: str, tmp_path: Path) -> None:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    list_policy(project)
    admin, reviewer = add_reviewer(project, "admin"), add_reviewer(project, "reviewer")
    outsider = add_reviewer(f"other-{project}", "admin")
    log = tmp_path / "serve.log"
    proc, base = serve([sys.executable, "-m", "tamis"], dict(os.environ), log, ready="/healthz")
    try:
        sent = httpx.post(base + "/v1/moderate", headers={"Authorization": f"Bearer {key}"}, timeout=60, json={"items": [
            {"data_id": "a", "text": BLOCK_WORD}, {"data_id": "b", "text": BLOCK_WORD}, {"data_id": "c", "text": REVIEW_WORD}]})
        assert [r["verdict"] for r in sent.json()["results"]] == ["block", "block", "review"], sent.text
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                elsewhere: list[str] = []
                page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(base) else None)
                sign_in_page(page, base, admin)
                page.goto(f"{base}/review/p/{project}/admin")
                page.click("#dsa-report")
                page.wait_for_url(f"**/review/p/{project}/dsa/report")
                assert project in page.locator("#report-title").inner_text()
                assert page.locator("svg").count() >= 1
                assert "2 restrictions" in page.locator("body").inner_text()
                firsts = page.locator("#accuracy tbody tr td:first-child").all_inner_texts()
                assert sorted(firsts) == ["harassment", "hate"]
                assert page.evaluate("document.scripts.length") == 0
                with page.expect_download() as download:
                    page.click("#csv")
                assert download.value.suggested_filename.endswith(".csv")
                assert Path(download.value.path()).read_text().startswith("section,indicator,breakdown,value")
                page.fill("input[name=from]", "2020-01-01")
                page.fill("input[name=to]", "2020-02-01")
                page.click("#period button[type=submit]")
                page.wait_for_url("**from=2020-01-01**")
                assert "0 restrictions" in page.locator("body").inner_text()
                assert elsewhere == []
                # A reviewer of the project, and an admin of another project, are refused on the server.
                for name, status in ((reviewer, 403), (outsider, 404)):
                    other = browser.new_context(accept_downloads=True).new_page()
                    sign_in_page(other, base, name)
                    answer = other.goto(f"{base}/review/p/{project}/dsa/report")
                    assert answer is not None and answer.status == status
                    assert "restrictions" not in other.locator("body").inner_text()
                    answer = other.request.get(f"{base}/review/p/{project}/dsa/report?format=csv")
                    assert answer.status == status
            finally:
                browser.close()
        # Without a session: to the sign-in page.
        bare = httpx.get(f"{base}/review/p/{project}/dsa/report", follow_redirects=False)
        assert bare.status_code == 303 and bare.headers["location"] == "/review/login"
    finally:
        stop(proc, log)


def test_bad_periods_are_refused_as_pages(app, project: str) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from test_review_web import sign_in as sign_in_client

    with TestClient(app, base_url="https://testserver") as browser:
        sign_in_client(browser, add_reviewer(project, "admin"))
        for query in ("from=soon", "from=2026-12-02&to=2026-12-01", "from=2000-01-01&to=2026-01-01", "format=pdf"):
            answer = browser.get(f"/review/p/{project}/dsa/report?{query}")
            assert answer.status_code == 400 and ("YYYY-MM-DD" in answer.text or "html or csv" in answer.text
                                                  or "at most" in answer.text), query
        csv = browser.get(f"/review/p/{project}/dsa/report?format=csv")
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        page = browser.get(f"/review/p/{project}/dsa/report")
        assert "script-src" not in page.headers["content-security-policy"] and "default-src 'none'" in page.headers["content-security-policy"]
