"""The read-text stage of tamis.analyzers.image_text with a hand-made ReadText and fake text analyzers
(no OCR, no models): the text read in an image goes through the text analyzers, and their evidence
comes back as boxes on the image. tests/test_image_text.py covers the same path end to end."""

from __future__ import annotations

import time
from collections.abc import Sequence

from tamis.analyzers.image_text import NAME, ReadSignal, add_read_text_signals, mapped
from tamis.media.ocr import Line, ReadText, Word
from tamis.schema import AnalyzerRun, BBoxEvidence, Item, ListEvidence, Signal, SpanEvidence, UrlEvidence

Box = tuple[int, int, int, int]


def quad(x: int, y: int, w: int, h: int) -> tuple[tuple[float, float], ...]:
    return ((x, y), (x + w, y), (x + w, y + h), (x, y + h))


def line(text: str, y: int, word_boxes: dict[str, Box] | None = None) -> Line:
    """A line at height y, 10 px per character; with boxes for the words named."""
    words = [Word(w, quad(*box)) for w, box in (word_boxes or {}).items()]
    return Line(text, quad(0, y, 10 * len(text), 20), 0.99, words)


# "look at this\nI will burn it": offsets 0-11 on line 1, 13-26 on line 2 (12 is the newline).
READ = ReadText([line("look at this", 0), line("I will burn it", 40, {"I": (0, 40, 8, 20), "will": (20, 40, 40, 20),
                                                                       "burn": (70, 42, 44, 18), "it": (120, 40, 20, 20)})],
                "fake")
BURN = READ.text.index("burn")


class FakeText:
    """A text analyzer: scores violence 0.9 and gives span evidence where it finds `burn`."""

    name = "fake-text"
    version = "3"
    media = frozenset({"text"})
    categories = ("violence",)

    def __init__(self) -> None:
        self.seen: list[str | None] = []

    def analyze(self, batch: Sequence[Item]) -> list[Signal]:
        out = []
        for item in batch:
            self.seen.append(item.text)
            text = item.text or ""
            at = text.find("burn")
            evidence = [SpanEvidence(start=at, end=at + 4, category="violence", analyzer=self.name)] if at >= 0 else []
            out.append(Signal(self.name, self.version, {"violence": 0.9 if at >= 0 else 0.01}, evidence))
        return out


class FakeImage(FakeText):
    name = "fake-image"
    media = frozenset({"image"})


def runner(analyzer, items: Sequence[Item]) -> tuple[dict[int, Signal], float]:  # type: ignore[no-untyped-def]
    """As tamis.services.moderation runs an analyzer: signals by item index, and ms per item."""
    indexes = [i for i, item in enumerate(items) if any(item.has(kind) for kind in analyzer.media)]
    start = time.perf_counter()
    signals = analyzer.analyze([items[i] for i in indexes]) if indexes else []
    return dict(zip(indexes, signals)), (time.perf_counter() - start) * 1000 + 1.0


def stage(reads: list[ReadText | None], analyzers: Sequence[object], cache: dict | None = None,  # type: ignore[type-arg]
          mask=None, runs: list[list[AnalyzerRun]] | None = None) -> list[list[Signal]]:  # type: ignore[no-untyped-def]
    items = [Item(f"img{i}") for i in range(len(reads))]
    signals: list[list[Signal]] = [[ReadSignal(NAME, "1", read=r)] for r in reads]
    add_read_text_signals(items, analyzers, signals, runs if runs is not None else [[] for _ in items],  # type: ignore[arg-type]
                          {} if cache is None else cache, runner, mask)
    return signals


def boxes(signal: Signal) -> list[BBoxEvidence]:
    return [e for e in signal.evidence if isinstance(e, BBoxEvidence)]


def test_read_text_is_judged_by_the_text_analyzers_and_its_spans_become_boxes_on_the_words() -> None:
    analyzer = FakeText()
    [[read_signal, signal]] = stage([READ], [analyzer])
    assert analyzer.seen == [READ.text]
    assert isinstance(read_signal, ReadSignal)
    assert signal.ref == "fake-text@3" and signal.scores == {"violence": 0.9}
    assert not any(isinstance(e, SpanEvidence) for e in signal.evidence)  # offsets in read text mean nothing to a client
    [box] = boxes(signal)
    assert (box.x, box.y, box.w, box.h) == (70, 42, 44, 18)  # the word's own box
    assert (box.text, box.label, box.category, box.analyzer, box.score) == ("burn", "text", "violence", "fake-text", 0.9)


