"""Matching media hashes against a project's banks.

Exact signals (MD5, SHA-256) are looked up in the database. PDQ goes through one near-neighbour
index per process, holding every project's entries: it follows the append-only entry-event log. Each
match first reads the log's head (one indexed `max(id)`), so a bank change committed by any process
is seen by the next match in every API process and worker; a full pass over the log, which also
picks up events that committed out of id order, runs at least every `REFRESH_S`. The index
persists to `TAMIS_DATA_DIR/index/` and a restart loads it and replays only the newer events.

Matches are then filtered by bank: enabled, same project, distance within the bank's own threshold,
inside its staged roll-out; negative banks suppress the others; shadow banks only record.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from tamis.banks.rules import BankHit
from tamis.config import get_settings
from tamis.hashing.index import PdqIndex
from tamis.hashing.pdq import hex_to_bytes
from tamis.hashing.signals import SIGNAL_TYPES, Vpdq
from tamis.hashing.vpdq import FrameHash, VpdqMatch, vpdq_match
from tamis.store.db import session_factory
from tamis.store.models import Bank, BankEntry, BankEntryEvent

log = logging.getLogger("tamis.hashing")
REFRESH_S = 1.0
# Events can commit out of id order on PostgreSQL (ids are handed out at insert, not commit): ids
# below the watermark are settled; above it we remember what we applied and look again.
SETTLE_S = 120.0
SNAPSHOT_EVERY_EVENTS = 50_000
PAGE = 100_000
EXACT_SIGNALS = tuple(name for name, kind in SIGNAL_TYPES.items() if kind.match == "exact")
# The index finds every neighbour up to this distance exactly; bank thresholds are capped to it.
MAX_PDQ_DISTANCE = 31


class PdqMatcher:
    """The process's PDQ index, kept in step with the bank-entry event log."""

    def __init__(self, sessions: sessionmaker[Session], snapshot_dir: Path | None = None) -> None:
        self._sessions = sessions
        self._snapshot_dir = snapshot_dir
        self._lock = threading.Lock()
        self._index = PdqIndex()
        self._watermark = 0  # every event with id <= watermark has been applied
        self._applied: set[int] = set()  # applied events above the watermark
        self._cursor = 0  # the highest event id applied
        self._gaps: dict[int, float] = {}  # missing event id -> when first missed
        self._checked = 0.0
        self._since_snapshot = 0
        self._load_snapshot()

    # --- following the log ---------------------------------------------------------------------

    def refresh(self, *, force: bool = False) -> int:
        """Apply new events: when the log has a new head, at least every REFRESH_S (for events that
        committed late, below the head), or when forced. Returns events applied."""
        if not force and time.monotonic() - self._checked < REFRESH_S and self._head() <= self._cursor:
            return 0
        with self._lock:
            self._checked = time.monotonic()
            applied = 0
            while True:  # in pages: a first start may replay millions of events
                rows = self._events(BankEntryEvent.id > self._cursor)
                applied += self._apply(rows)
                if len(rows) < PAGE:
                    break
            gaps = [g for g in range(self._watermark + 1, self._cursor) if g not in self._applied]
            if gaps:  # ids handed out before ours whose transactions committed late
                applied += self._apply(self._events(BankEntryEvent.id.in_(gaps[:PAGE])))
            self._advance()
            self._since_snapshot += applied
            if self._since_snapshot >= SNAPSHOT_EVERY_EVENTS:
                self._save_snapshot()
            return applied

    def _head(self) -> int:
        """The newest event id in the log: an index-only read, cheap enough for every match."""
        with self._sessions() as session:
            return int(session.scalar(select(func.max(BankEntryEvent.id))) or 0)

    def _events(self, condition) -> list:  # type: ignore[no-untyped-def, type-arg]
        with self._sessions() as session:
            return list(session.execute(
                select(BankEntryEvent.id, BankEntryEvent.op, BankEntry.id, BankEntry.signal, BankEntry.value)
                .join(BankEntry, BankEntry.id == BankEntryEvent.entry_id)
                .where(condition)
                .order_by(BankEntryEvent.id)
                .limit(PAGE)
            ).all())

    def _apply(self, rows: Sequence) -> int:  # type: ignore[type-arg]
        adds: dict[int, str] = {}
        for event_id, op, entry_id, signal, value in rows:
            self._applied.add(event_id)
            self._cursor = max(self._cursor, event_id)
            if signal != "pdq":
                continue
            if op == "add":
                adds[entry_id] = value
            elif adds.pop(entry_id, None) is None:
                self._index.remove([entry_id])
        if adds:
            self._index.add(np.fromiter(adds, dtype=np.int64, count=len(adds)), hex_to_bytes(list(adds.values())))
        return len(rows)

    def _advance(self) -> None:
        """Move the watermark over applied events, and over gaps older than SETTLE_S (rolled back)."""
        now = time.monotonic()
        while self._watermark < self._cursor:
            nxt = self._watermark + 1
            if nxt not in self._applied and now - self._gaps.setdefault(nxt, now) < SETTLE_S:
                break
            self._watermark = nxt
            self._applied.discard(nxt)
            self._gaps.pop(nxt, None)

    # --- persistence ----------------------------------------------------------------------------

    def _save_snapshot(self) -> None:
        """Write the index and its watermark to a fresh folder, then point `current` at it.

        Several processes on one machine may share the data folder: each writes its own folder and
        the pointer changes atomically, so a reader never mixes one process's index with another's
        watermark."""
        if self._snapshot_dir is None:
            return
        self._snapshot_dir.mkdir(parents=True, exist_ok=True)
        folder = self._snapshot_dir / f"pdq-{self._watermark}-{os.getpid()}-{time.time_ns()}"
        folder.mkdir()
        self._index.save(folder / "index")
        (folder / "watermark").write_text(str(self._watermark))
        pointer = self._snapshot_dir / f"current.{os.getpid()}.tmp"
        pointer.write_text(folder.name)
        pointer.replace(self._snapshot_dir / "current")
        self._since_snapshot = 0
        self._remove_old_snapshots(keep=folder.name)

    def _remove_old_snapshots(self, keep: str) -> None:
        assert self._snapshot_dir is not None
        for old in self._snapshot_dir.glob("pdq-*"):
            if old.name != keep and old.is_dir() and time.time() - old.stat().st_mtime > 60:
                shutil.rmtree(old, ignore_errors=True)  # older than a minute: no reader is still on it

    def _load_snapshot(self) -> None:
        pointer = None if self._snapshot_dir is None else self._snapshot_dir / "current"
        if pointer is None or not pointer.exists():
            return
        try:
            folder = pointer.parent / pointer.read_text().strip()
            index = PdqIndex.load(folder / "index")
            self._watermark = self._cursor = int((folder / "watermark").read_text())
            self._index = index
        except Exception:  # a damaged snapshot only costs a full replay
            log.exception("ignoring the PDQ index snapshot in %s", self._snapshot_dir)
            self._index, self._watermark, self._cursor = PdqIndex(), 0, 0

    def mark_stale(self) -> None:
        self._checked = 0.0

    def save(self) -> None:
        with self._lock:
            self._save_snapshot()

    # --- searching ------------------------------------------------------------------------------

    def search(self, codes: np.ndarray, radius: int = MAX_PDQ_DISTANCE) -> list[list[tuple[int, int]]]:
        """Neighbours in the index as it stands: call `refresh` first (match_hashes does)."""
        with self._lock:
            return self._index.search(codes, radius=min(radius, MAX_PDQ_DISTANCE))

    def __len__(self) -> int:
        return len(self._index)


