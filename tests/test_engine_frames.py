"""tamis.engine.frames with fake analyzers (no models): an animation's sampled frames each go through
the image analyzers, and the item scores as its worst frame, with `frame` evidence where a frame
carried a category."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image

from tamis.engine.frames import EVIDENCE_MIN_SCORE, analyze_frames, merge, per_frame
from tamis.schema import BBoxEvidence, DecodedImage, FrameEvidence, Item, Signal, Verdict


def picture() -> Image.Image:
    return Image.new("RGB", (4, 4))


def animation(data_id: str, times: Sequence[int]) -> tuple[Item, list[Image.Image]]:
    frames = [picture() for _ in times]
    image = DecodedImage(frames[0], b"gif", "GIF", 4, 4, frames=list(zip(times, frames)))
    return Item(data_id, image=image), frames


def still(data_id: str) -> Item:
    image = picture()
    return Item(data_id, image=DecodedImage(image, b"png", "PNG", 4, 4))


class FakeImageAnalyzer:
    """Scores each picture as told (by the picture object's identity) and records what it was given."""

    name = "fake-image"
    version = "1"
    media = frozenset({"image"})
    categories = ("violence", "sexual")

    def __init__(self, scores: dict[int, dict[str, float]] | None = None,
                 actions: dict[int, dict[str, Verdict]] | None = None,
                 boxes: dict[int, list[BBoxEvidence]] | None = None) -> None:
        self.scores, self.actions, self.boxes = scores or {}, actions or {}, boxes or {}
        self.batches: list[list[Item]] = []

    def analyze(self, batch: Sequence[Item]) -> list[Signal]:
        self.batches.append(list(batch))
        out = []
        for item in batch:
            key = id(item.image.image) if item.image else 0
            out.append(Signal(self.name, self.version, dict(self.scores.get(key, {})),
                              list(self.boxes.get(key, [])), dict(self.actions.get(key, {})),
                              hashes={"md5": "same-for-all"}))
        return out


def frame_evidence(signal: Signal) -> list[FrameEvidence]:
    return [e for e in signal.evidence if isinstance(e, FrameEvidence)]


def test_image_analyzers_look_at_frames_unless_they_opt_out() -> None:
    assert per_frame(FakeImageAnalyzer())

    class Text(FakeImageAnalyzer):
        media = frozenset({"text"})

    class Both(FakeImageAnalyzer):
        media = frozenset({"text", "image"})

    class HashMatch(FakeImageAnalyzer):
        name = "hash-match"

    class OptedOut(FakeImageAnalyzer):
        per_frame = False

    class OptedIn(Both):
        per_frame = True

    assert not per_frame(Text()) and not per_frame(Both()) and not per_frame(HashMatch()) and not per_frame(OptedOut())
    assert per_frame(OptedIn())


def test_a_batch_of_stills_goes_to_the_analyzer_unchanged() -> None:
    analyzer = FakeImageAnalyzer()
    batch = [still("a"), still("b")]
    signals = analyze_frames(analyzer, batch)
    assert analyzer.batches == [batch]
    assert len(signals) == 2 and all(not frame_evidence(s) for s in signals)


def test_each_frame_is_analyzed_as_a_still_and_the_item_scores_as_its_worst_frame() -> None:
    anim, (f0, f1, f2) = animation("anim", [0, 100, 250])
    analyzer = FakeImageAnalyzer(scores={
        id(f0): {"violence": 0.2, "sexual": 0.1},
        id(f1): {"violence": 0.9, "sexual": 0.05},
        id(f2): {"violence": 0.4, "sexual": 0.3},
    })
    [signal] = analyze_frames(analyzer, [anim])

    [seen] = analyzer.batches
    assert [item.image.image for item in seen] == [f0, f1, f2]  # type: ignore[union-attr]
    assert all(item.image and item.image.frames == [] for item in seen)  # each frame is a still
    assert signal.scores == {"violence": 0.9, "sexual": 0.3}
    assert signal.analyzer == analyzer.name and signal.version == analyzer.version


def test_stills_and_animations_in_one_batch_keep_their_order() -> None:
    anim, (f0, f1) = animation("anim", [0, 500])
    first, last = still("first"), still("last")
    analyzer = FakeImageAnalyzer(scores={
        id(first.image.image): {"violence": 0.11},  # type: ignore[union-attr]
        id(f0): {"violence": 0.2}, id(f1): {"violence": 0.7},
        id(last.image.image): {"violence": 0.33},  # type: ignore[union-attr]
    })
    signals = analyze_frames(analyzer, [first, anim, last])
    assert [s.scores["violence"] for s in signals] == [0.11, 0.7, 0.33]
    assert len(analyzer.batches) == 1 and len(analyzer.batches[0]) == 4  # one batch: 1 + 2 frames + 1


def test_frame_evidence_marks_each_frame_that_carried_a_category_at_its_time() -> None:
    anim, (f0, f1, f2) = animation("anim", [0, 120, 480])
    analyzer = FakeImageAnalyzer(scores={
        id(f0): {"violence": EVIDENCE_MIN_SCORE},  # at the floor: carried
        id(f1): {"violence": EVIDENCE_MIN_SCORE - 0.01, "sexual": 0.2},
        id(f2): {"violence": 0.8, "sexual": 0.6},
    })
    [signal] = analyze_frames(analyzer, [anim])
    marked = {(e.category, e.t_ms) for e in frame_evidence(signal)}
    assert marked == {("violence", 0), ("violence", 480), ("sexual", 480)}
    assert all(e.analyzer == analyzer.name for e in frame_evidence(signal))
    by_key = {(e.category, e.t_ms): e.score for e in frame_evidence(signal)}
    assert by_key[("violence", 480)] == 0.8 and by_key[("sexual", 480)] == 0.6


def test_a_category_no_frame_reports_stays_not_assessed() -> None:
    anim, (f0, f1) = animation("anim", [0, 100])
    [signal] = analyze_frames(FakeImageAnalyzer(scores={id(f0): {"violence": 0.3}, id(f1): {}}), [anim])
    assert signal.scores == {"violence": 0.3}  # "sexual" absent, never 0


def test_the_most_severe_action_of_any_frame_wins() -> None:
    anim, (f0, f1, f2) = animation("anim", [0, 100, 200])
    analyzer = FakeImageAnalyzer(actions={
        id(f0): {"bank:a": "review"}, id(f1): {"bank:a": "block", "bank:b": "review"}, id(f2): {"bank:a": "review"},
    })
    [signal] = analyze_frames(analyzer, [anim])
    assert signal.actions == {"bank:a": "block", "bank:b": "review"}


def test_a_frames_boxes_get_its_time_unless_they_have_one() -> None:
    anim, (f0, f1) = animation("anim", [0, 300])
    own_time = BBoxEvidence(x=0, y=0, w=1, h=1, label="kept", t_ms=7)
    analyzer = FakeImageAnalyzer(boxes={
        id(f0): [BBoxEvidence(x=1, y=1, w=2, h=2, label="a")],
        id(f1): [BBoxEvidence(x=2, y=2, w=2, h=2, label="b"), own_time],
    })
    [signal] = analyze_frames(analyzer, [anim])
    boxes = {e.label: e.t_ms for e in signal.evidence if isinstance(e, BBoxEvidence)}
    assert boxes == {"a": 0, "b": 300, "kept": 7}


def test_an_analyzer_that_opts_out_sees_the_animation_whole() -> None:
    class Whole(FakeImageAnalyzer):
        per_frame = False

    anim, _ = animation("anim", [0, 100, 200])
    analyzer = Whole(scores={id(anim.image.image): {"violence": 0.6}})  # type: ignore[union-attr]
    [signal] = analyze_frames(analyzer, [anim])
    assert analyzer.batches == [[anim]]
    assert signal.scores == {"violence": 0.6} and not frame_evidence(signal)


def test_merge_keeps_the_first_frames_identity_and_hashes() -> None:
    signals = [Signal("a", "2", {"violence": 0.1}, hashes={"md5": "x"}, language={"code": "en"}),
               Signal("a", "2", {"violence": 0.2}, hashes={"md5": "y"})]
    merged = merge(signals, [0, 40])
    assert merged.ref == "a@2" and merged.hashes == {"md5": "x"} and merged.language == {"code": "en"}
    assert merged.scores == {"violence": 0.2}
    signals[0].hashes["md5"] = "changed"
    assert merged.hashes == {"md5": "x"}  # a copy, not the frame's dict
