"""The queries the service needs, one small function each. Callers own the transaction."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from tamis.schema import DecisionDoc, Item
from tamis.engine.policy import STORED, Policy, PolicyBody, default_body
from tamis.hashing.pdq import MIN_QUALITY
from tamis.media.thumbnails import CONTENT_TYPE as THUMBNAIL_TYPE
from tamis.media.thumbnails import Thumbnail
from tamis.store.models import (
    ApiKey,
    BankEntry,
    Base,
    Decision,
    DecisionItem,
    ItemHash,
    ItemMedia,
    PolicyVersion,
    Project,
    ProjectLimits,
    utcnow,
)

KEY_PREFIX = "tamis_"


# --- rows by id, for their project only -----------------------------------------------------------

Row = TypeVar("Row", bound=Base)


def received_page(
    session: Session, model: Any, project_id: str, *, status: str | None = None, data_id: str | None = None,
    since: datetime | None = None, until: datetime | None = None, before: str | None = None, limit: int = 50,
) -> Sequence[Any]:
    """A project's notices or appeals (rows with status, data_id and received_at), newest first;
    `before` is a row id (ids sort by time) for paging."""
    query = select(model).where(model.project_id == project_id)
    for column, value in ((model.status, status), (model.data_id, data_id)):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(model.received_at >= since)
    if until is not None:
        query = query.where(model.received_at < until)
    if before is not None:
        query = query.where(model.id < before)
    return session.scalars(query.order_by(model.id.desc()).limit(limit)).all()


def owned(session: Session, model: type[Row], project_id: str, row_id: str) -> Row | None:
    """The row with this id if it belongs to the project, else None: another project's ids are
    answered like ids that do not exist. An id with U+0000 in it is none (PostgreSQL refuses to
    compare such text, even as a query parameter)."""
    if "\x00" in row_id:
        return None
    row = session.get(model, row_id)
    return row if row is not None and getattr(row, "project_id") == project_id else None


# --- projects and keys -------------------------------------------------------------------------


def ensure_project(session: Session, project_id: str) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        project = Project(id=project_id)
        session.add(project)
        session.flush()
    return project


def hash_key(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: no dictionary to attack.
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, project_id: str, name: str = "") -> tuple[ApiKey, str]:
    """A new key for the project; the plaintext is returned once and never stored."""
    ensure_project(session, project_id)
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(project_id=project_id, name=name, prefix=plaintext[:12], key_hash=hash_key(plaintext))
    session.add(key)
    session.flush()
    return key, plaintext


def key_for(session: Session, plaintext: str) -> tuple[str, str] | None:
    """(project, key id) of a live key, or None for an unknown or revoked one."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(plaintext)))
    if key is None or key.revoked_at is not None:
        return None
    return key.project_id, key.id


def project_for_key(session: Session, plaintext: str) -> str | None:
    found = key_for(session, plaintext)
    return found[0] if found else None


def list_keys(session: Session, project_id: str | None = None) -> Sequence[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.created_at)
    if project_id:
        query = query.where(ApiKey.project_id == project_id)
    return session.scalars(query).all()


# Called with a key's hash when this process revokes it, so that its caches forget the key at once
# (tamis.api.auth registers one). Other processes' caches forget it within their time-to-live.
on_key_revoked: list[Callable[[str], None]] = []


def revoke_key(session: Session, key_id: str) -> bool:
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    for forget in on_key_revoked:
        forget(key.key_hash)
    return True


# --- rate limits of a project (`tamis limits`) -----------------------------------------------------

LIMIT_NAMES = ("requests_per_s", "requests_burst", "items_per_s", "items_burst")


def own_limits(session: Session, project_id: str) -> dict[str, float]:
    """The limits the project has of its own (the others are the server's defaults)."""
    row = session.get(ProjectLimits, project_id)
    return {} if row is None else {n: getattr(row, n) for n in LIMIT_NAMES if getattr(row, n) is not None}


def set_limits(session: Session, project_id: str, values: dict[str, float | None], *, reset: bool = False) -> dict[str, float]:
    """Forget the project's own limits (`reset`), then set those in `values` that are not None."""
    ensure_project(session, project_id)
    row = session.get(ProjectLimits, project_id)
    if reset and row is not None:
        session.delete(row)
        row = None
    if any(v is not None for v in values.values()):
        row = row or session.merge(ProjectLimits(project_id=project_id))
        for name, value in values.items():
            if value is not None:
                setattr(row, name, value)
        row.updated_at = utcnow()
    session.flush()
    return own_limits(session, project_id)