def _hits(session: Session, project: str, found: dict[tuple[int, int], int]) -> list[tuple[int, BankHit]]:
    """(query index, hit) for entries of `project`'s enabled banks; found: (query, entry id) -> distance.
    Keyed by query and entry both: two copies of a banked image in one batch must both match."""
    if not found:
        return []
    rows = session.execute(
        select(BankEntry, Bank)
        .join(Bank, Bank.id == BankEntry.bank_id)
        .where(BankEntry.id.in_({entry_id for _, entry_id in found}), BankEntry.deleted_at.is_(None),
               Bank.project_id == project, Bank.enabled.is_(True))
    ).all()
    by_entry = {entry.id: (entry, bank) for entry, bank in rows}
    out = []
    for (query, entry_id), distance in sorted(found.items()):
        if entry_id not in by_entry:
            continue
        entry, bank = by_entry[entry_id]
        if entry.signal == "pdq" and distance > min(bank.pdq_distance, MAX_PDQ_DISTANCE):
            continue
        out.append((query, BankHit(entry.id, bank.id, bank.name, entry.label, entry.signal, distance,
                                   bank.category, bank.action, bank.negative, bank.shadow, bank.rollout)))
    return out


def match_hashes(
    session: Session, matcher: PdqMatcher, project: str, queries: Sequence[dict[str, str | list[str]]]
) -> list[list[BankHit]]:
    """For each query {"pdq": hex or [hexes], "md5": hex, "sha256": hex}, the bank entries it matches."""
    results: list[list[BankHit]] = [[] for _ in queries]
    # PDQ: several hashes per query are allowed (the 8 rotations and flips).
    pdq_owner: list[int] = []
    pdq_values: list[str] = []
    for i, q in enumerate(queries):
        values = q.get("pdq") or []
        for value in [values] if isinstance(values, str) else values:
            pdq_owner.append(i)
            pdq_values.append(value)
    found: dict[tuple[int, int], int] = {}
    matcher.refresh()
    if pdq_values and len(matcher):
        for owner, neighbours in zip(pdq_owner, matcher.search(hex_to_bytes(pdq_values))):
            for entry_id, distance in neighbours:  # a query's closest hash (of its rotations) counts
                key = (owner, entry_id)
                found[key] = min(distance, found.get(key, distance))
    for query, hit in _hits(session, project, found):
        results[query].append(hit)
    for signal in EXACT_SIGNALS:
        owners: dict[str, list[int]] = {}
        for i, q in enumerate(queries):
            if isinstance(q.get(signal), str):
                owners.setdefault(q[signal], []).append(i)  # type: ignore[index]
        if not owners:
            continue
        rows = session.execute(
            select(BankEntry.id, BankEntry.value).where(
                BankEntry.project_id == project, BankEntry.signal == signal,
                BankEntry.value.in_(list(owners)), BankEntry.deleted_at.is_(None))
        ).all()
        exact = {(owner, entry_id): 0 for entry_id, value in rows for owner in owners[value]}
        for query, hit in _hits(session, project, exact):
            results[query].append(hit)
    return results


