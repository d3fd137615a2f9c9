"""The bank rules, in one place: how matches against a project's banks become a signal.

A match scores 1.0 for its bank's category and carries the bank's action; a negative bank's match
cancels the positive ones; shadow banks, and content outside a bank's staged roll-out, give
evidence only. Every path applies these rules through `bank_signal`: images (the `hash-match`
analyzer), a video's frames and the video as a whole, and retroactive matches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from tamis.schema import BankMatchEvidence, Signal

NAME, VERSION = "hash-match", "1"


@dataclass(frozen=True)
class BankHit:
    """One bank entry matched by one hash."""

    entry_id: int
    bank_id: str
    bank: str
    label: str
    signal: str
    distance: int
    category: str | None
    action: str
    negative: bool
    shadow: bool
    rollout: float


def in_rollout(sha256: str, bank_id: str, rollout: float) -> bool:
    """Deterministic per (content, bank): the same image is always in or out of a staged bank."""
    if rollout >= 1.0:
        return True
    bucket = int(hashlib.sha256(f"{bank_id}:{sha256}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return bucket < rollout


def bank_signal(hashes: dict[str, str], hits: Sequence[BankHit]) -> Signal:
    """The `hash-match` signal for content with these hashes (`sha256` places it in or out of each
    bank's roll-out) and these bank hits. `hashes` travel on the signal for retroactive matching."""
    signal = Signal(NAME, VERSION)
    signal.hashes = {"pdq": hashes.get("pdq_hex", ""), "pdq_quality": hashes.get("pdq_quality", "0"),
                     "md5": hashes.get("md5", ""), "sha256": hashes.get("sha256", "")}
    live = [h for h in hits if not h.shadow and in_rollout(signal.hashes["sha256"], h.bank_id, h.rollout)]
    suppressed = any(h.negative for h in live)
    for hit in sorted(hits, key=lambda h: (h.distance, h.bank)):
        acts = hit in live and not hit.negative and not suppressed
        signal.evidence.append(BankMatchEvidence(
            bank=hit.bank, entry=hit.label or str(hit.entry_id), signal=hit.signal, distance=hit.distance,
            entry_id=hit.entry_id, negative=hit.negative, shadow=hit.shadow or hit not in live,
            suppressed=hit in live and not hit.negative and suppressed,
        ))
        if not acts:
            continue
        if hit.category:
            signal.scores[hit.category] = 1.0
        key = hit.category or f"bank:{hit.bank}"
        signal.ask(key, hit.action)
    return signal
