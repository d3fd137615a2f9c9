"""tamis.engine.video_signals with hand-made frame signals (no models, no video): what the policy flags
on a frame, the time ranges flagged frames make (the gap rule), and the one signal per analyzer a
video gets from its frames."""

from __future__ import annotations

from tamis.engine.policy import Policy, PolicyBody, Thresholds
from tamis.engine.video_signals import GAP_INTERVALS, JudgedFrame, flagged, flagged_ranges, video_signals
from tamis.schema import BankMatchEvidence, BBoxEvidence, FrameEvidence, Signal, UrlEvidence

POLICY = Policy("video-test", 1, PolicyBody(analyzers=[], categories={
    "violence": Thresholds(review=0.5, block=0.8),
    "sexual": Thresholds(review=0.6),
}))
INTERVAL_MS = 1000


def sig(analyzer: str = "img", **scores: float) -> Signal:
    return Signal(analyzer, "1", {k.replace("_", "/"): v for k, v in scores.items()})


def frames_with(scores: dict[int, float], category: str = "violence") -> list[JudgedFrame]:
    return [JudgedFrame(t, [Signal("img", "1", {category: s})]) for t, s in scores.items()]


def ranges(frames: list[JudgedFrame], category: str = "violence") -> list[tuple[int, int | None]]:
    return [(r.t_ms, r.end_ms) for r in flagged_ranges(POLICY, frames, INTERVAL_MS) if r.category == category]


# --- flagged: what the policy flags on one frame ------------------------------------------------------


def test_flagged_names_categories_at_or_above_their_review_threshold_with_the_best_analyzer() -> None:
    found = flagged(POLICY, [sig("a", violence=0.55, sexual=0.59), sig("b", violence=0.7)])
    assert found == {"violence": (0.7, "b")}


def test_a_category_without_thresholds_is_never_flagged() -> None:
    assert flagged(POLICY, [sig(hate=0.99)]) == {}


def test_list_and_bank_actions_are_flagged_whatever_the_scores() -> None:
    bank = Signal("hash-match", "1", actions={"bank:known": "block"})
    listed = Signal("lists", "1", {"violence": 1.0}, actions={"threats": "review"})
    found = flagged(POLICY, [bank, listed, sig(violence=0.1)])
    assert found["bank:known"] == (None, "hash-match")
    assert found["threats"] == (None, "lists")
    assert found["violence"] == (1.0, "lists")


# --- flagged_ranges: consecutive flagged frames make one range -----------------------------------


def test_consecutive_flagged_frames_make_one_range_and_an_unflagged_sample_splits_it() -> None:
    frames = frames_with({0: 0.6, 1000: 0.9, 2000: 0.7, 3000: 0.1, 4000: 0.8})
    assert ranges(frames) == [(0, 2000), (4000, 4000)]


def test_the_gap_rule_joins_frames_up_to_gap_intervals_apart_and_no_further() -> None:
    limit = int(GAP_INTERVALS * INTERVAL_MS)
    assert ranges(frames_with({0: 0.9, limit: 0.9})) == [(0, limit)]  # e.g. a scene-change sample between
    assert ranges(frames_with({0: 0.9, limit + 1: 0.9})) == [(0, 0), (limit + 1, limit + 1)]


def test_a_range_carries_its_best_score_and_the_analyzer_that_gave_it() -> None:
    frames = [JudgedFrame(0, [sig("a", violence=0.6)]), JudgedFrame(1000, [sig("b", violence=0.95)]),
              JudgedFrame(2000, [sig("a", violence=0.7)])]
    [r] = flagged_ranges(POLICY, frames, INTERVAL_MS)
    assert (r.t_ms, r.end_ms, r.category, r.score, r.analyzer) == (0, 2000, "violence", 0.95, "b")


def test_ranges_are_per_category_in_time_order_whatever_the_frame_order() -> None:
    frames = [
        JudgedFrame(3000, [sig(violence=0.9, sexual=0.7)]),
        JudgedFrame(0, [sig(violence=0.9)]),
        JudgedFrame(1000, [sig(violence=0.9)]),
        JudgedFrame(4000, [sig(sexual=0.7)]),
    ]
    found = flagged_ranges(POLICY, frames, INTERVAL_MS)
    assert all(isinstance(r, FrameEvidence) for r in found)
    assert [r.t_ms for r in found] == sorted(r.t_ms for r in found)
    assert {(r.category, r.t_ms, r.end_ms) for r in found} == {
        ("violence", 0, 1000), ("violence", 3000, 3000), ("sexual", 3000, 4000)}


def test_no_flagged_frame_no_range() -> None:
    assert flagged_ranges(POLICY, frames_with({0: 0.1, 1000: 0.49}), INTERVAL_MS) == []
    assert flagged_ranges(POLICY, [], INTERVAL_MS) == []


