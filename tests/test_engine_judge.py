"""tamis.engine.judge with fake analyzers (no models): a batch's analyzers run side by side, and
their signals come back in the policy's order whatever order they finish in."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from PIL import Image

from tamis.engine.judge import analyze
from tamis.engine.policy import Policy, PolicyBody
from tamis.schema import DecodedImage, Item, Signal


class Meeting:
    """An image analyzer that waits for the others at a barrier: only analyzers running at once pass it."""

    media = frozenset({"image"})
    categories = ("sexual",)
    version = "1"

    def __init__(self, name: str, barrier: threading.Barrier, score: float) -> None:
        self.name, self.barrier, self.score = name, barrier, score

    def analyze(self, batch: Sequence[Item]) -> list[Signal]:
        self.barrier.wait()  # raises BrokenBarrierError after its timeout when the others run later
        return [Signal(self.name, self.version, {"sexual": self.score}) for _ in batch]


def test_a_batchs_analyzers_run_side_by_side() -> None:
    barrier = threading.Barrier(2, timeout=10)
    analyzers = [Meeting("first", barrier, 0.1), Meeting("second", barrier, 0.2)]
    policy = Policy("p", 1, PolicyBody(analyzers=[]))
    items = [Item("a", image=DecodedImage(Image.new("RGB", (4, 4)), b"png", "PNG", 4, 4)), Item("b", text="hi")]
    signals, runs = analyze(policy, items, extra=analyzers)
    assert [s.analyzer for s in signals[0]] == ["first", "second"]
    assert [s.scores["sexual"] for s in signals[0]] == [0.1, 0.2]
    assert [r.name for r in runs[0]] == ["first", "second"] and signals[1] == []


def test_an_analyzers_error_reaches_the_caller() -> None:
    class Broken(Meeting):
        def analyze(self, batch: Sequence[Item]) -> list[Signal]:
            raise RuntimeError("model failed")

    barrier = threading.Barrier(1)
    policy = Policy("p", 1, PolicyBody(analyzers=[]))
    items = [Item("a", image=DecodedImage(Image.new("RGB", (4, 4)), b"png", "PNG", 4, 4))]
    with pytest.raises(RuntimeError, match="model failed"):
        analyze(policy, items, extra=[Meeting("fine", barrier, 0.1), Broken("broken", barrier, 0.2)])
