"""The case view's evidence and the wellness settings over HTTP (TestClient on https://): bbox
evidence drawn over the blurred thumbnail, a video's kept frames and flagged time ranges (stored,
served per case, purged with media retention), flagged words masked (not whole sentences) until
revealed, per-category hiding set by admins and by each reviewer, and the refusals around them."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from sqlalchemy import select

from review_helpers import add_reviewer, review_everything_flagged
from test_review_web import claim, csrf_of, sign_in
from test_thumbnails import laplacian_variance
from tamis.media.images import decode_image
from tamis.media.thumbnails import item_thumbnails
from tamis.schema import CategoryResult, DecisionDoc, Item, ItemResult, PolicyRef, new_id
from tamis.services import moderation
from tamis.services.retention import purge_media
from tamis.store import queries
from tamis.store.db import session_factory, transaction
from tamis.store.models import ItemMedia, ReviewEvent

pytestmark = pytest.mark.slow

TEXT = "Nice weather today. You are an idiot and a moron, honestly."
IDIOT = (TEXT.index("idiot"), TEXT.index("idiot") + len("idiot"))


def _png(size: tuple[int, int] = (640, 480)) -> bytes:
    image = Image.new("RGB", size, (40, 120, 200))
    ImageDraw.Draw(image).rectangle((320, 240, 480, 360), fill=(250, 250, 250))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def record_case(project: str, *, evidence: list[dict[str, Any]], text: str | None = None, image: bytes | None = None,
                category: str = "harassment") -> str:
    """A decision sent to review, stored through the pipeline's own record() with its thumbnails."""
    item = Item("post-1", text=text, image=decode_image(image, field="image") if image else None)
    result = ItemResult.model_validate({
        "data_id": "post-1", "verdict": "review", "analyzers": [], "evidence": evidence,
        "categories": [CategoryResult(name=category, score=0.9, flagged=True, analyzers=["text-model@1"]).model_dump()]})
    doc = DecisionDoc(id=new_id("dec"), project=project, policy=PolicyRef(id="default", version=0, shadow=False),
                      created_at=datetime.now(UTC).isoformat(), results=[result])
    thumbnails = item_thumbnails([item])
    with transaction() as session:
        queries.ensure_project(session, project)
        moderation.record(session, doc, shadow=False, source="api", items=[item])
        queries.save_thumbnails(session, doc, thumbnails)
    return doc.id


@pytest.fixture
def browser(app) -> Any:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def test_bbox_evidence_is_drawn_over_the_blurred_thumbnail_in_the_originals_pixels(browser: TestClient, project: str) -> None:
    record_case(project, image=_png(), evidence=[
        {"type": "bbox", "x": 320, "y": 240, "w": 160, "h": 120, "label": "text", "category": "harassment", "text": "SECRET SLUR"}])
    with transaction() as session:
        (row,) = session.scalars(select(ItemMedia).where(ItemMedia.project_id == project)).all()
        assert (row.kind, row.source_width, row.source_height) == ("thumbnail", 640, 480) and row.width <= 256
    sign_in(browser, add_reviewer(project))
    page = browser.get(claim(browser, project)).text
    assert '<svg class="boxes" viewBox="0 0 640 480"' in page
    assert '<rect x="320" y="240" width="160" height="120" data-label="harassment"' in page
    assert "SECRET SLUR" not in page  # the words read in a box are not shown beside it
    assert re.search(r'<img id="case-image" class="wellness"', page)  # blurred until revealed
    assert "<video" not in page and "<audio" not in page and "autoplay" not in page


def test_words_of_term_lists_and_profanity_are_masked_not_whole_sentences(browser: TestClient, project: str) -> None:
    sentence = (TEXT.index("You"), len(TEXT))
    record_case(project, text=TEXT, evidence=[
        {"type": "span", "start": sentence[0], "end": sentence[1], "category": "harassment", "analyzer": "text-model"},
        {"type": "list", "list": "insults", "entry": "idiot", "start": IDIOT[0], "end": IDIOT[1], "category": "harassment"},
        {"type": "span", "start": TEXT.index("moron"), "end": TEXT.index("moron") + 5, "category": "profanity",
         "analyzer": "profanity-text"}])
    name = add_reviewer(project)
    sign_in(browser, name)
    url = claim(browser, project)
    page = browser.get(url).text
    masked = re.findall(r'<mark [^>]*class="masked" data-word[^>]*>([^<]*)</mark>', page)
    assert len(masked) == 2 and "idiot" not in page and "moron" not in page  # not in the page at all until revealed
    assert re.search(r'<mark title="harassment" data-categories="harassment">You are an </mark>', page)
    assert 'id="reveal-words"' in page
    # The reveal answers the words (not the sentence the text model flagged), audited and counted like a media reveal.
    revealed = browser.post(url + "/reveal/words", data={"csrf": csrf_of(page)})
    assert revealed.status_code == 200 and revealed.json() == {"words": ["idiot", "moron"]}
    assert browser.post(url + "/reveal", data={"csrf": csrf_of(page), "what": "everything"}).status_code == 422
    with transaction() as session:
        (event,) = session.scalars(select(ReviewEvent).where(ReviewEvent.project_id == project, ReviewEvent.kind == "reveal")).all()
        assert (event.actor, event.detail) == (name, {"what": "words", "n": 2})
    # A reviewer who shows profanity for themselves sees "moron"; "idiot" (harassment) stays masked.
    settings = browser.get(f"/review/p/{project}/wellness")
    assert settings.status_code == 200
    saved = browser.post(f"/review/p/{project}/wellness", data={"csrf": csrf_of(settings.text), "hide.profanity": "show"})
    assert saved.status_code == 200
    page = browser.get(url).text
    assert "moron" in page and "idiot" not in page and len(re.findall(r'class="masked" data-word', page)) == 1
    assert browser.post(url + "/reveal/words", data={"csrf": csrf_of(page)}).json() == {"words": ["idiot"]}


