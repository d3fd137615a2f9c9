"""Hash banks: create, configure and delete them; add and remove their entries.

Callers own the transaction. Every entry change writes a BankEntryEvent (the log that every
process's near-neighbour index replays), and adding entries enqueues one `retro_match` job in the
same transaction, so a crash can lose neither the change nor the work it calls for. Nothing is
hard-deleted: removed entries and deleted banks are tombstones, because past decisions name them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tamis.errors import ProblemError, bad_input, not_found, preview
from tamis.schema import NAME_PATTERN, NUL_REFUSED
from tamis.banks.matcher import BANK_EVENTS_WRITTEN, MAX_PDQ_DISTANCE
from tamis.hashing import signals
from tamis.hashing.signals import SIGNALS
from tamis.jobs import enqueue
from tamis.store.models import Bank, BankEntry, BankEntryEvent, utcnow
from tamis.store.queries import ensure_project
from tamis.taxonomy import CATEGORIES

ACTIONS: tuple[str, ...] = ("review", "block")
MAX_TEXT = 256  # label and source columns are String(256)
MAX_NOTE = 10_000
MAX_DESCRIPTION = 10_000
_CHUNK = 500  # ids or values per IN (...): far below SQLite's and PostgreSQL's parameter limits


# --- hash values -----------------------------------------------------------------------------------

# --- entries in --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryIn:
    signal: str
    value: str
    label: str = ""
    note: str = ""
    source: str = ""


class EntryError(ValueError):
    """A bad entry, with the field at fault."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field, self.detail = field, detail


def _text(value: str, field: str, limit: int, *, one_line: bool = False) -> str:
    if len(value) > limit:
        raise EntryError(field, f"at most {limit} characters; got {len(value)}")
    if "\x00" in value:
        raise EntryError(field, NUL_REFUSED)
    if one_line and ("\n" in value or "\r" in value):  # exported in a CSV column that import reads per line
        raise EntryError(field, "must be one line (no line breaks)")
    return value


def clean_entry(entry: EntryIn) -> EntryIn:
    """The entry with its value normalized, or EntryError naming the field."""
    if entry.signal not in SIGNALS:
        raise EntryError("signal", f"unknown signal {preview(entry.signal)}; expected one of {', '.join(SIGNALS)}")
    try:
        value = signals.validate(entry.signal, entry.value)
    except ValueError as exc:
        raise EntryError("value", str(exc)) from exc
    return replace(
        entry,
        value=value,
        label=_text(entry.label, "label", MAX_TEXT, one_line=True),
        note=_text(entry.note, "note", MAX_NOTE),
        source=_text(entry.source, "source", MAX_TEXT, one_line=True),
    )


# --- banks -------------------------------------------------------------------------------------------

SETTINGS = ("description", "category", "action", "negative", "enabled", "shadow", "rollout", "pdq_distance")


def _check_flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise bad_input(f"must be true or false; got {preview(value)}", field)
    return value


def _check_setting(field: str, value: Any) -> Any:
    if field in ("negative", "enabled", "shadow"):
        return _check_flag(value, field)
    if field == "description":
        if not isinstance(value, str) or len(value) > MAX_DESCRIPTION or "\x00" in value:
            raise bad_input(f"must be text of at most {MAX_DESCRIPTION} characters, without NUL", field)
        return value
    if field == "category":
        if value is not None and value not in CATEGORIES:
            raise bad_input(f"unknown category {preview(value)}; expected null or one of {', '.join(CATEGORIES)}", field)
        return value
    if field == "action":
        if value not in ACTIONS:
            raise bad_input(f"must be one of {', '.join(ACTIONS)}; got {preview(value)}", field)
        return value
    if field == "rollout":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or not 0 <= value <= 1:
            raise bad_input(f"must be a number from 0 to 1 (the share of traffic); got {preview(value)}", field)
        return float(value)
    if field == "pdq_distance":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PDQ_DISTANCE:
            raise bad_input(f"must be a whole number from 0 to {MAX_PDQ_DISTANCE} (the index finds every neighbour up to it); got {preview(value)}", field)
        return value
    raise bad_input(f"unknown bank setting; expected one of {', '.join(SETTINGS)}", field)


