"""`lists`: the policy's term and regex lists, matched on normalised text (see `tamis.normalize`).

Block lists produce a score of 1.0 for their category, `list` evidence and the action the list asks
for; allow lists mask spans (a place name that contains a slur, a brand that looks profane) so that
neither the block lists nor the text analyzers see them. A list that does not match says nothing
about its category, so no score is reported for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import regex

from tamis.items import VERDICT_RANK, Item, ListEvidence, Signal
from tamis.normalize import normalize, term_pattern

# Operator regexes run on user text: a time limit keeps a careless pattern from hanging a worker.
REGEX_TIMEOUT_S = 0.05


@dataclass(frozen=True)
class Match:
    list: str
    entry: str
    start: int
    end: int


@dataclass
class CompiledList:
    name: str
    terms: list[tuple[str, regex.Pattern, regex.Pattern]]  # (entry, on skeletons, inside spaced-out runs)
    patterns: list[tuple[str, regex.Pattern]]  # (entry, pattern on the original text)
    category: str | None = None
    action: str = "block"

    @classmethod
    def build(cls, name: str, terms: Sequence[str], patterns: Sequence[str], **kw: str) -> CompiledList:
        compiled_terms = [
            (t, regex.compile(p), regex.compile(term_pattern(t, whole_words=False)))
            for t in terms
            if (p := term_pattern(t))
        ]
        compiled_patterns = [(p, regex.compile(p, regex.IGNORECASE | regex.V1)) for p in patterns]
        return cls(name, compiled_terms, compiled_patterns, **kw)

    def matches(self, text: str) -> list[Match]:
        found: list[Match] = []
        skeleton = normalize(text)
        for entry, pattern, loose in self.terms:
            spans = [m.span() for m in pattern.finditer(skeleton.text, timeout=REGEX_TIMEOUT_S)]
            for run_start, run_end in skeleton.runs:
                spans += [
                    m.span() for m in loose.finditer(skeleton.text, run_start, run_end, timeout=REGEX_TIMEOUT_S)
                    if not any(s <= m.start() < e for s, e in spans)
                ]
            for span in sorted(spans):
                start, end = skeleton.span(*span)
                found.append(Match(self.name, entry, start, end))
        for entry, pattern in self.patterns:
            try:
                for m in pattern.finditer(text, timeout=REGEX_TIMEOUT_S):
                    if m.end() > m.start():
                        found.append(Match(self.name, entry, m.start(), m.end()))
            except TimeoutError:
                continue  # a pathological pattern on this text: no match rather than a stuck worker
        return found


def _overlaps(m: Match, spans: Sequence[tuple[int, int]]) -> bool:
    return any(m.start < end and start < m.end for start, end in spans)


class ListMatcher:
    """One policy version's lists, compiled once and cached by the policy cache."""

    name = "lists"
    media = frozenset({"text"})

    def __init__(self, version: str, block: Sequence[CompiledList], allow: Sequence[CompiledList]) -> None:
        self.version = version
        self.block = list(block)
        self.allow = list(allow)
        self.categories = tuple(sorted({b.category for b in self.block if b.category}))

    def allowed_spans(self, text: str) -> list[tuple[int, int]]:
        return [(m.start, m.end) for a in self.allow for m in a.matches(text)]

    def mask_allowed(self, text: str) -> str:
        """The text with allow-listed spans blanked (same length, so offsets still hold)."""
        chars = list(text)
        for start, end in self.allowed_spans(text):
            chars[start:end] = " " * (end - start)
        return "".join(chars)

    def analyze(self, batch: Sequence[Item]) -> list[Signal]:
        return [self._signal(item.text or "") for item in batch]

    def _signal(self, text: str) -> Signal:
        signal = Signal(self.name, self.version)
        allowed = self.allowed_spans(text) if self.allow else []
        for block_list in self.block:
            for m in block_list.matches(text):
                if _overlaps(m, allowed):
                    continue
                category = block_list.category
                signal.evidence.append(
                    ListEvidence(list=m.list, entry=m.entry, start=m.start, end=m.end, category=category)
                )
                if category:
                    signal.scores[category] = 1.0
                key = category or f"list:{block_list.name}"
                current = signal.actions.get(key, "pass")
                if VERDICT_RANK[block_list.action] > VERDICT_RANK[current]:
                    signal.actions[key] = block_list.action  # type: ignore[assignment]
        return signal
