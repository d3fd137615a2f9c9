"""Reviewer-safe thumbnails: a small, strongly blurred JPEG of each image a decision judged.

Reviewers see these first and open the original only when they choose to: content is sensitive.
tamis never stores the original image, only this thumbnail (and, for items a person may judge, a
size-capped sharp copy without metadata: tamis.media.review_copies), in `item_media` (tamis.store.queries),
written in the decision's own transaction and deleted after TAMIS_MEDIA_RETENTION_DAYS
(tamis.services.retention).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageFilter
from tamis.config import get_settings
from tamis.schema import Item

CONTENT_TYPE = "image/jpeg"
# Blur radius as a fraction of the thumbnail's longest side: at 1/16 (16 px at 256 px) shapes and
# colours survive, faces, bodies and words do not (tests hold the loss of detail to a figure).
BLUR_FRACTION = 1 / 16
_MIN_SIDE = 16
_QUALITY = 70  # the image is a blur: higher quality only costs bytes


@dataclass
class Thumbnail:
    data_id: str
    data: bytes
    width: int
    height: int
    source_width: int | None = None  # the original's size: evidence boxes are in its pixels
    source_height: int | None = None
    t_ms: int | None = None  # a video frame's time
    sharp: bool = False  # a sharp review copy (tamis.media.review_copies), not a blurred thumbnail


def blurred_thumbnail(image: Image.Image, size: int | None = None) -> tuple[bytes, int, int]:
    """A blurred JPEG of `image` (longest side `size`, default TAMIS_THUMBNAIL_PX; never upscaled):
    (bytes, width, height)."""
    size = max(_MIN_SIDE, size or get_settings().thumbnail_px)
    thumb = image.convert("RGB")  # a copy: thumbnail() works in place
    thumb.thumbnail((size, size), Image.Resampling.BILINEAR)
    radius = max(2.0, max(thumb.size) * BLUR_FRACTION)
    thumb = thumb.filter(ImageFilter.GaussianBlur(radius))
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=_QUALITY, optimize=True)
    return out.getvalue(), thumb.width, thumb.height


def item_thumbnails(items: Sequence[Item]) -> list[Thumbnail]:
    """One thumbnail per image item (an animation's first frame), made before the transaction opens
    so that no database lock is held while pixels are blurred."""
    return [Thumbnail(item.data_id, *blurred_thumbnail(item.image.image), item.image.width, item.image.height)
            for item in items if item.image is not None]