def test_images_without_text_worth_reading_get_nothing_and_analyzers_do_not_run() -> None:
    analyzer = FakeText()
    signals = stage([None, None], [analyzer])
    assert [len(s) for s in signals] == [1, 1] and analyzer.seen == []


def test_only_images_with_read_text_get_the_text_signals_in_one_batch() -> None:
    analyzer = FakeText()
    signals = stage([None, READ, None, READ], [analyzer])
    assert [len(s) for s in signals] == [1, 2, 1, 2]
    assert analyzer.seen == [READ.text, READ.text]


def test_analyzers_that_do_not_read_text_are_not_run_on_it() -> None:
    image_only, text = FakeImage(), FakeText()
    asked: list[str] = []

    def recording(analyzer, items):  # type: ignore[no-untyped-def]
        asked.append(analyzer.name)
        return runner(analyzer, items)

    items, signals = [Item("img0")], [[ReadSignal(NAME, "1", read=READ)]]
    add_read_text_signals(items, [image_only, text], signals, [[]], {}, recording)  # type: ignore[list-item]
    assert asked == ["fake-text"] and image_only.seen == []
    assert [s.analyzer for s in signals[0][1:]] == ["fake-text"]


def test_the_mask_blanks_allowed_spans_before_any_analyzer_reads() -> None:
    analyzer = FakeText()
    [found] = stage([READ], [analyzer], mask=lambda text: text.replace("burn", "    "))
    assert analyzer.seen == [READ.text.replace("burn", "    ")]
    assert found[1].scores == {"violence": 0.01} and boxes(found[1]) == []


def test_runs_on_the_same_read_text_are_shared_through_the_cache() -> None:
    analyzer, cache = FakeText(), {}  # type: ignore[var-annotated]
    first = stage([READ], [analyzer], cache)
    second = stage([READ], [analyzer], cache)  # e.g. the shadow policy
    assert analyzer.seen == [READ.text]
    assert first[0][1].scores == second[0][1].scores


def test_time_on_read_text_adds_to_the_same_analyzers_run() -> None:
    runs = [[AnalyzerRun(name="fake-text", version="3", ms=5.0)]]
    stage([READ], [FakeText()], runs=runs)
    [run] = runs[0]
    assert run.name == "fake-text" and run.ms >= 6.0  # 5 ms on the item's own text + at least 1 on the read text
    other = [[]]  # type: ignore[var-annotated]
    stage([READ], [FakeText()], runs=other)
    assert [r.name for r in other[0]] == ["fake-text"]


# --- mapped: evidence on the read text moved onto the image ---------------------------------------


def test_a_span_over_two_lines_gives_a_box_on_each_line() -> None:
    start, end = READ.text.index("this"), READ.text.index("will") + 4
    signal = Signal("t", "1", {"violence": 0.7}, [SpanEvidence(start=start, end=end, category="violence")])
    found = boxes(mapped(signal, READ))
    assert len(found) == 2 and {b.y for b in found} == {0, 40}
    assert all(b.analyzer == "t" and b.score == 0.7 for b in found)  # the signal's analyzer and score


def test_list_matches_become_boxes_labelled_with_the_list_and_offsetless_ones_are_dropped() -> None:
    signal = Signal("lists", "1", {"violence": 1.0}, [
        ListEvidence(list="threats", entry="burn", start=BURN, end=BURN + 4, category="violence"),
        ListEvidence(list="threats", entry="regex"),
    ], actions={"threats": "block"})
    result = mapped(signal, READ)
    [box] = result.evidence
    assert isinstance(box, BBoxEvidence) and box.label == "list:threats" and box.text == "burn"
    assert result.actions == {"threats": "block"}


def test_a_url_in_read_text_is_marked_as_read_and_boxed() -> None:
    start = READ.text.index("look")
    url = UrlEvidence(url="https://look.example/", domain="look.example", source="text", start=start, end=start + 4,
                      category="scam", score=0.8, analyzer="links")
    result = mapped(Signal("links", "1", {"scam": 0.8}, [url]), READ)
    [moved] = [e for e in result.evidence if isinstance(e, UrlEvidence)]
    assert moved.source == "ocr" and moved.start is None and moved.end is None and moved.url == url.url
    [box] = boxes(result)
    assert box.label == "url" and box.y == 0 and box.score == 0.8


def test_mapped_is_a_copy() -> None:
    signal = Signal("t", "1", {"violence": 0.9}, [SpanEvidence(start=BURN, end=BURN + 4)], {"x": "review"})
    result = mapped(signal, READ)
    result.scores["violence"] = 0.0
    result.actions.clear()
    assert signal.scores == {"violence": 0.9} and signal.actions == {"x": "review"}
    assert isinstance(signal.evidence[0], SpanEvidence)
