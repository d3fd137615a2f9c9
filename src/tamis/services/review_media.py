"""Which items keep a sharp review copy, made and stored with their decision.

A reviewer who reveals a picture needs to see it sharp; the blurred thumbnail only shows that
there is something. Under TAMIS_REVIEW_SHARP_MEDIA=flagged (the default) a sharp copy is kept for
every image item a person may have to judge: a `review` or `block` verdict (a block can be appealed)
and any item that becomes a case when it is judged (a sampled pass); `all` keeps one for every image
(for user reports on items that passed); `none` keeps none. Copies are made outside the database
transaction where the verdict already says one is needed; a sampled pass is rare and made inside.
They are deleted with the thumbnails after TAMIS_MEDIA_RETENTION_DAYS (services/retention.py).
No item flagged in a TAMIS_REVIEW_SHARP_WITHHELD category (default `sexual/minors`) or blocked by a
bank match (`bank_match`) keeps one, whatever the mode.
"""

from __future__ import annotations

from collections.abc import Sequence

from tamis.config import get_settings
from tamis.media.review_copies import encode, sharp_copy
from tamis.media.thumbnails import Thumbnail
from tamis.schema import BankMatchEvidence, DecisionDoc, DecodedImage, Item, ItemResult
from tamis.store.models import Case


def wanted(result: ItemResult, opened_case: bool) -> bool:
    """Whether an item judged so (and a case opened when judged, or not) keeps a sharp copy."""
    mode = get_settings().review_sharp_media
    return not withheld(result) and (mode == "all" or (mode == "flagged" and (result.verdict != "pass" or opened_case)))


def withheld(result: ItemResult) -> bool:
    """Whether the item is of a kind never kept sharp (TAMIS_REVIEW_SHARP_WITHHELD)."""
    never = set(get_settings().review_sharp_withheld)
    if any(c.flagged and c.name in never for c in result.categories):
        return True
    # Known material a bank blocked needs no second look; a bank that asks for review does.
    return "bank_match" in never and result.verdict == "block" and any(
        isinstance(e, BankMatchEvidence) and not (e.negative or e.shadow or e.suppressed) for e in result.evidence)


def _copy(item: Item) -> Thumbnail:
    image: DecodedImage = item.image  # type: ignore[assignment]
    data, width, height = sharp_copy(image)
    return Thumbnail(item.data_id, data, width, height, image.width, image.height, sharp=True)


def before_storing(items: Sequence[Item], doc: DecisionDoc) -> list[Thumbnail]:
    """The sharp copies the verdicts already call for (made before the transaction opens)."""
    return [_copy(item) for item, result in zip(items, doc.results)
            if item.image is not None and wanted(result, opened_case=False)]


def for_opened_cases(items: Sequence[Item], doc: DecisionDoc, opened: Sequence[Case],
                     made: Sequence[Thumbnail]) -> list[Thumbnail]:
    """The sharp copies still missing for items that just became cases (a sampled pass)."""
    have = {t.data_id for t in made}
    positions = {case.position for case in opened if case.data_id not in have}
    return [_copy(item) for position, (item, result) in enumerate(zip(items, doc.results))
            if position in positions and item.image is not None and wanted(result, opened_case=True)]


def sharp_frame(image: DecodedImage, t_ms: int, data_id: str) -> Thumbnail | None:
    """A video frame's sharp copy (from the frame as sampled: the video itself is not kept), or
    None when no video keeps one (TAMIS_REVIEW_SHARP_MEDIA=none)."""
    settings = get_settings()
    if settings.review_sharp_media == "none":
        return None
    data, width, height = encode(image.image, settings.review_sharp_px)
    return Thumbnail(data_id, data, width, height, image.width, image.height, t_ms=t_ms, sharp=True)
