"""The review workspace in a real browser (Debian's chromium through Playwright) against a real
`tamis serve`: sign in, claim a case (a second browser cannot get it), reveal its masked words
(fetched only then) and its image (the sharp copy, fetched only then, audited, refused to another
project's admin), decide it with the keyboard."""

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

from review_helpers import PASSWORD, add_reviewer, review_everything_flagged, sign_in_page, wait_true
from serving import serve, stop
from test_scan import CHROMIUM_ARGS, _chromium
from tamis.store.db import transaction
from tamis.store.models import Case, CaseDecision, ItemMedia, ReviewEvent

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _picture() -> str:
    """A red picture with a blue block and fine stripes: detail that the blurred thumbnail loses."""
    image = Image.new("RGB", (800, 600), (230, 40, 40))
    draw = ImageDraw.Draw(image)
    draw.rectangle((150, 150, 650, 450), fill=(20, 90, 220))
    for x in range(0, 800, 8):
        draw.line((x, 0, x, 599), fill=(250, 250, 250), width=2)
    out = io.BytesIO()
    image.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


# The variance of the Laplacian of the shown image's grey pixels (at its natural size): high for
# sharp detail, near zero for a blur. The CSS filter is not part of the pixels read.
EDGE_ENERGY = """(img) => {
  const c = document.createElement("canvas"); c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext("2d"); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data, w = c.width, h = c.height;
  const grey = (x, y) => { const i = 4 * (y * w + x); return 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]; };
  let n = 0, sum = 0, sq = 0;
  for (let y = 1; y < h - 1; y++) for (let x = 1; x < w - 1; x++) {
    const l = grey(x - 1, y) + grey(x + 1, y) + grey(x, y - 1) + grey(x, y + 1) - 4 * grey(x, y);
    n++; sum += l; sq += l * l;
  }
  return sq / n - (sum / n) * (sum / n);
}"""


def test_sign_in_claim_reveal_and_decide_with_the_keyboard(project: str, key: str, tmp_path: Path) -> None:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    review_everything_flagged(project, terms=["idiot"])
    name, second = add_reviewer(project), add_reviewer(project)
    stranger = add_reviewer(project + "-other", "admin")  # an admin, of another project
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
                seen_urls: list[str] = []
                page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith((base, "blob:")) else None)
                page.on("request", lambda r: seen_urls.append(r.url))
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
                assert word.count() == 1 and "idiot" not in page.content()  # not in the page, not even hidden
                color_of = "getComputedStyle(document.querySelector('#case-text mark[data-word]')).color"
                assert page.evaluate(color_of) == "rgba(0, 0, 0, 0)"
                with page.expect_response(lambda r: r.url.endswith("/reveal/words") and r.status == 200):
                    page.keyboard.press("w")
                wait_true(page, "document.querySelector('#case-text mark[data-word]').textContent === 'idiot'")
                assert page.evaluate(color_of) != "rgba(0, 0, 0, 0)"
                page.keyboard.press("w")
                assert page.evaluate(color_of) == "rgba(0, 0, 0, 0)" and "idiot" not in page.content()
                image = page.locator("#case-image")
                image.wait_for()
                wait_true(page, "document.getElementById('case-image').complete")
                filter_of = "document.getElementById('case-image') && getComputedStyle(document.getElementById('case-image')).filter"
                assert "blur" in page.evaluate(filter_of) and "grayscale" in page.evaluate(filter_of)
                assert page.evaluate("document.getElementById('case-image').naturalWidth") > 0  # the image did load
                blurred_width, blurred_edges = image.evaluate("i => i.naturalWidth"), image.evaluate(EDGE_ENERGY)
                sharp_url = base + image.get_attribute("data-sharp")
                assert not any("/reveal/media/" in u for u in seen_urls)  # nothing sharp is fetched before a reveal
                with page.expect_response(lambda r: r.url == sharp_url and r.status == 200) as fetched:
                    page.keyboard.press("r")
                assert fetched.value.headers["cache-control"] == "no-store"
                wait_true(page, "document.getElementById('case-image').src.startsWith('blob:')")
                wait_true(page, "document.getElementById('case-image').complete")
                assert page.evaluate(filter_of) == "none"
                # The revealed picture is the sharp copy: larger, and with the detail the thumbnail blurs away.
                assert image.evaluate("i => i.naturalWidth") == 800 > blurred_width
                assert image.evaluate(EDGE_ENERGY) > 20 * blurred_edges
                page.keyboard.press("r")
                assert "blur" in page.evaluate(filter_of) and not image.get_attribute("src").startswith("blob:")
                # Another project's admin, signed in in their own browser, gets nothing from the sharp URL.
                outsider = browser.new_context().new_page()
                sign_in_page(outsider, base, stranger)
                token = outsider.evaluate("document.querySelector('input[name=csrf]').value")
                refused = outsider.evaluate("""([url, csrf]) => fetch(url, {method: "POST", body: new URLSearchParams({csrf}),
                    credentials: "same-origin"}).then(r => r.status)""", [sharp_url, token])
                assert refused == 404
                outsider.context.close()
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
        with transaction() as session:
            reveals = session.scalars(select(ReviewEvent).where(ReviewEvent.case_id == case.id, ReviewEvent.kind == "reveal")  # type: ignore[union-attr]
                                      .order_by(ReviewEvent.id)).all()
            sharp_id = session.scalar(select(ItemMedia.id).where(ItemMedia.project_id == project, ItemMedia.kind == "sharp"))
        assert [(e.actor, e.detail) for e in reveals] == [(name, {"what": "words", "n": 1}),
                                                           (name, {"what": "image", "media": sharp_id})]
    finally:
        stop(proc, log)
