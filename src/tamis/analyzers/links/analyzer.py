"""`links`: the URLs in an item's text and in the QR and Aztec codes of its image, scored for
phishing by `fraudurl` (MIT code and model; a gradient-boosted model on the URL's text alone, run
here fully offline: its DNS/RDAP enrichment is never used) and checked against the policy's domain lists.

How scores are reached (figures from bench/links.py on bench/data/urls.jsonl, 292 URLs):
- `scam`: fraudurl's probability is mapped so that its own FRAUD threshold (0.873, set by its
  authors for 1% FPR) lands on the default policy's review threshold (0.5), and a certain URL at
  0.85, below the default block threshold: a model that reads only a URL's spelling sends to
  review, never blocks on its own. Below fraudurl's LEGITIMATE threshold (0.101) the score is 0.
  Measured: 2 of 116 legitimate URLs reach review (Spotify and Google Docs links with long ids),
  90% of the phishing-style URLs written after known patterns do, but only 24% of the (2010s
  premium-SMS) URLs in real smishing texts. At a realistic base rate most URLs it flags are
  legitimate: hence review, and domain lists for what an operator knows.
- Link shorteners (bit.ly, t.co, youtu.be...) are not scored by fraudurl: their spelling says
  nothing about where they lead, and fraudurl calls 84% of them FRAUD. A shortener is only a weak
  `spam` cue (0.3, below the default review threshold of 0.7), shown as evidence.
- A host whose labels mix Latin with Cyrillic, Greek or Armenian letters (`аpple.com`, shown as
  `xn--pple-43d.com`) scores `scam` at least HOMOGRAPH_SCAM (review): browsers refuse to show such
  names in Unicode for that reason, and fraudurl alone misses 5 of the 14 written homographs.
- A link in a QR code is a weak `spam` cue only together with a shortener (a QR code hiding a
  shortened link): a QR code to a menu, a ticket or a shop says nothing on its own.
- Domain lists (policy `domain_lists`): a blocked domain scores its list's category at 1.0 and
  asks for the list's action; an allowed domain is never scored by fraudurl.
The item's text and each code are read independently; the same URL seen twice counts once.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version as package_version
from typing import Literal

from fraudurl.cli import MODEL_SAFE
from fraudurl.lexical import SHORTENERS as FRAUDURL_SHORTENERS
from fraudurl.lexical import extract
from fraudurl.model import Model

from tamis.config import get_settings
from tamis.analyzers.links.domains import DomainHit, DomainMatcher
from tamis.schema import BBoxEvidence, Item, Signal, UrlEvidence
from tamis.analyzers.links.urls import Link, find_links
from tamis.media.codes import Code, read_codes

Source = Literal["text", "ocr", "qr", "barcode"]

# Services whose links hide their destination. fraudurl's own list, plus the big platforms' own
# shorteners that it lacks.
SHORTENERS = FRAUDURL_SHORTENERS | frozenset(
    """youtu.be amzn.to amzn.eu a.co goo.gl g.co forms.gle maps.app.goo.gl spoti.fi apple.co fb.me
    git.io dlvr.it ift.tt trib.al bit.do cli.gs qrco.de mcaf.ee db.tt on.ft.com nyti.ms wapo.st
    reut.rs bbc.in cnn.it tinyurl.com shorturl.at rb.gy t.ly""".split()
)

# fraudurl probability -> scam score (see the module docstring and bench/links.py).
SCAM_AT_FRAUD_THRESHOLD = 0.5
SCAM_MAX = 0.85
HOMOGRAPH_SCAM = 0.6
# Spam cues, combined as independent evidence (1 - product of (1 - cue)).
SHORTENER_SPAM = 0.3
QR_SPAM = 0.2
# Evidence is written for URLs scoring at least this (or on a list, or a spam cue).
EVIDENCE_MIN = 0.2


@dataclass
class Found:
    """One URL, where it was found, and (for codes) the code it came from."""

    link: Link
    source: Source
    code: Code | None = None


class Links:
    name = "links"
    version = f"1+fraudurl-{package_version('fraudurl')}"
    media = frozenset({"text", "image"})
    categories: tuple[str, ...] = ("scam", "spam")

    def __init__(self) -> None:
        self._model: Model | None = Model(MODEL_SAFE)  # plain JSON trees: ~40 ms, no network
        self._lists: DomainMatcher | None = None

    def with_lists(self, lists: DomainMatcher, tag: str, *, model: bool = True) -> Links:
        """This analyzer with a policy's domain lists (sharing the loaded model)."""
        bound = copy.copy(self)
        bound._lists = lists
        bound._model = self._model if model else None
        bound.version = f"{self.version}+lists.{tag}"
        list_categories = {c for c in lists.categories() if c}
        bound.categories = tuple(sorted(set(self.categories if model else ()) | list_categories))
        return bound

    def analyze(self, batch: Sequence[Item]) -> list[Signal]:
        return [self._signal(item) for item in batch]

    # --- one item ----------------------------------------------------------------------------

    def _signal(self, item: Item) -> Signal:
        signal = Signal(self.name, self.version)
        found = _dedupe(self._find(item))
        scam: list[float] = []
        cues: list[float] = []
        for f in found:
            hit = self._lists.match(f.link.host) if self._lists else None
            if hit is not None:
                self._listed(signal, f, hit)
                if hit.allow and self._model is not None:
                    scam.append(0.0)
                continue
            if self._model is None:
                continue
            if _is_shortener(f.link.host):
                cues.append(SHORTENER_SPAM)
                self._evidence(signal, f, "spam", SHORTENER_SPAM)
                continue
            score = scam_score(self._probability(f.link))
            if f.link.mixed_script:
                score = max(score, HOMOGRAPH_SCAM)
            scam.append(score)
            if score >= EVIDENCE_MIN:
                self._evidence(signal, f, "scam", score)
        if cues and any(f.source == "qr" for f in found):
            cues.append(QR_SPAM)  # a QR link adds to a shortener, never counts alone
        if scam:
            signal.scores["scam"] = max(signal.scores.get("scam", 0.0), max(scam))
        if cues:
            spam = 1.0
            for cue in cues:
                spam *= 1.0 - cue
            signal.scores["spam"] = max(signal.scores.get("spam", 0.0), round(1.0 - spam, 4))
        return signal

    def _find(self, item: Item) -> list[Found]:
        found = [Found(link, "text") for link in find_links(item.text or "")]
        if item.image is not None:
            for code in read_codes(item.image, large=get_settings().codes_second_look):
                source: Source = "qr" if code.is_qr else "barcode"
                found += [Found(link, source, code) for link in find_links(code.text)]
        return found

    def _probability(self, link: Link) -> float:
        assert self._model is not None
        # fraudurl reads the URL as written (scheme or not, path as is), not our normalised spelling:
        # it was trained on URLs as they appear, and "http://" is one of its features. The host goes
        # in lower-case ASCII, as a browser sends it: "WAY2SMS.COM" shouted in an SMS is no phishing
        # sign, but fraudurl counts upper-case letters.
        _, p, _, _ = self._model.predict(extract(link.spelled), want_reasons=False)
        return float(p)

    def _listed(self, signal: Signal, f: Found, hit: DomainHit) -> None:
        if hit.allow:
            self._evidence(signal, f, None, None, hit.list)
            return
        if hit.category:
            signal.scores[hit.category] = 1.0
        self._evidence(signal, f, hit.category, 1.0, hit.list)
        key = hit.category or f"list:{hit.list}"
        signal.ask(key, hit.action)

    def _evidence(self, signal: Signal, f: Found, category: str | None, score: float | None, listed: str | None = None) -> None:
        text = f.source == "text"
        signal.evidence.append(
            UrlEvidence(
                url=f.link.url, domain=f.link.domain, source=f.source,
                start=f.link.start if text else None, end=f.link.end if text else None,
                category=category, score=None if score is None else round(score, 4),
                list=listed, analyzer=self.name,
            )
        )
        if f.code is not None:  # where the code is in the image, for the reviewer
            c = f.code
            signal.evidence.append(
                BBoxEvidence(x=c.x, y=c.y, w=c.w, h=c.h, label=c.format, text=c.text[:500],
                             category=category, score=None if score is None else round(score, 4), analyzer=self.name)
            )