def check_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The settings, checked; a ProblemError (422) naming the first bad field."""
    return {field: _check_setting(field, value) for field, value in values.items()}


def check_name(name: str) -> str:
    if not re.fullmatch(NAME_PATTERN, name):
        raise bad_input(f"a bank name matches {NAME_PATTERN} (lowercase); got {preview(name)}", "name")
    return name


def _conflict(name: str) -> ProblemError:
    return ProblemError(409, "Conflict", f"a bank named {name!r} already exists in this project",
                        field="name", kind="conflict")


def get_bank(session: Session, project_id: str, name: str) -> Bank | None:
    query = select(Bank).where(Bank.project_id == project_id, Bank.name == name, Bank.deleted_at.is_(None))
    return session.scalar(query)


def require_bank(session: Session, project_id: str, name: str) -> Bank:
    bank = get_bank(session, project_id, name)
    if bank is None:
        raise not_found(f"bank {name!r}")
    return bank


def list_banks(session: Session, project_id: str) -> Sequence[Bank]:
    query = select(Bank).where(Bank.project_id == project_id, Bank.deleted_at.is_(None)).order_by(Bank.name)
    return session.scalars(query).all()


def create_bank(session: Session, project_id: str, name: str, **settings: Any) -> Bank:
    check_name(name)
    values = check_settings(settings)
    ensure_project(session, project_id)
    if get_bank(session, project_id, name) is not None:
        raise _conflict(name)
    bank = Bank(project_id=project_id, name=name, **values)
    session.add(bank)
    try:
        session.flush()
    except IntegrityError as exc:  # created concurrently by another request
        raise _conflict(name) from exc
    return bank


def update_bank(session: Session, bank: Bank, **changes: Any) -> Bank:
    for field, value in check_settings(changes).items():
        setattr(bank, field, value)
    bank.updated_at = utcnow()
    session.flush()
    return bank


def delete_bank(session: Session, bank: Bank) -> int:
    """Tombstone the bank and every live entry (with `remove` events); the name becomes free.

    The row stays (disabled, so matchers that look only at `enabled` skip it too): entries and past
    decisions point at it. Returns how many entries were removed.
    """
    ids = list(session.scalars(select(BankEntry.id).where(BankEntry.bank_id == bank.id, BankEntry.deleted_at.is_(None))))
    removed = _tombstone(session, ids)
    bank.deleted_at = bank.updated_at = utcnow()
    bank.enabled = False
    session.flush()
    return len(removed)


def entry_counts(session: Session, bank_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """bank id -> signal -> live entries."""
    ids = list(bank_ids)
    counts: dict[str, dict[str, int]] = {bank_id: {} for bank_id in ids}
    for chunk in _chunks(ids):
        query = (
            select(BankEntry.bank_id, BankEntry.signal, func.count())
            .where(BankEntry.bank_id.in_(chunk), BankEntry.deleted_at.is_(None))
            .group_by(BankEntry.bank_id, BankEntry.signal)
        )
        for bank_id, signal, n in session.execute(query):
            counts[bank_id][signal] = n
    return counts


def bank_doc(bank: Bank, counts: dict[str, int]) -> dict[str, Any]:
    """A bank as the API answers it and `tamis bank show` prints it."""
    return {
        "name": bank.name,
        "id": bank.id,
        "description": bank.description,
        "category": bank.category,
        "action": bank.action,
        "negative": bank.negative,
        "enabled": bank.enabled,
        "shadow": bank.shadow,
        "rollout": bank.rollout,
        "pdq_distance": bank.pdq_distance,
        "entries": sum(counts.values()),
        "counts": {signal: counts.get(signal, 0) for signal in SIGNALS},
        "created_at": bank.created_at.isoformat(),
        "updated_at": bank.updated_at.isoformat(),
    }


# --- entries -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddResult:
    ids: list[int]  # the new entries, ascending
    duplicates: int  # entries skipped: already live in the bank, or repeated in the input
    job_id: str | None  # the retro_match job, when anything was added


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _live_keys(session: Session, bank: Bank, entries: Sequence[EntryIn]) -> set[tuple[str, str]]:
    """Which (signal, value) of `entries` the bank already holds, live."""
    found: set[tuple[str, str]] = set()
    for signal in {e.signal for e in entries}:
        values = sorted({e.value for e in entries if e.signal == signal})
        for chunk in _chunks(values):
            query = select(BankEntry.value).where(
                BankEntry.bank_id == bank.id, BankEntry.signal == signal,
                BankEntry.value.in_(chunk), BankEntry.deleted_at.is_(None),
            )
            found.update((signal, value) for value in session.scalars(query))
    return found


def _log(session: Session, entry_ids: Sequence[int], op: str) -> None:
    session.info[BANK_EVENTS_WRITTEN] = True  # this process's matcher refreshes right after commit
    now = utcnow()
    for chunk in _chunks(entry_ids, 5000):
        session.execute(BankEntryEvent.__table__.insert(), [{"entry_id": i, "op": op, "created_at": now} for i in chunk])


def _cleaned(entries: Sequence[EntryIn]) -> list[EntryIn]:
    out = []
    for i, entry in enumerate(entries):
        try:
            out.append(clean_entry(entry))
        except EntryError as exc:
            raise bad_input(exc.detail, f"entries[{i}].{exc.field}") from exc
    return out


def add_entries(session: Session, bank: Bank, entries: Sequence[EntryIn]) -> AddResult:
    """Validate all, then add the new ones (exact duplicates skipped) with their `add` events, and
    enqueue one retro_match job over them. A bad entry raises a 422 and adds nothing."""
    cleaned = _cleaned(entries)
    seen = _live_keys(session, bank, cleaned)
    fresh = []
    for entry in cleaned:
        if (entry.signal, entry.value) not in seen:
            seen.add((entry.signal, entry.value))
            fresh.append(entry)
    ids = _insert(session, bank, fresh)
    _log(session, ids, "add")
    job_id = None
    if ids:
        payload = {"bank_id": bank.id, "from_entry_id": min(ids), "to_entry_id": max(ids)}
        job_id = enqueue(session, bank.project_id, "retro_match", payload).id
    return AddResult(ids, len(cleaned) - len(ids), job_id)


def _insert(session: Session, bank: Bank, entries: Sequence[EntryIn]) -> list[int]:
    """The new rows' ids, ascending. Core multi-row INSERT ... RETURNING in batches: ORM objects would
    crawl through an import of a million hashes, and asking for the ids in parameter order would make
    SQLAlchemy send one INSERT per row on SQLite."""
    table = BankEntry.__table__
    ids: list[int] = []
    now = utcnow()
    for chunk in _chunks(entries, 5000):
        rows = [
            {"bank_id": bank.id, "project_id": bank.project_id, "signal": e.signal, "value": e.value,
             "label": e.label, "note": e.note, "source": e.source, "created_at": now}
            for e in chunk
        ]
        ids.extend(session.execute(table.insert().returning(table.c.id), rows).scalars())
    return sorted(ids)


def _tombstone(session: Session, entry_ids: Sequence[int]) -> list[int]:
    ordered = sorted(set(entry_ids))
    now = utcnow()
    for chunk in _chunks(ordered):
        session.execute(update(BankEntry).where(BankEntry.id.in_(chunk)).values(deleted_at=now))
    _log(session, ordered, "remove")
    return ordered


def remove_entries(session: Session, bank: Bank, entry_ids: Iterable[int]) -> list[int]:
    """Tombstone those of `entry_ids` that are live entries of this bank; returns them."""
    wanted = sorted(set(entry_ids))
    live: list[int] = []
    for chunk in _chunks(wanted):
        query = select(BankEntry.id).where(
            BankEntry.id.in_(chunk), BankEntry.bank_id == bank.id, BankEntry.deleted_at.is_(None)
        )
        live.extend(session.scalars(query))
    return _tombstone(session, live)


def list_entries(
    session: Session, bank: Bank, *, signal: str | None = None, before: int | None = None, limit: int = 50
) -> Sequence[BankEntry]:
    """Live entries, newest first; `before` is an entry id, for paging."""
    query = select(BankEntry).where(BankEntry.bank_id == bank.id, BankEntry.deleted_at.is_(None))
    if signal is not None:
        query = query.where(BankEntry.signal == signal)
    if before is not None:
        query = query.where(BankEntry.id < before)
    return session.scalars(query.order_by(BankEntry.id.desc()).limit(limit)).all()


def iter_entries(session: Session, bank: Bank, *, signal: str | None = None) -> Iterator[BankEntry]:
    """Every live entry, oldest first, read in batches (for export)."""
    query = select(BankEntry).where(BankEntry.bank_id == bank.id, BankEntry.deleted_at.is_(None))
    if signal is not None:
        query = query.where(BankEntry.signal == signal)
    yield from session.scalars(query.order_by(BankEntry.id).execution_options(yield_per=2000))


def entry_doc(entry: BankEntry) -> dict[str, Any]:
    value: Any = json.loads(entry.value) if entry.signal == "vpdq" else entry.value
    return {
        "id": entry.id,
        "signal": entry.signal,
        "value": value,
        "label": entry.label,
        "note": entry.note,
        "source": entry.source,
        "created_at": entry.created_at.isoformat(),
    }
