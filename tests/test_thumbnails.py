"""Reviewer-safe thumbnails: blurred, stored with their decision (and only then), served per project,
and purged after the media retention period."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import func, select, update

from tamis import config
from tamis.services.retention import MediaRetentionLoop, purge_media
from tamis.media.thumbnails import blurred_thumbnail
from tamis.store.db import session_factory, transaction
from tamis.store.models import ItemMedia

FIXTURES = Path(__file__).parent / "fixtures" / "benign"


def laplacian_variance(image: Image.Image) -> float:
    """Variance of the Laplacian of the grey image: the usual measure of focus (high = sharp detail)."""
    grey = np.asarray(image.convert("L"), dtype=np.float64)
    lap = grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4 * grey[1:-1, 1:-1]
    return float(lap.var())


def text_image() -> Image.Image:
    """Black words on white: the hardest content to hide, and the easiest to check."""
    im = Image.new("RGB", (400, 300), "white")
    draw = ImageDraw.Draw(im)
    for row in range(8):
        draw.text((10, 10 + row * 35), "READ ME IF YOU CAN 0123456789", fill="black", font_size=28)
    return im


def png(im: Image.Image) -> str:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def moderate(client, auth: dict[str, str], *items: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.post("/v1/moderate", json={"items": list(items)}, headers=auth)


def media_rows(project: str) -> list[ItemMedia]:
    with transaction() as session:
        return list(session.scalars(select(ItemMedia).where(ItemMedia.project_id == project)))


def thumb_url(decision_id: str, data_id: str) -> str:
    return f"/v1/decisions/{decision_id}/items/{data_id}/thumbnail"


# --- the blur -----------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["photo", "text"])
def test_thumbnail_is_small_and_blurred(source: str) -> None:
    image = Image.open(FIXTURES / "astronaut.jpg").convert("RGB") if source == "photo" else text_image()
    data, width, height = blurred_thumbnail(image, 256)
    thumb = Image.open(io.BytesIO(data))
    assert thumb.format == "JPEG" and thumb.size == (width, height) and max(width, height) == 256
    # Against a sharp thumbnail of the same size, the blur leaves under 1% of the fine detail.
    sharp = image.copy()
    sharp.thumbnail((256, 256))
    assert laplacian_variance(thumb) < 0.01 * laplacian_variance(sharp), (laplacian_variance(thumb), laplacian_variance(sharp))
    # ... while the overall colours stay (a reviewer sees roughly what kind of picture it is).
    assert abs(np.asarray(thumb).mean() - np.asarray(sharp).mean()) < 10


def test_thumbnail_never_upscales() -> None:
    data, width, height = blurred_thumbnail(Image.new("RGB", (40, 30), "red"), 256)
    assert (width, height) == (40, 30)


# --- stored with the decision --------------------------------------------------------------------


@pytest.mark.models
def test_each_image_item_gets_a_thumbnail_served_per_project(client, project: str, auth: dict[str, str]) -> None:
    response = moderate(
        client, auth,
        {"data_id": "post/1", "image_base64": png(text_image())},
        {"data_id": "text-only", "text": "hello there"},
        {"data_id": "both", "text": "a caption", "image_base64": png(Image.new("RGB", (300, 600), (20, 90, 200)))},
    )
    assert response.status_code == 200, response.text
    decision = response.json()["id"]
    rows = [r for r in media_rows(project) if r.kind == "thumbnail"]
    assert sorted((r.data_id, r.kind, r.decision_id) for r in rows) == [("both", "thumbnail", decision), ("post/1", "thumbnail", decision)]
    # A sharp review copy too, for the image items a person may judge (not a pass), never through this API.
    flagged = {r["data_id"] for r in response.json()["results"] if r["verdict"] != "pass"} - {"text-only"}
    assert {r.data_id for r in media_rows(project) if r.kind == "sharp"} == flagged

    got = client.get(thumb_url(decision, "post/1"), headers=auth)
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    thumb = Image.open(io.BytesIO(got.content))
    assert thumb.size == (256, 192)
    assert laplacian_variance(thumb) < 0.01 * laplacian_variance(text_image().resize((256, 192)))
    assert Image.open(io.BytesIO(client.get(thumb_url(decision, "both"), headers=auth).content)).size == (128, 256)

    missing = client.get(thumb_url(decision, "text-only"), headers=auth)
    assert missing.status_code == 404 and "text-only" in missing.json()["detail"]
    unknown = client.get(thumb_url("dec_nope", "post/1"), headers=auth)
    assert unknown.status_code == 404 and "dec_nope" in unknown.json()["detail"]


@pytest.mark.models
def test_another_project_cannot_read_a_thumbnail(client, auth: dict[str, str]) -> None:
    from tamis.store import queries

    decision = moderate(client, auth, {"data_id": "p", "image_base64": png(text_image())}).json()["id"]
    with transaction() as session:
        _, other = queries.create_key(session, "proj-other-thumbs")
    response = client.get(thumb_url(decision, "p"), headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 404
    assert client.get(thumb_url(decision, "p")).status_code == 401


@pytest.mark.models
def test_nothing_is_stored_without_store(project: str) -> None:
    from tamis.schema import Item
    from tamis.media import decode_image
    from tamis.services.moderation import moderate as run_pipeline

    image = decode_image(base64.b64decode(png(text_image())), field="f")
    run_pipeline(project, [Item("x", image=image)], store=False)
    assert media_rows(project) == []
    run_pipeline(project, [Item("x", image=image)], store=True)
    assert [r.kind for r in media_rows(project) if r.kind == "thumbnail"] == ["thumbnail"]


def test_nothing_is_stored_on_a_4xx(client, project: str, auth: dict[str, str]) -> None:
    response = moderate(
        client, auth,
        {"data_id": "good", "image_base64": png(text_image())},
        {"data_id": "bad", "image_base64": base64.b64encode(b"%PDF-1.7 not an image").decode()},
    )
    assert response.status_code == 415, response.text
    assert media_rows(project) == []


# --- retention ---------------------------------------------------------------------------------


def backdate(project: str, days: float) -> None:
    with transaction() as session:
        session.execute(
            update(ItemMedia).where(ItemMedia.project_id == project)
            .values(created_at=datetime.now(UTC) - timedelta(days=days))
        )


@pytest.mark.models
def test_purge_deletes_only_media_past_retention(client, project: str, auth: dict[str, str]) -> None:
    old = moderate(client, auth, {"data_id": "old", "image_base64": png(text_image())}).json()["id"]
    backdate(project, 91)
    new = moderate(client, auth, {"data_id": "new", "image_base64": png(text_image())}).json()["id"]
    assert {r.data_id for r in media_rows(project)} == {"old", "new"}

    assert purge_media(session_factory(), 0) == 0  # 0 keeps media forever
    while purge_media(session_factory(), 90):
        pass
    assert {r.data_id for r in media_rows(project)} == {"new"}
    # The decision stays: it is the record; only its media is gone.
    assert client.get(f"/v1/decisions/{old}", headers=auth).status_code == 200
    assert client.get(thumb_url(old, "old"), headers=auth).status_code == 404
    assert client.get(thumb_url(new, "new"), headers=auth).status_code == 200


@pytest.mark.models
def test_purge_works_in_batches(client, project: str, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tamis.services import retention

    items = [{"data_id": f"i{i}", "image_base64": png(Image.new("RGB", (32, 32), (i * 30, 0, 0)))} for i in range(7)]
    assert moderate(client, auth, *items).status_code == 200
    backdate(project, 400)
    monkeypatch.setattr(retention, "PURGE_BATCH", 3)
    counts = []
    while count := purge_media(session_factory(), 365):
        counts.append(count)
    assert sum(counts) >= 7 and max(counts) <= 3  # other tests' old rows may go too
    assert media_rows(project) == []


@pytest.mark.models
def test_retention_loop_purges_in_the_background(client, project: str, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    moderate(client, auth, {"data_id": "old", "image_base64": png(text_image())})
    backdate(project, 10)
    settings = config.get_settings().model_copy(update={"media_retention_days": 7})
    loop = MediaRetentionLoop(session_factory(), settings, poll_s=0.05)
    loop.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while media_rows(project) and datetime.now(UTC) < deadline:
            loop._stop.wait(0.05)
    finally:
        loop.stop()
    assert media_rows(project) == []


@pytest.mark.models
def test_item_media_count_matches_image_items(client, project: str, auth: dict[str, str]) -> None:
    items = [{"data_id": f"i{i}", "image_base64": png(Image.new("RGB", (64, 64), (i * 20, 0, 0)))} for i in range(5)]
    assert moderate(client, auth, *items).status_code == 200
    with transaction() as session:
        count = session.scalar(select(func.count()).select_from(ItemMedia).where(ItemMedia.project_id == project))
    assert count == 5