def match_vpdq(session: Session, project: str, frames: Sequence[FrameHash]) -> list[tuple[BankHit, VpdqMatch]]:
    """Videos against the project's vPDQ entries, by the reference algorithm (share of matching
    frames both ways). A linear scan: video banks are small next to image banks."""
    rows = session.execute(
        select(BankEntry, Bank).join(Bank, Bank.id == BankEntry.bank_id)
        .where(BankEntry.project_id == project, BankEntry.signal == "vpdq", BankEntry.deleted_at.is_(None),
               Bank.enabled.is_(True))
    ).all()
    out = []
    for entry, bank in rows:
        result = vpdq_match(frames, Vpdq.frames(entry.value), distance=min(bank.pdq_distance, MAX_PDQ_DISTANCE))
        if result.is_match():
            hit = BankHit(entry.id, bank.id, bank.name, entry.label, "vpdq", 0, bank.category, bank.action,
                          bank.negative, bank.shadow, bank.rollout)
            out.append((hit, result))
    return out


_matcher: PdqMatcher | None = None
_matcher_lock = threading.Lock()
BANK_EVENTS_WRITTEN = "tamis.bank_events_written"


@event.listens_for(Session, "after_commit")
def _bank_events_committed(session: Session) -> None:
    """A bank change committed by this process applies to its next match at once, even one whose
    events committed below the head (other processes: within REFRESH_S)."""
    if session.info.pop(BANK_EVENTS_WRITTEN, False) and _matcher is not None:
        _matcher.mark_stale()


def get_matcher() -> PdqMatcher:
    """The process's matcher, built (and its snapshot loaded) on first use."""
    global _matcher
    if _matcher is None:
        with _matcher_lock:
            if _matcher is None:
                _matcher = PdqMatcher(session_factory(), get_settings().data_dir / "index")
    return _matcher


def save_matcher_snapshot() -> None:
    """Persist the process's index (at shutdown), so the next start replays only newer events."""
    if _matcher is not None:
        try:
            _matcher.save()
        except OSError:
            log.exception("could not save the PDQ index snapshot")


def reset_matcher() -> None:
    """Forget the process's matcher (tests switch databases)."""
    global _matcher
    _matcher = None
