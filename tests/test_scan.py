"""`tamis scan`: a folder of real files through the real analyzers, JSONL and HTML out; and the report
in a real browser (Debian's chromium through Playwright), where flagged images must stay blurred
until clicked.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

import tamis.config
from tamis.schema import CategoryResult, ItemResult, PolicyRef
from tamis.tools.scan import ScanEntry, highlight, render_report, run_scan, summarize, thumbnail_data_uri

PROFANE = "you are a fucking idiot"
CLEAN = "The community garden opens at nine on Saturday; bring gloves."
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def scan_db(database: str) -> Iterator[str]:
    """The suite's database (conftest): pipeline.moderate reads the project's policy from it even
    when it stores nothing."""
    yield database


def _png(color: tuple[int, int, int], size: tuple[int, int] = (96, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def _corrupt_jpeg() -> bytes:
    """A JPEG whose header is fine (so it is identified as one) but whose data stops short."""
    buffer = io.BytesIO()
    Image.effect_noise((256, 256), 64).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()[:600]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "incoming"
    (root / "photos").mkdir(parents=True)
    (root / "posts" / "deep").mkdir(parents=True)
    (root / "photos" / "sky.png").write_bytes(_png((110, 160, 215)))
    (root / "photos" / "broken.jpg").write_bytes(_corrupt_jpeg())
    (root / "photos" / "disguised.png").write_bytes(b"\x00\x01not an image at all" * 8)  # name lies
    (root / "blob.bin").write_bytes(os.urandom(512))
    (root / "posts" / "rude.txt").write_text(PROFANE + "\n", encoding="utf-8")
    (root / "posts" / "deep" / "garden.md").write_text(f"# Notice\n\n{CLEAN}\n", encoding="utf-8")
    (root / "posts" / "empty.txt").write_text("  \n", encoding="utf-8")
    return root


def _lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.models
def test_scan_writes_results_and_report(scan_db: Path, folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = run_scan(folder, out, store=False, batch_size=2, progress=False)

    lines = _lines(out / "results.jsonl")
    by_id = {line["data_id"]: line for line in lines}
    # Sorted walk; the .bin, the disguised non-image and the empty text are skipped, not errors.
    assert [line["data_id"] for line in lines] == [
        "photos/broken.jpg", "photos/sky.png", "posts/deep/garden.md", "posts/rude.txt",
    ]
    broken = by_id["photos/broken.jpg"]
    assert broken["kind"] == "image" and broken["status"] == 422
    assert "could not decode image" in broken["error"] and "verdict" not in broken
    assert broken["path"] == str(folder / "photos" / "broken.jpg")

    rude = by_id["posts/rude.txt"]
    assert rude["kind"] == "text" and rude["verdict"] == "block"
    assert rude["decision_id"].startswith("dec_")
    assert any(c["name"] == "harassment" and c["flagged"] for c in rude["categories"])
    # Evidence offsets point into the file's text.
    assert PROFANE in [PROFANE[e["start"]:e["end"]] for e in rude["evidence"] if e["type"] == "span"]
    assert by_id["posts/deep/garden.md"]["verdict"] == "pass"
    assert by_id["photos/sky.png"]["verdict"] == "pass" and by_id["photos/sky.png"]["kind"] == "image"

    assert summary.files == 7 and summary.skipped == 3 and summary.errors == 1
    assert summary.verdicts == {"pass": 2, "review": 0, "block": 1}
    assert summary.categories["harassment"] == 1 and set(summary.categories) <= {"harassment", "hate", "profanity"}
    assert summary.kinds == {"image": 1, "text": 2}
    assert summary.policy is not None and summary.policy.id == "default"
    assert summary.results_path == out / "results.jsonl" and summary.report_path == out / "report.html"

    html = summary.report_path.read_text(encoding="utf-8")
    assert f"<mark>{PROFANE}</mark>" in html and "posts/rude.txt" in html
    assert "photos/broken.jpg" in html and "could not decode image" in html
    assert CLEAN not in html  # only flagged content goes in the report
    assert "http://" not in html and "https://" not in html  # self-contained


@pytest.mark.models
def test_text_over_the_limit_is_an_error(scan_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tamis.config.get_settings(), "max_text_chars", 50)
    root = tmp_path / "texts"
    root.mkdir()
    (root / "long.txt").write_text("word " * 40, encoding="utf-8")
    (root / "short.txt").write_text("hello there", encoding="utf-8")
    summary = run_scan(root, tmp_path / "out", store=False, progress=False)
    lines = _lines(summary.results_path)
    assert lines[0]["data_id"] == "long.txt" and lines[0]["status"] == 413 and "limit" in lines[0]["error"]
    assert lines[1]["verdict"] == "pass"
    assert summary.errors == 1 and summary.verdicts["pass"] == 1


@pytest.mark.models
def test_scan_stores_decisions(scan_db: Path, folder: Path, tmp_path: Path) -> None:
    from tamis.store.db import transaction
    from tamis.store.models import Decision

    summary = run_scan(folder, tmp_path / "out", project="scan-test", store=True, progress=False)
    ids = {line["decision_id"] for line in _lines(summary.results_path) if "decision_id" in line}
    with transaction() as session:
        for decision_id in ids:
            assert session.get(Decision, decision_id) is not None


def test_highlight_escapes_and_truncates() -> None:
    text = "a" * 500 + "<b>bad</b>" + "z" * 500
    segments = highlight(text, [(503, 506), (504, 505)], width=100)
    assert ("bad", True) in segments
    assert segments[0] == ("…", False) and segments[-1] == ("…", False)
    assert sum(len(s) for s, marked in segments if s != "…") == 100


def _flagged_image_entry(text_too: bool = True) -> list[ScanEntry]:
    image = Image.linear_gradient("L").convert("RGB").resize((320, 200))
    entries = [
        ScanEntry(
            path="/data/photos/beach <1>.png", kind="image", data_id="photos/beach <1>.png",
            result=ItemResult(
                data_id="photos/beach <1>.png", verdict="block",
                categories=[
                    CategoryResult(name="sexual", score=0.97, flagged=True, analyzers=["nsfw-image@1"]),
                    CategoryResult(name="violence/graphic", score=0.04, flagged=False, analyzers=["image-safety@1"]),
                ],
                evidence=[], analyzers=[], reasons=["sexual score 0.97 reached the block threshold"],
            ),
            decision_id="dec_test", thumbnail=thumbnail_data_uri(image),
        )
    ]
    if text_too:
        entries.append(ScanEntry(
            path="/data/posts/rude.txt", kind="text", data_id="posts/rude.txt", text=PROFANE + " <script>x</script>",
            result=ItemResult(
                data_id="posts/rude.txt", verdict="review",
                categories=[CategoryResult(name="profanity", score=1.0, flagged=True, analyzers=["profanity-text@1"])],
                evidence=[{"type": "span", "start": 10, "end": 17}], analyzers=[],
            ),
            decision_id="dec_test",
        ))
    return entries


def test_render_report_escapes(tmp_path: Path) -> None:
    entries = _flagged_image_entry()
    out = tmp_path / "report.html"
    summary = summarize(entries, directory=tmp_path, results_path=tmp_path / "results.jsonl", report_path=out,
                        policy=PolicyRef(id="default", version=3, shadow=False))
    html = render_report(entries, summary, out).read_text(encoding="utf-8")
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "beach &lt;1&gt;.png" in html
    assert "default version 3" in html
    assert 'src="data:image/jpeg;base64,' in html


# --- in a real browser -------------------------------------------------------------------------


def _chromium() -> str:
    path = os.environ.get("TAMIS_TEST_CHROMIUM", "/usr/bin/chromium")
    if not Path(path).exists():
        if os.environ.get("CI"):
            pytest.fail(f"chromium not found at {path}: CI must run the browser tests")
        pytest.skip(f"chromium not found at {path} (set TAMIS_TEST_CHROMIUM)")
    return path


@pytest.mark.slow
@pytest.mark.browser
def test_report_blurs_images_until_clicked(tmp_path: Path) -> None:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    entries = _flagged_image_entry()
    out = tmp_path / "report.html"
    summary = summarize(entries, directory=tmp_path, results_path=tmp_path / "results.jsonl", report_path=out,
                        policy=PolicyRef(id="default", version=3, shadow=False))
    render_report(entries, summary, out)

    def blur_of(page) -> str:  # type: ignore[no-untyped-def]
        return page.eval_on_selector("button.thumb img", "img => getComputedStyle(img).filter")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(out.as_uri())
            button = page.locator("button.thumb")
            assert button.count() == 1
            assert "blur" in blur_of(page)
            assert button.get_attribute("aria-pressed") == "false"
            assert page.locator("button.thumb img").get_attribute("alt")
            # The image really decoded (a data: URI, no network).
            assert page.eval_on_selector("button.thumb img", "img => img.complete && img.naturalWidth") == 160

            button.click()
            assert blur_of(page) == "none"
            assert button.get_attribute("aria-pressed") == "true"
            button.click()
            assert "blur" in blur_of(page)
            # Keyboard works too: it is a real button.
            button.focus()
            page.keyboard.press("Enter")
            assert blur_of(page) == "none"

            assert page.locator("mark").first.inner_text() == "fucking"
            assert all(url.startswith(("file:", "data:")) for url in requests), requests
        finally:
            browser.close()
