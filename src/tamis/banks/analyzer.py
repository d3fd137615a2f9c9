"""`hash-match`: images against the project's hash banks (PDQ near matches, MD5/SHA-256 exact).

Built per project by the pipeline (banks belong to projects), and run on every image. Scores are
1.0 for the category of each bank matched, with `bank_match` evidence and the bank's action; a
negative bank's match cancels the positive ones; shadow banks and hashes outside a bank's staged
roll-out are recorded as evidence only. The computed hashes travel on the signal so the pipeline
can keep them for retroactive matching.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from tamis.hashing import digests, pdq
from tamis.banks.matcher import BankHit, get_matcher, match_hashes
from tamis.schema import VERDICT_RANK, BankMatchEvidence, Item, Signal
from tamis.store.db import session_factory
from tamis.taxonomy import CATEGORIES


def in_rollout(sha256: str, bank_id: str, rollout: float) -> bool:
    """Deterministic per (content, bank): the same image is always in or out of a staged bank."""
    if rollout >= 1.0:
        return True
    bucket = int(hashlib.sha256(f"{bank_id}:{sha256}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return bucket < rollout


class HashMatch:
    name = "hash-match"
    version = "1"
    media = frozenset({"image"})
    categories = CATEGORIES  # whatever the project's banks are labelled with

    def __init__(self, project: str, *, rotations: bool = False) -> None:
        self.project = project
        self.rotations = rotations

    def _hashes(self, item: Item) -> dict[str, str | list[str]]:
        image = item.image
        assert image is not None
        hashes: dict[str, str | list[str]] = {"md5": digests.md5_hex(image.data), "sha256": digests.sha256_hex(image.data)}
        if self.rotations:
            variants = pdq.pdq_dihedral(image.image)
            first = variants[0]
            hashes["pdq"] = [v.hex for v in variants if v.quality >= pdq.MIN_QUALITY]
        else:
            # Agreeing with hashes other tools computed needs the original pixels when the working
            # copy is not a plain downscale (alpha flattened, 16-bit rescaled, EXIF-rotated).
            first = pdq.pdq_hash(image.image) if image.plain else pdq.pdq_hash_bytes(image.data)
            hashes["pdq"] = [first.hex] if first.quality >= pdq.MIN_QUALITY else []
        hashes["pdq_hex"], hashes["pdq_quality"] = first.hex, str(first.quality)
        return hashes

    def analyze(self, batch: Sequence[Item]) -> list[Signal]:
        if not batch:
            return []
        queries = [self._hashes(item) for item in batch]
        with session_factory()() as session:
            hits = match_hashes(session, get_matcher(), self.project, queries)
        return [self._signal(q, h) for q, h in zip(queries, hits)]

    def _signal(self, hashes: dict[str, str | list[str]], hits: list[BankHit]) -> Signal:
        signal = Signal(self.name, self.version)
        signal.hashes = {"pdq": str(hashes["pdq_hex"]), "pdq_quality": str(hashes["pdq_quality"]),
                         "md5": str(hashes["md5"]), "sha256": str(hashes["sha256"])}
        sha256 = str(hashes["sha256"])
        live = [h for h in hits if not h.shadow and in_rollout(sha256, h.bank_id, h.rollout)]
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
            if VERDICT_RANK[hit.action] > VERDICT_RANK[signal.actions.get(key, "pass")]:
                signal.actions[key] = hit.action  # type: ignore[assignment]
        return signal
