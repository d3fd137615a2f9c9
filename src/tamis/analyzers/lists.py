"""`lists`: the policy's term and regex lists, matched on normalised text (see `tamis.normalize`).

Block lists produce a score of 1.0 for their category, `list` evidence and the action the list asks
for; allow lists mask spans (a place name that contains a slur, a brand that looks profane) so that
neither the block lists nor the text analyzers see them. A list that does not match says nothing
about its category, so no score is reported for it.
"""

from __future__ import annotations

from collections.abc import Sequence
import time
from dataclasses import dataclass

import regex

from tamis.schema import Item, ListEvidence, Signal
from tamis.normalize import normalize, term_pattern

# Operator regexes run on user text: a time limit keeps a careless pattern from hanging a worker.
REGEX_TIMEOUT_S = 0.05
# A text's whole pass through a policy's lists (every term and regex, allow lists included). When it
# runs out, the lists not yet checked are not silently skipped: the item goes to review.
TEXT_BUDGET_S = 1.0
BUDGET_KEY = "time-budget"


class BudgetSpent(Exception):
    """The text's time for the lists ran out before every list was checked."""


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise BudgetSpent
    return left


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

    def matches(self, text: str, deadline: float | None = None) -> list[Match]:
        """Every match in text; BudgetSpent once `deadline` (time.monotonic()) passes."""
        deadline = time.monotonic() + TEXT_BUDGET_S if deadline is None else deadline
        found: list[Match] = []
        skeleton = normalize(text)
        for entry, pattern, loose in self.terms:
            try:
                spans = [m.span() for m in pattern.finditer(skeleton.text, timeout=_left(deadline))]
                for run_start, run_end in skeleton.runs:
                    spans += [
                        m.span() for m in loose.finditer(skeleton.text, run_start, run_end, timeout=_left(deadline))
                        if not any(s <= m.start() < e for s, e in spans)
                    ]
            except TimeoutError:
                raise BudgetSpent from None  # a term's pattern is linear: only the text's budget stops it
            for span in sorted(spans):
                start, end = skeleton.span(*span)
                found.append(Match(self.name, entry, start, end))
        for entry, pattern in self.patterns:
            timeout = min(REGEX_TIMEOUT_S, _left(deadline))
            try:
                for m in pattern.finditer(text, timeout=timeout):
                    if m.end() > m.start():
                        found.append(Match(self.name, entry, m.start(), m.end()))
            except TimeoutError:
                _left(deadline)
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

    def allowed_spans(self, text: str, deadline: float | None = None) -> list[tuple[int, int]]:
        deadline = time.monotonic() + TEXT_BUDGET_S if deadline is None else deadline
        return [(m.start, m.end) for a in self.allow for m in a.matches(text, deadline)]

    def mask_allowed(self, text: str) -> str:
        """The text with allow-listed spans blanked (same length, so offsets still hold).

        Out of time, the text is returned as it is: analyzers then see more, never less."""
        chars = list(text)
        try:
            spans = self.allowed_spans(text)
        except BudgetSpent:
            return text
        for start, end in spans:
            chars[start:end] = " " * (end - start)
        return "".join(chars)

    def analyze(self, batch: Sequence[Item]) -> list[Signal]:
        return [self._signal(item.text or "") for item in batch]

    def _signal(self, text: str) -> Signal:
        signal = Signal(self.name, self.version)
        deadline = time.monotonic() + TEXT_BUDGET_S
        try:
            self._match(text, signal, deadline)
        except BudgetSpent:
            # Lists left unchecked must not let the text through unseen: a person looks at it.
            signal.actions[BUDGET_KEY] = "review"
        return signal

    def _match(self, text: str, signal: Signal, deadline: float) -> None:
        allowed = self.allowed_spans(text, deadline) if self.allow else []
        for block_list in self.block:
            for m in block_list.matches(text, deadline):
                if _overlaps(m, allowed):
                    continue
                category = block_list.category
                signal.evidence.append(
                    ListEvidence(list=m.list, entry=m.entry, start=m.start, end=m.end, category=category)
                )
                if category:
                    signal.scores[category] = 1.0
                key = category or f"list:{block_list.name}"
                signal.ask(key, block_list.action)