# --- policies ------------------------------------------------------------------------------------

# Called when this process writes a policy version, so that its policy caches apply it at once
# (tamis.services.moderation registers one). Other processes see it within their time-to-live.
on_policy_written: list[Callable[[], None]] = []


def _as_policy(row: PolicyVersion) -> Policy:
    return Policy(row.policy_id, row.version, PolicyBody.model_validate(row.body, context=STORED))


def policy_versions(session: Session, project_id: str, policy_id: str) -> Sequence[PolicyVersion]:
    query = (
        select(PolicyVersion)
        .where(PolicyVersion.project_id == project_id, PolicyVersion.policy_id == policy_id)
        .order_by(PolicyVersion.version.desc())
    )
    return session.scalars(query).all()


def active_policies(session: Session, project_id: str, policy_id: str = "default") -> tuple[Policy, Policy | None]:
    """(enforced, shadow): the latest non-shadow version, and the latest version if it is in shadow.

    A project that never wrote its default policy runs the shipped one, as version 0.
    """
    rows = policy_versions(session, project_id, policy_id)
    enforced = next((r for r in rows if not r.shadow), None)
    shadow = rows[0] if rows and rows[0].shadow else None
    if enforced is None:
        if policy_id != "default" and not rows:
            raise LookupError(policy_id)
        enforced_policy = Policy(policy_id, 0, default_body())
    else:
        enforced_policy = _as_policy(enforced)
    return enforced_policy, _as_policy(shadow) if shadow else None


def put_policy(session: Session, project_id: str, policy_id: str, body: PolicyBody) -> Policy:
    """Write a new version; earlier versions stay, so past decisions keep their meaning."""
    ensure_project(session, project_id)
    latest = session.scalar(
        select(func.max(PolicyVersion.version)).where(
            PolicyVersion.project_id == project_id, PolicyVersion.policy_id == policy_id
        )
    )
    row = PolicyVersion(
        project_id=project_id,
        policy_id=policy_id,
        version=(latest or 0) + 1,
        shadow=body.shadow,
        body=body.model_dump(mode="json"),
    )
    session.add(row)
    session.flush()
    for forget in on_policy_written:
        forget()
    return _as_policy(row)


def policy_ids(session: Session, project_id: str) -> list[str]:
    query = select(PolicyVersion.policy_id).where(PolicyVersion.project_id == project_id).distinct()
    return sorted(set(session.scalars(query)) | {"default"})


# --- decisions -----------------------------------------------------------------------------------


def save_decision(
    session: Session, doc: DecisionDoc, *, shadow: bool, source: str, items: Sequence[Item] = ()
) -> Decision:
    """Store the decision and an index row per item (with the item's author_id and context, if sent)."""
    document: dict[str, Any] = doc.model_dump(mode="json")
    decision = Decision(
        id=doc.id,
        project_id=doc.project,
        policy_id=doc.policy.id,
        policy_version=doc.policy.version,
        shadow=shadow,
        source=source,
        doc=document,
    )
    session.add(decision)
    session.flush()  # the decision row must exist before its items reference it (PostgreSQL checks)
    # One multi-row INSERT rather than an ORM object per item: batches of 100 are common.
    session.execute(
        insert(DecisionItem),
        [
            {"decision_id": doc.id, "project_id": doc.project, "position": i, "data_id": r.data_id, "verdict": r.verdict,
             "author_id": item.author_id if item else None, "context": item.context if item else None}
            for i, (r, item) in enumerate(zip(doc.results, _padded(items, len(doc.results))))
        ],
    )
    return decision


def _padded(items: Sequence[Item], n: int) -> list[Item | None]:
    return list(items[:n]) + [None] * (n - len(items))


RETRO_SIGNALS = ("pdq", "md5", "sha256")


def save_item_hashes(session: Session, doc: DecisionDoc, hashes: Sequence[dict[str, str]]) -> None:
    """Keep the media hashes of judged items, so that banks can match them later (retroactively)."""
    rows = [
        {"project_id": doc.project, "decision_id": doc.id, "data_id": result.data_id, "signal": signal, "value": value}
        for result, item_hashes in zip(doc.results, hashes)
        for signal, value in item_hashes.items()
        if signal in RETRO_SIGNALS and not (signal == "pdq" and int(item_hashes.get("pdq_quality", "0")) < MIN_QUALITY)
    ]
    if rows:
        session.execute(insert(ItemHash), rows)