# --- video_signals: one signal per analyzer for the whole video ---------------------------------


def by_ref(signals: list[Signal]) -> dict[str, Signal]:
    refs = [s.ref for s in signals]
    assert len(refs) == len(set(refs)), "one signal per analyzer"
    return dict(zip(refs, signals))


def test_each_category_scores_its_highest_frame_per_analyzer() -> None:
    frames = [
        JudgedFrame(0, [sig("a", violence=0.2, sexual=0.9), sig("b", violence=0.1)]),
        JudgedFrame(1000, [sig("a", violence=0.7), sig("b", violence=0.3)]),
    ]
    merged = by_ref(video_signals(POLICY, frames))
    assert merged["a@1"].scores == {"violence": 0.7, "sexual": 0.9}
    assert merged["b@1"].scores == {"violence": 0.3}


def test_the_most_severe_action_of_any_frame_wins() -> None:
    frames = [JudgedFrame(t, [Signal("lists", "1", actions={"threats": action})])
              for t, action in [(0, "review"), (1000, "block"), (2000, "review")]]
    [merged] = video_signals(POLICY, frames)
    assert merged.actions == {"threats": "block"}


def test_a_bank_entry_matched_on_many_frames_is_listed_once_with_its_closest_match() -> None:
    def match(distance: int, entry_id: int = 7) -> Signal:
        evidence = BankMatchEvidence(bank="known", entry="e", signal="pdq", distance=distance, entry_id=entry_id)
        return Signal("hash-match", "1", evidence=[evidence], actions={"bank:known": "block"})

    frames = [JudgedFrame(0, [match(20)]), JudgedFrame(1000, [match(3)]), JudgedFrame(2000, [match(12)]),
              JudgedFrame(3000, [match(30, entry_id=8)])]
    [merged] = video_signals(POLICY, frames)
    matches = [e for e in merged.evidence if isinstance(e, BankMatchEvidence)]
    assert sorted((e.entry_id, e.distance) for e in matches) == [(7, 3), (8, 30)]


def test_a_url_seen_on_many_frames_is_listed_once() -> None:
    url = UrlEvidence(url="https://scam.example/", domain="scam.example", source="qr", category="scam")
    frames = [JudgedFrame(t, [Signal("links", "1", {"scam": 0.9}, [url])]) for t in (0, 1000, 2000)]
    [merged] = video_signals(POLICY, frames)
    assert merged.evidence == [url]


def test_boxes_are_kept_only_on_flagged_frames_and_carry_the_frames_time() -> None:
    def boxed(label: str, violence: float) -> Signal:
        return Signal("img", "1", {"violence": violence}, [BBoxEvidence(x=1, y=2, w=3, h=4, label=label)])

    frames = [JudgedFrame(0, [boxed("calm", 0.1)]), JudgedFrame(1000, [boxed("fight", 0.9)]),
              JudgedFrame(2000, [boxed("after", 0.2)])]
    [merged] = video_signals(POLICY, frames)
    boxes = [e for e in merged.evidence if isinstance(e, BBoxEvidence)]
    assert [(b.label, b.t_ms) for b in boxes] == [("fight", 1000)]


def test_a_frame_flagged_by_one_analyzer_keeps_the_boxes_of_the_others() -> None:
    box = BBoxEvidence(x=0, y=0, w=5, h=5, label="part")
    frame = JudgedFrame(500, [sig("scorer", violence=0.9), Signal("boxer", "1", evidence=[box])])
    merged = by_ref(video_signals(POLICY, [frame]))
    assert [(b.label, b.t_ms) for b in merged["boxer@1"].evidence] == [("part", 500)]  # type: ignore[attr-defined]


def test_whole_video_signals_join_the_frames_signals_of_the_same_analyzer() -> None:
    near = BankMatchEvidence(bank="known", entry="e", signal="vpdq", distance=0, entry_id=1)
    frames = [JudgedFrame(0, [Signal("hash-match", "1", {}, [], {"bank:other": "review"})])]
    whole = [Signal("hash-match", "1", {}, [near], {"bank:known": "block"}), sig("digest", violence=0.0)]
    merged = by_ref(video_signals(POLICY, frames, whole))
    assert set(merged) == {"hash-match@1", "digest@1"}
    assert merged["hash-match@1"].actions == {"bank:other": "review", "bank:known": "block"}
    assert merged["hash-match@1"].evidence == [near]


def test_frame_signals_are_not_changed_by_merging() -> None:
    frame = JudgedFrame(0, [sig("a", violence=0.2)])
    later = JudgedFrame(1000, [sig("a", violence=0.9)])
    video_signals(POLICY, [frame, later])
    assert frame.signals[0].scores == {"violence": 0.2}