def test_admin_defaults_per_category_and_each_reviewers_own_choice(app, project: str) -> None:  # type: ignore[no-untyped-def]
    record_case(project, image=_png(), evidence=[], category="spam")
    admin, reviewer = add_reviewer(project, "admin"), add_reviewer(project)
    with TestClient(app, base_url="https://testserver") as lea, TestClient(app, base_url="https://testserver") as ana:
        sign_in(ana, reviewer)
        url = claim(ana, project)
        assert '<img id="case-image" class="wellness"' in ana.get(url).text  # hidden by default
        sign_in(lea, admin)
        form = lea.get(f"/review/p/{project}/wellness")
        assert 'id="wellness-defaults"' in form.text
        assert lea.post(f"/review/p/{project}/wellness/defaults", data={"csrf": csrf_of(form.text), "hide.spam": "show"}).status_code == 200
        page = ana.get(url).text
        assert '<img id="case-image" class=""' in page and "do not blur spam" in page  # the project's default now
        own = ana.get(f"/review/p/{project}/wellness")
        assert 'id="wellness-defaults"' not in own.text  # not offered to a reviewer...
        refused = ana.post(f"/review/p/{project}/wellness/defaults", data={"csrf": csrf_of(own.text), "hide.spam": "hide"})
        assert refused.status_code == 403  # ...and refused by the server
        assert ana.post(f"/review/p/{project}/wellness", data={"csrf": csrf_of(own.text), "hide.spam": "hide"}).status_code == 200
        assert '<img id="case-image" class="wellness"' in ana.get(url).text  # the reviewer's own choice wins
    with transaction() as session:
        kinds = [(e.kind, e.actor, e.detail) for e in session.scalars(
            select(ReviewEvent).where(ReviewEvent.project_id == project).order_by(ReviewEvent.id))]
    assert ("wellness_defaults", admin, {"hidden": {"spam": False}}) in kinds
    assert ("wellness_own", reviewer, {"hidden": {"spam": True}}) in kinds
    # The page shown unblurred by the settings counts as an exposure, audited as a reveal "by settings".
    assert ("reveal", reviewer, {"what": "media", "by": "settings"}) in kinds


def test_hostile_wellness_forms_are_refused(app, project: str) -> None:  # type: ignore[no-untyped-def]
    record_case(project, text=TEXT, evidence=[])
    with TestClient(app, base_url="https://testserver") as browser, TestClient(app, base_url="https://testserver") as stranger:
        sign_in(browser, add_reviewer(project, "admin"))
        token = csrf_of(browser.get(f"/review/p/{project}/wellness").text)
        for path in ("wellness", "wellness/defaults"):
            url = f"/review/p/{project}/{path}"
            for bad in ({"hide.politics": "hide"}, {"hide.spam": "maybe"}, {"other": "1"}, {"hide.spam": "x" * 20_000}):
                answer = browser.post(url, data={"csrf": token, **bad})
                assert answer.status_code in (400, 422), (path, bad, answer.status_code)
            too_many = {f"hide.{i}": "hide" for i in range(40)}
            assert browser.post(url, data={"csrf": token, **too_many}).status_code == 400
            assert browser.post(url, data={"hide.spam": "show"}).status_code == 403  # no CSRF token
            assert browser.post(url, data={"csrf": token, "hide.spam": "show"}, headers={"origin": "https://evil.example"}).status_code == 403
        # Another project's reviewer learns nothing and changes nothing.
        sign_in(stranger, add_reviewer(f"{project}-x", "admin"))
        other = csrf_of(stranger.get("/review").text)
        assert stranger.get(f"/review/p/{project}/wellness").status_code == 404
        assert stranger.post(f"/review/p/{project}/wellness/defaults", data={"csrf": other, "hide.spam": "show"}).status_code == 404
    with transaction() as session:
        assert not session.scalars(select(ReviewEvent).where(ReviewEvent.project_id == project,
                                                             ReviewEvent.kind.in_(("wellness_own", "wellness_defaults")))).all()


