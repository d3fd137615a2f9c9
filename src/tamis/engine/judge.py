"""Judging: the policy's analyzers over a batch of items, then the policy's decision on each.

No database and no HTTP here. Analyzers that need stored data (the project's hash banks) are
built by the caller and passed in as `extra`; tamis.services.moderation does that and records
what was decided.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from prometheus_client import Histogram

from tamis.analyzers import get_analyzer, image_text
from tamis.analyzers.base import Analyzer
from tamis.engine.domain_lists import bind_policy as bind_domain_lists
from tamis.engine.decision import decision, item_result
from tamis.engine.frames import analyze_frames
from tamis.engine.policy import Policy
from tamis.media.onnx import usable_cores
from tamis.schema import AnalyzerRun, DecisionDoc, Item, Signal

ANALYZER_SECONDS = Histogram(
    "tamis_analyzer_batch_seconds", "Time an analyzer spent on one batch.", ["analyzer"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# Runs of each analyzer shared by the policies (enforced and shadow) that judge the same batch.
Cache = dict[tuple[str, tuple[str | None, ...]], tuple[dict[int, Signal], float]]
Signals = list[list[Signal]]
Runs = list[list[AnalyzerRun]]


def _run(analyzer: Analyzer, items: Sequence[Item]) -> tuple[dict[int, Signal], float]:
    """Signals by item index, for the items this analyzer accepts; and ms per item."""
    indexes = [i for i, item in enumerate(items) if any(item.has(kind) for kind in analyzer.media)]
    if not indexes:
        return {}, 0.0
    start = time.perf_counter()
    signals = analyze_frames(analyzer, [items[i] for i in indexes])  # animations: every sampled frame
    elapsed = time.perf_counter() - start
    ANALYZER_SECONDS.labels(analyzer.name).observe(elapsed)
    return dict(zip(indexes, signals)), elapsed * 1000 / len(indexes)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _analysis_pool() -> ThreadPoolExecutor:
    """Threads that run a batch's analyzers side by side, one per core this process may use.

    Each model session runs on one thread (tamis.media.onnx), so one request running its analyzers
    one after another used one core; side by side they use them all. The pool is shared by every
    request and job, so concurrent requests still never run more analyzers at once than there are cores.
    """
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(1, usable_cores()), thread_name_prefix="tamis-analyze")
        return _pool


def _run_side_by_side(jobs: dict[tuple[str, tuple[str | None, ...]], Analyzer], items: Sequence[Item],
                      cache: Cache) -> None:
    """Fill `cache` with each job's run on `items`, the analyzers that have work running at once on
    the pool (one with nothing to do, or the only one, runs here)."""
    busy = {key: a for key, a in jobs.items() if any(item.has(kind) for item in items for kind in a.media)}
    futures: dict[tuple[str, tuple[str | None, ...]], Future[tuple[dict[int, Signal], float]]] = {}
    if len(busy) > 1:
        futures = {key: _analysis_pool().submit(_run, analyzer, items) for key, analyzer in busy.items()}
    for key, analyzer in jobs.items():
        if key not in futures:
            cache[key] = _run(analyzer, items)
    for key, future in futures.items():
        cache[key] = future.result()


def analyze(policy: Policy, items: Sequence[Item], cache: Cache | None = None, *,
            extra: Sequence[Analyzer] = ()) -> tuple[Signals, Runs]:
    """The signals of `policy`'s analyzers (and of `extra`) on `items`, not yet decided. `cache` is
    shared by policies judging the same batch of items, never across batches."""
    cache = {} if cache is None else cache
    lists = policy.lists()
    # Allow-listed spans are hidden from every text analyzer, not only from the block lists.
    seen = [replace(it, text=lists.mask_allowed(it.text)) if lists and it.text else it for it in items]
    texts = tuple(it.text for it in seen)
    analyzers: list[Analyzer] = [get_analyzer(name) for name in policy.body.analyzers]
    analyzers = bind_domain_lists(policy, analyzers)  # the policy's domain lists ride with `links`
    if lists is not None:
        analyzers.append(lists)  # type: ignore[arg-type]
    analyzers += extra
    signals: Signals = [[] for _ in items]
    runs: Runs = [[] for _ in items]
    keys = [_key(analyzer, texts) for analyzer in analyzers]
    missing = {key: analyzer for key, analyzer in zip(keys, analyzers) if key not in cache}
    if missing:
        _run_side_by_side(missing, seen, cache)
    for analyzer, key in zip(analyzers, keys):
        by_index, ms = cache[key]
        for i, signal in by_index.items():
            signals[i].append(signal)
            runs[i].append(AnalyzerRun(name=analyzer.name, version=analyzer.version, ms=round(ms, 3)))
    if image_text.NAME in policy.body.analyzers:  # text read in images goes through the same text analyzers
        mask = lists.mask_allowed if lists else None
        image_text.add_read_text_signals(seen, analyzers, signals, runs, cache, _run, mask)
    return signals, runs


def _key(analyzer: Analyzer, texts: tuple[str | None, ...]) -> tuple[str, tuple[str | None, ...]]:
    """An analyzer's run in the cache: its name, version and variant, and for text analyzers the texts."""
    variant = "+rotations" if getattr(analyzer, "rotations", False) else ""
    return f"{analyzer.name}@{analyzer.version}{variant}", texts if "text" in analyzer.media else ()


def judge(project: str, policy: Policy, items: Sequence[Item], cache: Cache | None = None, *,
          extra: Sequence[Analyzer] = ()) -> tuple[DecisionDoc, list[dict[str, str]]]:
    """The decision `policy` reaches on `items` (not stored), and the media hashes computed for
    each item on the way (kept for retroactive bank matching)."""
    signals, runs = analyze(policy, items, cache, extra=extra)
    results = [item_result(policy, item.data_id, s, r) for item, s, r in zip(items, signals, runs)]
    hashes = [{k: v for s in item_signals for k, v in s.hashes.items()} for item_signals in signals]
    return decision(project, policy, results), hashes

