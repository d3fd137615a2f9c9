"""Revealing a case's hidden content over HTTP (TestClient on https://): the sharp review copy kept
for items that may reach a person (upright, size-capped, no EXIF), served only through an audited
POST to the project's reviewers (never cached, never to another project), purged with media
retention; masked words kept out of the page until an audited reveal answers them."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select, update

from review_helpers import add_reviewer, review_everything_flagged
from test_review_web import claim, csrf_of, sign_in
from test_thumbnails import laplacian_variance
from tamis import config
from tamis.services.retention import purge_media
from tamis.store.db import session_factory, transaction
from tamis.store.models import ItemMedia, ReviewEvent

pytestmark = [pytest.mark.slow, pytest.mark.models]

TEXT = "look at this, you idiot"
WIDTH, HEIGHT = 1600, 1200  # stored sideways: EXIF orientation 6 turns it upright (1200 x 1600)


def _detailed_jpeg() -> bytes:
    """Fine detail (noise over stripes) that a blur destroys, with EXIF that must not survive."""
    rng = np.random.default_rng(7)
    stripes = ((np.arange(WIDTH) // 4) % 2 * 160)[None, :].repeat(HEIGHT, axis=0)
    pixels = np.clip(stripes[..., None] + rng.integers(0, 90, (HEIGHT, WIDTH, 3)), 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to show
    exif[0x010F] = "SecretCam Maker"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # GPS
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def web(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver") as client:
        yield client


@pytest.fixture
def image_case(client, auth, project: str) -> str:  # type: ignore[no-untyped-def]
    """A project with one review case: a term-list insult and a detailed photo."""
    review_everything_flagged(project, terms=["idiot"])
    sent = client.post("/v1/moderate", headers=auth, json={"items": [
        {"data_id": "post-1", "text": TEXT, "image_base64": base64.b64encode(_detailed_jpeg()).decode()}]})
    assert sent.status_code == 200 and sent.json()["results"][0]["verdict"] == "review", sent.text
    return project


def _sharp_url(page: str) -> str:
    found = re.search(r'id="case-image"[^>]*data-sharp="([^"]+)"', page, re.S)
    assert found, page
    return found.group(1)


def _media(project: str) -> dict[str, ItemMedia]:
    with transaction() as session:
        return {m.kind: m for m in session.scalars(select(ItemMedia).where(ItemMedia.project_id == project))}


def _reveals(project: str) -> list[dict[str, Any]]:
    with transaction() as session:
        return [e.detail for e in session.scalars(select(ReviewEvent).where(
            ReviewEvent.project_id == project, ReviewEvent.kind == "reveal").order_by(ReviewEvent.id))]


def test_a_review_item_keeps_a_sharp_upright_capped_copy_without_exif(image_case: str) -> None:
    media = _media(image_case)
    assert set(media) == {"thumbnail", "sharp"}
    sharp = Image.open(io.BytesIO(media["sharp"].data))
    blurred = Image.open(io.BytesIO(media["thumbnail"].data))
    assert sharp.format == "JPEG" and max(sharp.size) == config.get_settings().review_sharp_px
    assert sharp.width < sharp.height  # turned upright as the EXIF orientation says
    assert (media["sharp"].width, media["sharp"].height) == sharp.size
    assert (media["sharp"].source_width, media["sharp"].source_height) == (HEIGHT, WIDTH)
    assert len(sharp.getexif()) == 0 and b"SecretCam" not in media["sharp"].data and "icc_profile" not in sharp.info
    # The detail a blur removes is there: far more edge energy at any size.
    assert laplacian_variance(sharp) > 20 * laplacian_variance(blurred.resize(sharp.size))


def test_revealing_serves_the_sharp_copy_after_auditing_it(web: TestClient, image_case: str) -> None:
    name = add_reviewer(image_case)
    sign_in(web, name)
    page = web.get(claim(web, image_case)).text
    url = _sharp_url(page)
    assert b"SecretCam" not in web.get(url.split("/reveal/")[0] + "/image").content  # the blurred one stays the default src
    assert _reveals(image_case) == []  # loading the page revealed nothing
    answer = web.post(url, data={"csrf": csrf_of(page)})
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.content == _media(image_case)["sharp"].data
    (event,) = _reveals(image_case)
    assert event == {"what": "image", "media": _media(image_case)["sharp"].id}
    assert "1 media revealed" in web.get("/review").text  # today's exposure counts it


def test_no_picture_is_served_when_the_reveal_cannot_be_audited(app, image_case: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from tamis.web import review_media

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the audit log is unavailable")

    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as web:
        sign_in(web, add_reviewer(image_case))
        page = web.get(claim(web, image_case)).text
        monkeypatch.setattr(review_media.audit, "log", broken)
        answer = web.post(_sharp_url(page), data={"csrf": csrf_of(page)})
    assert answer.status_code == 500 and _media(image_case)["sharp"].data not in answer.content


def test_the_sharp_copy_is_refused_to_everyone_else(app, image_case: str) -> None:  # type: ignore[no-untyped-def]
    other = image_case + "-other"
    review_everything_flagged(other)
    with TestClient(app, base_url="https://testserver") as owner, TestClient(app, base_url="https://testserver") as stranger, \
            TestClient(app, base_url="https://testserver") as nobody:
        sign_in(owner, add_reviewer(image_case))
        case_url = claim(owner, image_case)
        page = owner.get(case_url).text
        url, token = _sharp_url(page), csrf_of(page)
        sign_in(stranger, add_reviewer(other, "admin"))
        theirs = csrf_of(stranger.get("/review").text)
        assert stranger.post(url, data={"csrf": theirs}).status_code == 404  # another project's reviewer, even an admin
        media_id = url.rsplit("/", 1)[1]
        # Their own project's path with this project's media id (a case id they cannot have either).
        assert stranger.post(f"/review/p/{other}/cases/{case_url.rsplit('/', 1)[1]}/reveal/media/{media_id}",
                             data={"csrf": theirs}).status_code == 404
        assert nobody.post(url, data={"csrf": token}, follow_redirects=False).headers["location"] == "/review/login"
        assert owner.post(url, data={"csrf": "forged"}).status_code == 403
        assert owner.post(url, data={}).status_code == 403
        assert owner.post(url, data={"csrf": token}, headers={"Origin": "https://evil.example"}).status_code == 403
        blurred_id = str(_media(image_case)["thumbnail"].id)  # a real media id of the case, but not a sharp copy
        for bad in (blurred_id, "0", "-1", "1e3", "9" * 40, "%00", "abc"):
            assert owner.post(url.rsplit("/", 1)[0] + "/" + bad, data={"csrf": token}).status_code == 404, bad
        assert owner.post(f"/review/p/{image_case}/cases/case_nope/reveal/media/{media_id}", data={"csrf": token}).status_code == 404
        assert owner.get(url).status_code == 405  # never by a plain GET (an <img> elsewhere cannot reveal it)
        assert owner.post(url, data={"csrf": token, "pad": "x" * 20_000}).status_code in (400, 413)  # oversized form
    assert _reveals(image_case) == []  # no refusal was recorded as a reveal


def test_media_retention_deletes_the_sharp_copy(web: TestClient, image_case: str) -> None:
    sign_in(web, add_reviewer(image_case))
    page = web.get(claim(web, image_case)).text
    with transaction() as session:
        session.execute(update(ItemMedia).where(ItemMedia.project_id == image_case)
                        .values(created_at=datetime.now(UTC) - timedelta(days=91)))
    while purge_media(session_factory(), 90):
        pass
    assert _media(image_case) == {}
    assert web.post(_sharp_url(page), data={"csrf": csrf_of(page)}).status_code == 404


def test_no_sharp_copy_of_a_pass_or_when_turned_off(client, auth, project: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    review_everything_flagged(project, terms=["idiot"])
    jpeg = base64.b64encode(_detailed_jpeg()).decode()
    sent = client.post("/v1/moderate", headers=auth, json={"items": [
        {"data_id": "fine", "text": "a photo of my garden", "image_base64": jpeg}]})
    assert sent.json()["results"][0]["verdict"] == "pass"
    assert set(_media(project)) == {"thumbnail"}
    monkeypatch.setenv("TAMIS_REVIEW_SHARP_MEDIA", "none")
    config.get_settings.cache_clear()
    try:
        sent = client.post("/v1/moderate", headers=auth, json={"items": [{"data_id": "bad", "text": TEXT, "image_base64": jpeg}]})
        assert sent.json()["results"][0]["verdict"] == "review"
    finally:
        monkeypatch.delenv("TAMIS_REVIEW_SHARP_MEDIA")
        config.get_settings.cache_clear()
    with transaction() as session:
        kinds = session.scalars(select(ItemMedia.kind).where(ItemMedia.project_id == project)).all()
    assert sorted(kinds) == ["thumbnail", "thumbnail"]


def test_masked_words_are_not_in_the_page_until_an_audited_reveal(app, image_case: str) -> None:  # type: ignore[no-untyped-def]
    other = image_case + "-w"
    review_everything_flagged(other)
    with TestClient(app, base_url="https://testserver") as web, TestClient(app, base_url="https://testserver") as stranger:
        sign_in(web, add_reviewer(image_case))
        case_url = claim(web, image_case)
        page = web.get(case_url).text
        assert "idiot" not in page and re.search(r'<mark [^>]*class="masked" data-word[^>]*>\W+</mark>', page)
        token = csrf_of(page)
        words = case_url + "/reveal/words"
        assert web.post(words, data={"csrf": "forged"}).status_code == 403
        sign_in(stranger, add_reviewer(other))
        theirs = csrf_of(stranger.get("/review").text)
        assert stranger.post(words, data={"csrf": theirs}).status_code == 404
        their_path = f"/review/p/{other}/cases/{case_url.rsplit('/', 1)[1]}/reveal/words"  # this case's id in their project
        assert stranger.post(their_path, data={"csrf": theirs}).status_code == 404
        with TestClient(app, base_url="https://testserver") as nobody:
            assert nobody.post(words, data={"csrf": token}, follow_redirects=False).headers["location"] == "/review/login"
        assert _reveals(image_case) == []
        answer = web.post(words, data={"csrf": token})
        assert answer.status_code == 200 and answer.json() == {"words": ["idiot"]}
        assert answer.headers["cache-control"] == "no-store"
        assert _reveals(image_case) == [{"what": "words", "n": 1}]
        assert web.post(f"/review/p/{image_case}/cases/case_nope/reveal/words", data={"csrf": token}).status_code == 404


def test_an_image_blocked_by_a_bank_match_keeps_no_sharp_copy(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    """Known material matched by hash is blocked, with its blurred thumbnail, and never kept sharp."""
    photo = _detailed_jpeg()
    md5 = hashlib.md5(photo).hexdigest()
    assert client.post("/v1/banks", headers=auth, json={"name": "known", "action": "block"}).status_code == 201
    added = client.post("/v1/banks/known/entries", headers=auth, json=[{"signal": "md5", "value": md5}])
    assert added.status_code == 200, added.text
    sent = client.post("/v1/moderate", headers=auth, json={"items": [
        {"data_id": "known-1", "image_base64": base64.b64encode(photo).decode()}]})
    assert sent.json()["results"][0]["verdict"] == "block", sent.text
    kinds = set(_media(project))
    assert "thumbnail" in kinds and "sharp" not in kinds, kinds


def test_items_flagged_in_a_withheld_category_are_never_kept_sharp(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tamis.schema import BankMatchEvidence, CategoryResult, ItemResult
    from tamis.services import review_media

    def result(category: str, flagged: bool, evidence: list[Any] | None = None, verdict: str = "block") -> ItemResult:
        return ItemResult(data_id="x", verdict=verdict, categories=[CategoryResult(name=category, score=0.9, flagged=flagged,
                          analyzers=["a"])], evidence=evidence or [], analyzers=[])

    assert review_media.wanted(result("violence/graphic", True), opened_case=False)
    assert not review_media.wanted(result("sexual/minors", True), opened_case=False)
    assert review_media.wanted(result("sexual/minors", False), opened_case=False)  # not flagged: not withheld
    shadow = BankMatchEvidence(bank="b", entry="e", signal="pdq", distance=0, shadow=True)
    acting = BankMatchEvidence(bank="b", entry="e", signal="pdq", distance=0)
    assert review_media.wanted(result("violence/graphic", True, [shadow]), opened_case=False)
    assert not review_media.wanted(result("violence/graphic", True, [acting]), opened_case=False)
    assert review_media.wanted(result("violence/graphic", True, [acting], "review"), opened_case=False)  # a person judges it
    monkeypatch.setenv("TAMIS_REVIEW_SHARP_WITHHELD", "[]")
    config.get_settings.cache_clear()
    try:
        assert review_media.wanted(result("sexual/minors", True, [acting]), opened_case=False)
    finally:
        monkeypatch.delenv("TAMIS_REVIEW_SHARP_WITHHELD")
        config.get_settings.cache_clear()
