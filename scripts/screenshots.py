"""Screenshots of the review workspace for the README: the queues page and a case view.

Seeds a throw-away data directory with a demo project and synthetic, harmless content (a mild
insult caught by a term list, a drawn picture with words on it), serves it with `tamis serve`, signs
a reviewer in with chromium (Playwright, Debian's chromium: nothing is downloaded) and writes
docs/review-queue.png and docs/review-case.png.

    python scripts/screenshots.py [--out docs] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

PASSWORD = "a demo password only"
PROJECT = "demo-forum"
TEXTS = [
    ("post-1041", "honestly you are an idiot if you think pineapple belongs on pizza", "u-77"),
    ("post-1042", "what a moron, the match was rigged and the referee knew it", "u-12"),
    ("post-1043", "click here for a FREE prize!!! limited offer, send your bank details", "u-90"),
]


def _picture() -> str:
    """A drawn scene with a caption a term list catches (read by OCR): no photo, nothing harmful."""
    image = Image.new("RGB", (640, 420), (92, 140, 196))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 300, 640, 420), fill=(70, 150, 80))
    draw.ellipse((470, 40, 570, 140), fill=(250, 215, 80))
    draw.rectangle((120, 190, 300, 300), fill=(200, 90, 70))
    draw.polygon([(110, 190), (210, 120), (310, 190)], fill=(120, 60, 50))
    draw.rectangle((40, 20, 420, 90), fill="white")
    draw.text((56, 30), "YOU IDIOT", fill="black", font_size=44)
    out = io.BytesIO()
    image.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(env: dict[str, str]) -> str:
    """The demo project's policy, a reviewer and a key (in this process, on the throw-away database)."""
    os.environ.update(env)
    from tamis.engine.policy import PolicyBody, default_body
    from tamis.services import cases, reviewers
    from tamis.store import queries
    from tamis.store.db import transaction

    body = default_body().model_dump(mode="json")
    for thresholds in body["categories"].values():
        thresholds.pop("block", None)  # the demo reviews what it would block
    body["block_lists"] = [{"name": "insults", "category": "harassment", "action": "review", "terms": ["idiot", "moron"]}]
    with transaction() as session:
        queries.put_policy(session, PROJECT, "default", PolicyBody.model_validate(body))
        reviewers.add(session, "ana", PASSWORD)
        reviewers.grant(session, "ana", PROJECT, "admin")
        cases.create_queue(session, PROJECT, "insults", {"categories": ["harassment", "hate"]}, position=0)
        cases.create_queue(session, PROJECT, "scams", {"categories": ["scam", "spam"]}, position=1)
        _, key = queries.create_key(session, PROJECT)
    return key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs")
    parser.add_argument("--chromium", default=os.environ.get("TAMIS_TEST_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="tamis-screenshots-")
    env = {**os.environ, "TAMIS_DATA_DIR": data}
    env.pop("TAMIS_DATABASE_URL", None)
    key = _seed(env)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "tamis", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("tamis serve did not start")
            time.sleep(0.5)
        items = [{"data_id": d, "text": t, "author_id": a, "context": "thread: weekend plans"} for d, t, a in TEXTS]
        items.append({"data_id": "img-2207", "image_base64": _picture(), "author_id": "u-77"})
        sent = httpx.post(base + "/v1/moderate", headers={"Authorization": f"Bearer {key}"}, json={"items": items}, timeout=300)
        sent.raise_for_status()
        print("verdicts:", [r["verdict"] for r in sent.json()["results"]], file=sys.stderr)
        _shoot(base, args.chromium, args.out)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _shoot(base: str, chromium: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1180, "height": 760})
        page.goto(base + "/review/login")
        page.fill("input[name=username]", "ana")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login button[type=submit]")
        page.wait_for_url(base + "/review")
        page.set_viewport_size({"width": 1180, "height": 400})
        page.screenshot(path=str(out / "review-queue.png"))
        page.set_viewport_size({"width": 1180, "height": 760})
        page.locator("tr[data-queue=insults] button.claim").click()
        page.wait_for_url("**/cases/case_*")
        for _ in range(len(TEXTS) + 1):  # skip to the picture: the case view with the most on it
            if page.locator("#case-image").count():
                break
            current = page.url
            page.keyboard.press("k")
            page.wait_for_url(lambda url: url != current)
        page.wait_for_timeout(300)
        page.screenshot(path=str(out / "review-case.png"), full_page=True)
        browser.close()
    for name in ("review-queue.png", "review-case.png"):
        print(out / name, (out / name).stat().st_size, "bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