def get_decision(session: Session, project_id: str, decision_id: str) -> Decision | None:
    return owned(session, Decision, project_id, decision_id)


def list_decisions(
    session: Session,
    project_id: str,
    *,
    data_id: str | None = None,
    verdict: str | None = None,
    shadow: bool = False,
    before: str | None = None,
    limit: int = 50,
) -> Sequence[Decision]:
    """Newest first; `before` is a decision id (ids sort by time) for paging."""
    query = select(Decision).where(Decision.project_id == project_id, Decision.shadow == shadow)
    if data_id is not None or verdict is not None:
        items = select(DecisionItem.decision_id).where(DecisionItem.project_id == project_id)
        if data_id is not None:
            items = items.where(DecisionItem.data_id == data_id)
        if verdict is not None:
            items = items.where(DecisionItem.verdict == verdict)
        query = query.where(Decision.id.in_(items))
    if before:
        query = query.where(Decision.id < before)
    return session.scalars(query.order_by(Decision.id.desc()).limit(limit)).all()


# --- thumbnails -------------------------------------------------------------------------------------


# item_media.kind: (is a video frame, is sharp) -> kind. Thumbnails and frames are blurred; the
# sharp kinds are review copies, served only through the review workspace's audited reveal.
MEDIA_KINDS = {(False, False): "thumbnail", (True, False): "frame", (False, True): "sharp", (True, True): "sharp_frame"}


def save_thumbnails(session: Session, doc: DecisionDoc, thumbnails: Sequence[Thumbnail]) -> None:
    """Store the thumbnails with their decision, in the caller's transaction."""
    session.add_all(
        ItemMedia(
            project_id=doc.project, decision_id=doc.id, data_id=t.data_id, kind=MEDIA_KINDS[(t.t_ms is not None, t.sharp)],
            t_ms=t.t_ms, content_type=THUMBNAIL_TYPE, width=t.width, height=t.height, data=t.data,
            source_width=t.source_width, source_height=t.source_height,
        )
        for t in thumbnails
    )


def get_frames(session: Session, project: str, decision_id: str, data_id: str) -> Sequence[ItemMedia]:
    """A video's frames kept for its reviewers (blurred, like thumbnails), in time order."""
    if "\x00" in data_id:
        return []
    return session.scalars(
        select(ItemMedia)
        .where(ItemMedia.project_id == project, ItemMedia.decision_id == decision_id)
        .where(ItemMedia.data_id == data_id, ItemMedia.kind == "frame")
        .order_by(ItemMedia.t_ms, ItemMedia.id)
    ).all()


def get_thumbnail(session: Session, project: str, decision_id: str, data_id: str) -> ItemMedia | None:
    if "\x00" in data_id:
        return None
    return session.scalars(
        select(ItemMedia)
        .where(ItemMedia.project_id == project, ItemMedia.decision_id == decision_id)
        .where(ItemMedia.data_id == data_id, ItemMedia.kind == "thumbnail")
        .order_by(ItemMedia.id)
        .limit(1)
    ).first()


def get_sharp(session: Session, project: str, decision_id: str, data_id: str, media_id: int) -> ItemMedia | None:
    """One of an item's sharp review copies, by id, only if it is this project's and this item's."""
    media = session.get(ItemMedia, media_id)
    if media is None or (media.project_id, media.decision_id, media.data_id) != (project, decision_id, data_id):
        return None
    return media if media.kind in ("sharp", "sharp_frame") else None


def sharp_ids(session: Session, project: str, decision_id: str, data_id: str) -> dict[int | None, int]:
    """The item's sharp review copies: t_ms (None for a still image) -> media id."""
    if "\x00" in data_id:
        return {}
    rows = session.execute(
        select(ItemMedia.t_ms, ItemMedia.id)
        .where(ItemMedia.project_id == project, ItemMedia.decision_id == decision_id)
        .where(ItemMedia.data_id == data_id, ItemMedia.kind.in_(("sharp", "sharp_frame")))
        .order_by(ItemMedia.id)
    ).all()
    return {t_ms: media_id for t_ms, media_id in reversed(rows)}  # the first stored wins


def has_picture_bank_entries(session: Session, project_id: str) -> bool:
    """Whether the project's banks hold any PDQ or vPDQ entry (a video's frame hashes have something to match)."""
    return session.scalar(
        select(BankEntry.id).where(BankEntry.project_id == project_id, BankEntry.signal.in_(("pdq", "vpdq")),
                                   BankEntry.deleted_at.is_(None)).limit(1)
    ) is not None