def scam_score(p: float, legit: float | None = None, fraud: float | None = None) -> float:
    """fraudurl's probability as a scam score: 0 up to its LEGITIMATE threshold, SCAM_AT_FRAUD_THRESHOLD
    at its FRAUD threshold, SCAM_MAX at 1; linear in between."""
    legit = _thresholds()[0] if legit is None else legit
    fraud = _thresholds()[1] if fraud is None else fraud
    if p <= legit:
        return 0.0
    if p < fraud:
        return SCAM_AT_FRAUD_THRESHOLD * (p - legit) / (fraud - legit)
    return SCAM_AT_FRAUD_THRESHOLD + (SCAM_MAX - SCAM_AT_FRAUD_THRESHOLD) * (p - fraud) / (1.0 - fraud)


@lru_cache(maxsize=1)
def _thresholds() -> tuple[float, float]:
    with open(MODEL_SAFE, encoding="utf-8") as fh:
        t = json.load(fh)["thresholds"]
    return float(t["legit"]), float(t["fraud"])


def _is_shortener(host: str) -> bool:
    labels = host.split(".")
    return any(".".join(labels[i:]) in SHORTENERS for i in range(len(labels) - 1))


def _dedupe(found: list[Found]) -> list[Found]:
    seen: set[tuple[str, str]] = set()
    out = []
    for f in found:
        key = (f.link.url, f.source if f.source == "text" else "code")
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
