"""Retroactive matching: when a bank gains entries, the media already judged are checked against
them, and each new match becomes a new decision (following the earlier one) and so a webhook.

Runs as the `retro_match` job, enqueued by the transaction that added the entries. It records all its
decisions in one transaction, so a job interrupted half-way and run again records nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tamis.banks.matcher import MAX_PDQ_DISTANCE
from tamis.banks.rules import NAME, VERSION, BankHit, bank_signal, in_rollout
from tamis.engine.decision import decision, item_result
from tamis.hashing.index import PdqIndex
from tamis.hashing.pdq import hex_to_bytes
from tamis.jobs.queue import handler, set_progress
from tamis.schema import AnalyzerRun, DecisionDoc
from tamis.services.moderation import record
from tamis.store import queries
from tamis.store.models import Bank, BankEntry, Decision, ItemHash

CHUNK = 50_000


def _entries(session: Session, bank: Bank, first: int, last: int) -> list[BankEntry]:
    return list(session.scalars(
        select(BankEntry).where(BankEntry.bank_id == bank.id, BankEntry.id.between(first, last),
                                BankEntry.deleted_at.is_(None))
    ))


def _item_hash_chunks(session: Session, project: str, signal: str) -> Iterator[list[ItemHash]]:
    after = 0
    while True:
        rows = list(session.scalars(
            select(ItemHash).where(ItemHash.project_id == project, ItemHash.signal == signal, ItemHash.id > after)
            .order_by(ItemHash.id).limit(CHUNK)
        ))
        if not rows:
            return
        yield rows
        after = rows[-1].id


def _pdq_matches(session: Session, bank: Bank, entries: list[BankEntry]) -> list[tuple[ItemHash, BankEntry, int]]:
    pdq_entries = [e for e in entries if e.signal == "pdq"]
    if not pdq_entries:
        return []
    index = PdqIndex()
    index.add(np.array([e.id for e in pdq_entries], dtype=np.int64), hex_to_bytes([e.value for e in pdq_entries]))
    by_id = {e.id: e for e in pdq_entries}
    radius = min(bank.pdq_distance, MAX_PDQ_DISTANCE)
    found = []
    for chunk in _item_hash_chunks(session, bank.project_id, "pdq"):
        for item_hash, neighbours in zip(chunk, index.search(hex_to_bytes([h.value for h in chunk]), radius=radius)):
            found += [(item_hash, by_id[entry_id], distance) for entry_id, distance in neighbours]
    return found


def _exact_matches(session: Session, bank: Bank, entries: list[BankEntry]) -> list[tuple[ItemHash, BankEntry, int]]:
    found = []
    for signal in ("md5", "sha256"):
        wanted = {e.value: e for e in entries if e.signal == signal}
        if wanted:
            rows = session.scalars(select(ItemHash).where(
                ItemHash.project_id == bank.project_id, ItemHash.signal == signal, ItemHash.value.in_(list(wanted))))
            found += [(row, wanted[row.value], 0) for row in rows]
    return found


def _sha256_of(session: Session, decision_id: str, data_id: str) -> str:
    value = session.scalar(select(ItemHash.value).where(
        ItemHash.decision_id == decision_id, ItemHash.data_id == data_id, ItemHash.signal == "sha256"))
    return value or ""


def _hit(bank: Bank, entry: BankEntry, distance: int) -> BankHit:
    return BankHit(entry_id=entry.id, bank_id=bank.id, bank=bank.name, label=entry.label, signal=entry.signal,
                   distance=distance, category=bank.category, action=bank.action, negative=bank.negative,
                   shadow=bank.shadow, rollout=bank.rollout)


def _decision(session: Session, bank: Bank, original: Decision, data_id: str, sha256: str,
              matches: list[tuple[BankEntry, int]]) -> DecisionDoc:
    """A decision following `original` for one item, under the project's current enforced policy;
    a shadow bank's match makes a shadow decision."""
    enforced, _ = queries.active_policies(session, bank.project_id, original.policy_id)
    signal = bank_signal({"sha256": sha256}, [_hit(bank, entry, distance) for entry, distance in matches])
    result = item_result(enforced, data_id, [signal], [AnalyzerRun(name=NAME, version=VERSION, ms=0.0)],
                         reasons=[f"retroactive match against bank {bank.name}"])
    return decision(bank.project_id, enforced, [result], shadow=bank.shadow, follows=original.id)


@handler("retro_match")
def retro_match(sessions: sessionmaker[Session], job_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    with sessions.begin() as session:
        bank = session.get(Bank, payload["bank_id"])
        if bank is None or bank.negative or not bank.enabled:
            return {"decisions": 0, "skipped": "bank deleted, disabled or negative"}
        entries = _entries(session, bank, int(payload["from_entry_id"]), int(payload["to_entry_id"]))
        found = _pdq_matches(session, bank, entries) + _exact_matches(session, bank, entries)
        set_progress(sessions, job_id, 0.5)
        by_item: dict[tuple[str, str], dict[int, tuple[BankEntry, int]]] = defaultdict(dict)
        for item_hash, entry, distance in found:
            best = by_item[(item_hash.decision_id, item_hash.data_id)].get(entry.id)
            if best is None or distance < best[1]:
                by_item[(item_hash.decision_id, item_hash.data_id)][entry.id] = (entry, distance)
        decisions = 0
        for (decision_id, data_id), matches in sorted(by_item.items()):
            original = session.get(Decision, decision_id)
            sha256 = _sha256_of(session, decision_id, data_id)
            if original is None or not in_rollout(sha256, bank.id, bank.rollout):
                continue
            doc = _decision(session, bank, original, data_id, sha256, list(matches.values()))
            record(session, doc, shadow=bank.shadow, source="retro")
            decisions += 1
        return {"decisions": decisions, "entries": len(entries), "matched_items": len(by_item)}

