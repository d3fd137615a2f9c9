"""The review workspace in a real browser (Debian's chromium through Playwright) against a real
`tamis serve`: sign in, claim a case (a second browser cannot get it), reveal its blurred image and
masked words, decide it with the keyboard."""

from __future__ import annotations

import base64
import io
import os
import sys
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from review_helpers import PASSWORD, add_reviewer, review_everything_flagged
from serving import serve, stop
from test_scan import CHROMIUM_ARGS, _chromium
from tamis.store.db import transaction
from tamis.store.models import Case, CaseDecision, ReviewEvent

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _picture() -> str:
    image = Image.new("RGB", (320, 240), (230, 40, 40))
    ImageDraw.Draw(image).rectangle((60, 60, 260, 180), fill=(20, 90, 220))
    out = io.BytesIO()
    image.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def test_sign_in_claim_reveal_and_decide_with_the_keyboard(project: str, key: str, tmp_path: Path) -> None:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    review_everything_flagged(project, terms=["idiot"])
    name, second = add_reviewer(project), add_reviewer(project)
    log = tmp_path / "serve.log"
    proc, base = serve([sys.executable, "-m", "tamis"], dict(os.environ), log, ready="/healthz")
    try:
        sent = httpx.post(base + "/v1/moderate", headers={"Authorization": f"Bearer {key}"}, timeout=120, json={"items": [
            {"data_id": "post-7", "text": "look at this, you fucking idiot", "image_base64": _picture(), "author_id": "u-3"}]})
        assert sent.status_code == 200 and sent.json()["results"][0]["verdict"] == "review", sent.text
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                elsewhere: list[str] = []
                page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(base) else None)
                page.goto(base + "/review")
                page.fill("input[name=username]", name)
                page.fill("input[name=password]", PASSWORD)
                page.click("#login button[type=submit]")
                page.wait_for_url(base + "/review")
                queue = page.locator("tr[data-queue=default]")
                assert queue.locator("td.open").inner_text() == "1"
                queue.locator("button.claim").click()
                page.wait_for_url("**/cases/case_*")
                assert "fucking" in page.locator("#case-text mark").first.inner_text()
                # The term list's word is masked until revealed with w (the sentence is only highlighted).
                word = page.locator("#case-text mark[data-word]")
                assert word.count() == 1 and word.inner_text() == "idiot"
                color_of = "getComputedStyle(document.querySelector('#case-text mark[data-word]')).color"
                assert page.evaluate(color_of) == "rgba(0, 0, 0, 0)"
                with page.expect_response(lambda r: r.url.endswith("/reveal") and r.status == 204) as words_revealed:
                    page.keyboard.press("w")
                assert words_revealed.value.request.post_data and "what=words" in words_revealed.value.request.post_data
                assert page.evaluate(color_of) != "rgba(0, 0, 0, 0)"
                page.keyboard.press("w")
                assert page.evaluate(color_of) == "rgba(0, 0, 0, 0)"
                image = page.locator("#case-image")
                image.wait_for()
                page.wait_for_function("document.getElementById('case-image').complete")
                filter_of = "document.getElementById('case-image') && getComputedStyle(document.getElementById('case-image')).filter"
                assert "blur" in page.evaluate(filter_of) and "grayscale" in page.evaluate(filter_of)
                assert page.evaluate("document.getElementById('case-image').naturalWidth") > 0  # the image did load
                with page.expect_response(lambda r: r.url.endswith("/reveal") and r.status == 204):
                    page.keyboard.press("r")
                assert page.evaluate(filter_of) == "none"
                page.keyboard.press("r")
                assert "blur" in page.evaluate(filter_of)
                page.keyboard.press("?")
                assert page.locator("#shortcuts").is_visible() and "submit & next" in page.locator("#shortcuts").inner_text()
                page.keyboard.press("Escape")
                assert not page.locator("#shortcuts").is_visible()
                # A second reviewer in another browser finds nothing to claim: the only case is held.
                other = browser.new_context().new_page()
                other.goto(base + "/review/login")
                other.fill("input[name=username]", second)
                other.fill("input[name=password]", PASSWORD)
                other.click("#login button[type=submit]")
                other.wait_for_url(base + "/review")
                other.locator("tr[data-queue=default] button.claim").click()
                other.wait_for_url("**/review?notice=*")
                assert "Nothing to review" in other.locator(".notice").inner_text()
                page.keyboard.press("u")
                assert page.locator("#action-uphold").is_checked()
                page.keyboard.press("s")
                page.wait_for_url("**/review?notice=*")
                assert "Nothing to review" in page.locator(".notice").inner_text()
                assert page.locator("tr[data-queue=default] td.open").inner_text() == "0"
                assert not elsewhere, elsewhere  # every asset is served by tamis itself
            finally:
                browser.close()
        with transaction() as session:
            case = session.scalar(select(Case).where(Case.project_id == project))
            decided = session.scalars(select(CaseDecision).where(CaseDecision.case_id == case.id)).all()  # type: ignore[union-attr]
            seen = session.scalars(select(ReviewEvent.kind).where(ReviewEvent.case_id == case.id).order_by(ReviewEvent.id)).all()  # type: ignore[union-attr]
        assert case is not None and case.status == "decided"
        assert [(d.actor, d.action, d.verdict, d.category) for d in decided] == [(name, "uphold", "block", case.category)]
        assert list(seen) == ["reveal", "reveal", "decision"]  # the audit log: words, then media (hiding again is none)
    finally:
        stop(proc, log)
