"""Near-copies between hand-written training sentences and the probes that measure generalisation.

A probe passed because the model was trained on it, or on the same sentence with two words changed ("I will
stab you the next time I see you" for "I'm going to stab you the next time I see you"), measures memory, not
generalisation. After lower-casing and dropping punctuation, two texts are near-copies when one holds the other
whole ("I swear I will kill you if you post that again" holds "I will kill you"), or when they share most of
their character trigrams (Dice coefficient): that catches reworded copies in any script, while sentences that
only share a phrase ("I will", "you are a") stay below it.
"""

from __future__ import annotations

import re
import unicodedata

# Dice coefficient of the trigram sets from which two texts count as near-copies: one-word substitutions stay
# above it ("I will stab you the next time I see you" / "I'm going to stab you the next time I see you": 0.78).
NEAR_COPY = 0.55


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def trigrams(text: str) -> frozenset[str]:
    t = f" {_normal(text)} "
    return frozenset(t[i:i + 3] for i in range(len(t) - 2))


def dice(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def holds(longer: str, shorter: str) -> bool:
    """Whether `shorter` (normalised) is a run of whole words of `longer`."""
    return f" {shorter} " in f" {longer} " if shorter else False


def near_copies(written: list[str], probes: list[str], threshold: float = NEAR_COPY) -> list[tuple[str, str, float]]:
    """(written, probe, overlap) for every pair at or above the threshold, most alike first."""
    wt = [(w, _normal(w), trigrams(w)) for w in written]
    found = []
    for p in probes:
        pn, pt = _normal(p), trigrams(p)
        for w, wn, t in wt:
            o = 1.0 if holds(wn, pn) or holds(pn, wn) else dice(t, pt)
            if o >= threshold:
                found.append((w, p, round(o, 3)))
    return sorted(found, key=lambda x: -x[2])
