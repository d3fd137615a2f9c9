"""Media retention: stored media (thumbnails, video frames, review cases' texts) is deleted after
TAMIS_MEDIA_RETENTION_DAYS (0 keeps it); the decisions themselves stay, they are the record.
Reporters' names and emails on DSA notices go the same number of days after the notice is decided;
the platform's pseudonymous reporter reference after a year (it serves to deprioritise reporters
whose notices were repeatedly unfounded, over a year).

`MediaRetentionLoop` runs the purge in the background of `tamis serve` (embedded runner) and of
every `tamis worker`: several processes purging at once only delete the same rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from tamis.config import Settings, get_settings
from tamis.jobs.loop import PollingLoop
from tamis.store.models import Case, ItemMedia, Report

PURGE_BATCH = 500  # rows per transaction: short transactions never hold the database for long
PURGE_POLL_S = 3600.0  # media ages in days; hourly is prompt enough


def _cutoff(retention_days: int, now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=retention_days)


def purge_media(sessions: sessionmaker[Session], retention_days: int, now: datetime | None = None) -> int:
    """Delete one batch of media older than `retention_days`; the number deleted."""
    if retention_days <= 0:
        return 0
    with sessions.begin() as session:
        ids = session.scalars(
            select(ItemMedia.id).where(ItemMedia.created_at < _cutoff(retention_days, now)).order_by(ItemMedia.id).limit(PURGE_BATCH)
        ).all()
        if ids:
            session.execute(delete(ItemMedia).where(ItemMedia.id.in_(ids)))
    return len(ids)


def purge_case_texts(sessions: sessionmaker[Session], retention_days: int, now: datetime | None = None) -> int:
    """Empty the text of one batch of review cases older than `retention_days` (a case keeps its
    item's text for reviewers; it ages out like the thumbnails); the number emptied."""
    if retention_days <= 0:
        return 0
    with sessions.begin() as session:
        ids = session.scalars(
            select(Case.id).where(Case.created_at < _cutoff(retention_days, now), Case.text.is_not(None))
            .order_by(Case.id).limit(PURGE_BATCH)
        ).all()
        if ids:
            session.execute(update(Case).where(Case.id.in_(ids)).values(text=None))
    return len(ids)


REPORTER_REF_DAYS = 365


def purge_reporters(sessions: sessionmaker[Session], retention_days: int, now: datetime | None = None) -> int:
    """Remove the personal data of one batch of decided notices: name and email `retention_days`
    after the decision, the reporter reference after REPORTER_REF_DAYS; the number changed."""
    if retention_days <= 0:
        return 0
    with sessions.begin() as session:
        contact = session.scalars(
            select(Report.id).where(Report.decided_at < _cutoff(retention_days, now),
                                    (Report.reporter_name.is_not(None)) | (Report.reporter_email.is_not(None)))
            .order_by(Report.id).limit(PURGE_BATCH)
        ).all()
        if contact:
            session.execute(update(Report).where(Report.id.in_(contact))
                            .values(reporter_name=None, reporter_email=None, purged_at=now or datetime.now(UTC)))
        refs = session.scalars(
            select(Report.id).where(Report.decided_at < _cutoff(max(retention_days, REPORTER_REF_DAYS), now),
                                    Report.reporter_ref.is_not(None)).order_by(Report.id).limit(PURGE_BATCH)
        ).all()
        if refs:
            session.execute(update(Report).where(Report.id.in_(refs)).values(reporter_ref=None))
    return len(contact) + len(refs)


class MediaRetentionLoop(PollingLoop):
    """Purges old media: batch after batch while there is any, then rests PURGE_POLL_S."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings | None = None, poll_s: float = PURGE_POLL_S) -> None:
        self._sessions = sessions
        self._settings = settings or get_settings()
        super().__init__("tamis-media-retention", poll_s)

    def run_pass(self) -> int:
        days = self._settings.media_retention_days
        return purge_media(self._sessions, days) + purge_case_texts(self._sessions, days) + purge_reporters(self._sessions, days)
