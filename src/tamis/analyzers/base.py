"""The analyzer protocol, and a conformance helper so that a new analyzer is one file plus one test."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from tamis.schema import Item, MediaKind, Signal
from tamis.taxonomy import is_category


@runtime_checkable
class Analyzer(Protocol):
    """A source of signals. Analyzers score and explain; they never decide.

    `analyze` receives only items carrying one of `media`, in batches, and returns one signal per
    item, in order. A signal's scores hold only categories from `categories`.
    """

    name: str
    version: str
    media: frozenset[MediaKind]
    categories: tuple[str, ...]

    def analyze(self, batch: Sequence[Item]) -> list[Signal]: ...


def check_conformance(analyzer: Analyzer, batch: Sequence[Item]) -> list[Signal]:
    """Run `analyzer` on `batch` and check it keeps the protocol's promises; returns the signals."""
    assert isinstance(analyzer, Analyzer), f"{analyzer!r} does not implement Analyzer"
    assert analyzer.name and analyzer.version, "an analyzer needs a name and a version"
    assert all(is_category(c) for c in analyzer.categories), analyzer.categories
    signals = analyzer.analyze(batch)
    assert len(signals) == len(batch), "one signal per item"
    for signal in signals:
        assert signal.analyzer == analyzer.name and signal.version == analyzer.version
        for category, score in signal.scores.items():
            assert category in analyzer.categories, f"{category} not declared by {analyzer.name}"
            assert 0.0 <= score <= 1.0, f"{category} score {score} outside [0, 1]"
    assert analyzer.analyze([]) == [], "an empty batch gives no signals"
    return signals