@pytest.mark.models
def test_a_video_case_shows_its_flagged_frames_and_time_ranges_which_retention_deletes(app, client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    from test_video import SIZE, queue_video
    from tamis.hashing import pdq
    from tamis.services.jobs import run_due
    from video_maker import encode, fitted, photo

    cat, coffee = photo("chelsea.jpg"), photo("coffee.jpg")
    review_everything_flagged(project)  # a bank match scores 1.0: without block thresholds it is reviewed
    bank = client.post("/v1/banks", headers=auth, json={"name": "gore", "category": "violence/graphic", "action": "review"})
    assert bank.status_code == 201, bank.text
    entry = {"signal": "pdq", "value": pdq.pdq_hash(fitted(cat, SIZE)).hex, "label": "still"}
    assert client.post("/v1/banks/gore/entries", headers=auth, json=[entry]).status_code == 200
    queue_video(project, encode([(3, coffee), (3.5, cat), (3.5, coffee)]), data_id="clip-7")
    run_due(session_factory())
    with transaction() as session:
        frames = session.scalars(select(ItemMedia).where(ItemMedia.project_id == project).order_by(ItemMedia.t_ms)).all()
        kept = [(f.kind, f.t_ms, f.data_id, f.content_type) for f in frames if f.kind == "frame"]
        ids = [f.id for f in frames if f.kind == "frame"]
        sharp = {f.t_ms: f for f in frames if f.kind == "sharp_frame"}
        everything = [f.id for f in frames]
    assert kept and all(k == ("frame", t, "clip-7", "image/jpeg") for k, (_, t, _, _) in zip(kept, kept))
    assert sorted(sharp) == [t for _, t, _, _ in kept]  # each kept frame also sharp, for reviewers who reveal it
    assert all(3000 <= t <= 6000 for _, t, _, _ in kept)  # flagged frames only: the banked picture's stretch
    with TestClient(app, base_url="https://testserver") as browser:
        sign_in(browser, add_reviewer(project))
        url = claim(browser, project)
        page = browser.get(url).text
        assert 'id="timeline"' in page and 'data-category="violence/graphic"' in page and "0:03.0–0:06.0 · violence/graphic" in page
        assert page.count('data-media data-t="') == len(ids) and "<video" not in page and "<audio" not in page
        served = browser.get(f"{url}/frames/{ids[0]}")
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(served.content)).size[0] <= 256  # the blurred copy, never the frame itself
        for bad in ("999999999", "abc", "1" * 40, "-1", str(sharp[kept[0][1]].id)):  # a sharp copy: only by an audited reveal
            assert browser.get(f"{url}/frames/{bad}").status_code == 404
        first = sharp[kept[0][1]]
        assert f'data-sharp="{url}/reveal/media/{first.id}"' in page
        revealed = browser.post(f"{url}/reveal/media/{first.id}", data={"csrf": csrf_of(page)})
        assert revealed.status_code == 200 and revealed.headers["cache-control"] == "no-store"
        assert Image.open(io.BytesIO(revealed.content)).size == (first.width, first.height) and first.width > 256
        assert laplacian_variance(Image.open(io.BytesIO(revealed.content))) > 5 * laplacian_variance(
            Image.open(io.BytesIO(served.content)).resize((first.width, first.height)))
    with transaction() as session:
        events = [e.detail for e in session.scalars(select(ReviewEvent).where(ReviewEvent.project_id == project,
                                                                              ReviewEvent.kind == "reveal"))]
    assert events == [{"what": "frame", "media": first.id, "t_ms": first.t_ms}]
    # Frames and their sharp copies follow TAMIS_MEDIA_RETENTION_DAYS like thumbnails.
    assert purge_media(session_factory(), 1, now=datetime.now(UTC) + timedelta(days=2)) >= len(everything)
    with transaction() as session:
        assert not session.scalars(select(ItemMedia).where(ItemMedia.id.in_(everything))).all()


def test_a_frame_of_another_case_is_not_served(app, project: str) -> None:  # type: ignore[no-untyped-def]
    record_case(project, text=TEXT, evidence=[])
    other = record_case(f"{project}-o", image=_png(), evidence=[])
    with transaction() as session:
        theirs = session.scalar(select(ItemMedia.id).where(ItemMedia.decision_id == other))
    with TestClient(app, base_url="https://testserver") as browser:
        sign_in(browser, add_reviewer(project))
        url = claim(browser, project)
        assert browser.get(f"{url}/frames/{theirs}").status_code == 404  # another project's media id
        assert browser.get(f"{url}/image").status_code == 404  # this case has no image
