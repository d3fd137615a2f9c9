"""`/docs` in a real browser (Debian's chromium): Authorize with a key, try a /v1 call, get its answer.
The landing page and the health endpoints refuse what they do not serve."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from serving import serve, stop
from test_scan import CHROMIUM_ARGS, _chromium


@pytest.mark.slow
@pytest.mark.browser
def test_authorize_in_the_docs_then_try_a_v1_call(project: str, key: str, tmp_path: Path) -> None:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    log = tmp_path / "serve.log"
    proc, base = serve([sys.executable, "-m", "tamis"], dict(os.environ), log, ready="/healthz")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                sent: list[dict[str, str]] = []
                page.on("request", lambda r: sent.append(r.headers) if "/v1/policies" in r.url else None)
                page.goto(base + "/docs")
                page.locator("button.authorize").first.click()
                page.locator(".modal-ux input").first.fill(key)
                page.locator(".modal-ux button.authorize").click()
                page.locator(".modal-ux button.btn-done").click()
                operation = page.locator("#operations-policies-list_policies_v1_policies_get")
                operation.locator(".opblock-summary").click()
                operation.locator("button.try-out__btn").click()
                operation.locator("button.execute").click()
                status = operation.locator(".live-responses-table tbody .response-col_status").first
                status.wait_for(timeout=30_000)
                assert status.inner_text().strip().startswith("200")
                assert '"id": "default"' in operation.locator(".live-responses-table .microlight").first.inner_text()
                assert sent and sent[-1].get("authorization") == f"Bearer {key}"
            finally:
                browser.close()
    finally:
        stop(proc, log)


def test_pages_refuse_what_they_do_not_serve(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/", "/readyz", "/healthz"):
        refused = client.post(path, json={"x": 1})
        assert refused.status_code == 405 and refused.headers["content-type"] == "application/problem+json"
    landing = client.get("/?q=<script>alert(1)</script>", headers={"Host": "evil.example"})
    assert landing.status_code == 200 and "<script>" not in landing.text and "evil.example" not in landing.text
