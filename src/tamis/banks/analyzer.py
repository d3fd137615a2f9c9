"""`hash-match`: images against the project's hash banks (PDQ near matches, MD5/SHA-256 exact).

Built per project by tamis.services.moderation (banks belong to projects) and run on every image,
whatever the policy's analyzers. The bank rules (negative and shadow banks, roll-out) are
tamis.banks.rules'. The computed hashes travel on the signal so that they can be kept for
retroactive matching.
"""

from __future__ import annotations

from collections.abc import Sequence

from tamis.banks.matcher import get_matcher, match_hashes
from tamis.banks.rules import NAME, VERSION, bank_signal
from tamis.hashing import digests, pdq
from tamis.schema import Item, Signal
from tamis.store.db import session_factory
from tamis.taxonomy import CATEGORIES


class HashMatch:
    name = NAME
    version = VERSION
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
        return [bank_signal({k: v for k, v in q.items() if isinstance(v, str)}, h) for q, h in zip(queries, hits)]
