"""PDQ index benchmark: tamis's PdqIndex against threatexchange's PDQ indexes, in one run.

Data: uniformly random 256-bit codes (random codes are ~128 bits apart), 1% of them near-duplicates
of others, and queries planted at distances 0..40 from indexed codes, so that true neighbours
exist. Recall at radius 31 is measured against brute force (numpy popcount) on a sample of queries.

Each (index, size) runs in a fresh subprocess, so memory is the RSS growth of a clean process
(input data generated before the baseline is taken). Rates are the best of 3 rounds for every
index (the machine may be shared; other load only slows). References:
- `PDQIndex`: the index threatexchange uses for PDQ signals (`PdqSignal.get_index_cls()`): faiss
  IndexBinaryMultiHash, 16 x 16-bit tables, queried one hash at a time through its API
  (`query(hex)`) with faiss on 1 thread (its best here; the default of all cores is recorded too);
  its batch numbers call the faiss wrapper underneath (`search_with_distance_in_result`, the
  better of 1 and all threads), which the index class itself does not expose.
- `PDQIndex2`: the newer faiss IndexFlatL2 (exhaustive) index, at 100k only unless --ref2-sizes.
tamis: `search` of one (32,) code at a time ("single") and of all queries at once ("batch").

    python bench/hash_index.py [--sizes 100000,1000000] [--skip-10m] [--queries 2000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

RADIUS = 31
GIB = 1 << 30
Result = dict[str, float]  # one worker's measurements
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def flip_bits(code: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    out = code.copy()
    bits = rng.choice(256, size=k, replace=False)
    np.bitwise_xor.at(out, bits // 8, (1 << (bits % 8)).astype(np.uint8))
    return out


def dataset(n: int, n_queries: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, codes, queries): random codes, 1% near-duplicates, queries planted at 0..40 bits."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    dup = rng.choice(n, size=n // 100, replace=False)
    for i in dup:  # 1% of entries are variants (1..40 bits) of another entry
        codes[i] = flip_bits(codes[rng.integers(n)], int(rng.integers(1, 41)), rng)
    ids = rng.permutation(n).astype(np.int64) * 3 + 1_000  # arbitrary, non-contiguous ids
    half = min(n_queries // 2, len(dup))  # half near entries that have variants, half anywhere
    bases = np.concatenate([dup[:half], rng.integers(0, n, size=n_queries - half)])
    queries = np.stack([flip_bits(codes[b], int(rng.integers(0, 41)), rng) for b in bases])
    return ids, codes, queries


def brute_force(ids: np.ndarray, codes: np.ndarray, queries: np.ndarray) -> list[set[int]]:
    """Ids within RADIUS of each query, by exhaustive numpy popcount (word by word; written
    independently of the index's own distance code)."""
    words, q_words = codes.view(np.uint64), queries.view(np.uint64)
    found: list[set[int]] = [set() for _ in queries]
    step = 1 << 18
    for r0 in range(0, len(words), step):
        cols = [np.ascontiguousarray(words[r0 : r0 + step, i]) for i in range(4)]
        for qi, q in enumerate(q_words):
            d = np.bitwise_count(cols[0] ^ q[0]).astype(np.int16)
            for i in (1, 2, 3):
                d += np.bitwise_count(cols[i] ^ q[i])
            found[qi].update(ids[r0 + np.flatnonzero(d <= RADIUS)].tolist())
    return found


def recall(results: list[list[tuple[int, int]]], truth: list[set[int]]) -> tuple[float, int]:
    """(share of true neighbours found, results beyond the radius or not true neighbours)."""
    total = sum(len(t) for t in truth)
    hit = sum(len(t & {i for i, _ in r}) for r, t in zip(results, truth))
    wrong = sum(sum(1 for i, d in r if d > RADIUS or i not in t) for r, t in zip(results, truth))
    return (hit / total if total else 1.0), wrong


def qps(fn: Callable[[], object], n: int, rounds: int = 3) -> float:
    """Queries per second of the best of `rounds` runs (other load on the machine only slows)."""
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / best


# -- workers (one per subprocess) ------------------------------------------------------------


def work_tamis(n: int, n_queries: int, sample: int, save_dir: str | None) -> Result:
    from tamis.hashing.index import PdqIndex

    ids, codes, queries = dataset(n, n_queries)
    gc.collect()
    r0, t = rss(), time.perf_counter()
    index = PdqIndex()
    index.add(ids, codes)
    build = time.perf_counter() - t
    gc.collect()
    out: Result = {"build_s": build, "rss": rss() - r0, "peak": peak_rss() - r0}
    out["arrays"] = index.memory_bytes()
    out["single_qps"] = qps(lambda: [index.search(q[None], RADIUS) for q in queries], n_queries)
    out["batch_qps"] = qps(lambda: index.search(queries, RADIUS), n_queries)
    gc.collect()
    out["rss_queried"] = rss() - r0
    truth = brute_force(ids, codes, queries[:sample])
    out["recall"], out["wrong"] = recall(index.search(queries[:sample], RADIUS), truth)
    if save_dir:
        path = Path(save_dir) / "pdq.idx"
        t = time.perf_counter()
        index.save(path)
        out["save_s"] = time.perf_counter() - t
        out["file"] = path.stat().st_size
    return out


def work_tamis_load(n: int, n_queries: int, sample: int, save_dir: str) -> Result:
    """A restart: load the saved index in a fresh process and answer at once."""
    from tamis.hashing.index import PdqIndex

    ids, codes, queries = dataset(n, n_queries)
    r0, t = rss(), time.perf_counter()
    index = PdqIndex.load(Path(save_dir) / "pdq.idx")
    out: Result = {"load_s": time.perf_counter() - t}
    t = time.perf_counter()
    index.search(queries[:1], RADIUS)
    out["first_query_s"] = time.perf_counter() - t
    out["cold_single_qps"] = qps(lambda: [index.search(q[None], RADIUS) for q in queries], n_queries, 1)
    out["single_qps"] = qps(lambda: [index.search(q[None], RADIUS) for q in queries], n_queries)
    truth = brute_force(ids, codes, queries[:sample])
    out["recall"], out["wrong"] = recall(index.search(queries[:sample], RADIUS), truth)
    out["rss_queried"] = rss() - r0
    return out


def work_ref(n: int, n_queries: int, sample: int, kind: str) -> Result:
    import faiss
    from threatexchange.signal_type.pdq.pdq_index import PDQIndex
    from threatexchange.signal_type.pdq.pdq_index2 import PDQIndex2

    ids, codes, queries = dataset(n, n_queries)
    entries = list(zip((c.tobytes().hex() for c in codes), ids.tolist()))
    hex_queries = [q.tobytes().hex() for q in queries]
    gc.collect()
    r0, t = rss(), time.perf_counter()
    index = PDQIndex(entries) if kind == "PDQIndex" else PDQIndex2(entries=entries)
    build = time.perf_counter() - t
    gc.collect()
    out: Result = {"build_s": build, "rss": rss() - r0, "peak": peak_rss() - r0}

    def one(h: str) -> list[tuple[int, int]]:
        return [(m.metadata, int(m.similarity_info.distance)) for m in index.query(h)]

    # faiss parallelises with OpenMP: one thread is its best for single queries here (with its
    # default of all cores, its threads spin and wait on each other: recorded apart, not compared);
    # for batches, keep the better of 1 and all cores.
    few = hex_queries[:500]
    out["single_qps_default_threads"] = qps(lambda: [one(h) for h in few], len(few), 1)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    out["single_qps"] = qps(lambda: [one(h) for h in hex_queries], n_queries)
    if kind == "PDQIndex":
        batch = lambda: index.index.search_with_distance_in_result(hex_queries, RADIUS)  # noqa: E731
        out["batch_qps"] = qps(batch, n_queries)
        faiss.omp_set_num_threads(threads)
        out["batch_qps"] = max(out["batch_qps"], qps(batch, n_queries))
    gc.collect()
    out["rss_queried"] = rss() - r0
    truth = brute_force(ids, codes, queries[:sample])
    out["recall"], out["wrong"] = recall([one(h) for h in hex_queries[:sample]], truth)
    return out


# -- driver -----------------------------------------------------------------------------------


def run_worker(*args: object) -> Result:
    cmd = [sys.executable, __file__, "--worker", *map(str, args)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"worker {args} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "-"
    if unit == "MB":
        return f"{v / 1e6:,.0f}"
    return f"{v:,.0f}" if v >= 100 else f"{v:.4g}"


def print_table(rows: list[tuple[str, int, Result]]) -> None:
    head = ("index", "hashes", "build s", "RSS MB", "queried", "peak MB", "single q/s", "batch q/s", "recall@31", "wrong")
    lines = [head]
    for name, n, r in rows:
        lines.append((
            name, f"{n:,}", fmt(r.get("build_s")), fmt(r.get("rss"), "MB"), fmt(r.get("rss_queried"), "MB"),
            fmt(r.get("peak"), "MB"),
            fmt(r.get("single_qps")), fmt(r.get("batch_qps")), f"{r['recall']:.4f}", str(int(r["wrong"])),
        ))  # fmt: skip
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    for j, line in enumerate(lines):
        print(" | ".join(str(c).rjust(w) for c, w in zip(line, widths)))
        if j == 0:
            print("-+-".join("-" * w for w in widths))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="100000,1000000", help="sizes compared with the references")
    p.add_argument("--ref2-sizes", default="100000", help="sizes at which PDQIndex2 (flat) runs too")
    p.add_argument("--big", type=int, default=10_000_000, help="size of the tamis-only run")
    p.add_argument("--skip-10m", action="store_true", help="skip the tamis-only big run")
    p.add_argument("--queries", type=int, default=2000, help="queries per measurement")
    p.add_argument("--recall-sample", type=int, default=300, help="queries checked by brute force")
    p.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        kind, n, nq, sample, *extra = a.worker
        fn = {"tamis": work_tamis, "tamis-load": work_tamis_load}.get(kind)
        args = (int(n), int(nq), int(sample))
        result = fn(*args, *(extra or [None])) if fn else work_ref(*args, kind)
        print(json.dumps(result))
        return

    rows: list[tuple[str, int, Result]] = []
    ref2 = {int(s) for s in a.ref2_sizes.split(",") if s}
    by: dict[tuple[str, int], Result] = {}
    for n in (int(s) for s in a.sizes.split(",")):
        # The flat reference is ~100x slower per query: a few queries are enough for its rate.
        kinds = [("tamis", a.queries), ("PDQIndex", a.queries)] + ([("PDQIndex2", 100)] if n in ref2 else [])
        for kind, nq in kinds:
            sample = min(a.recall_sample, nq)
            by[kind, n] = run_worker(kind, n, nq, sample)
            rows.append((kind, n, by[kind, n]))
            print(f"  done: {kind} at {n:,}", file=sys.stderr, flush=True)
    big = None
    if not a.skip_10m:
        with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
            sample = min(100, a.queries)
            big = run_worker("tamis", a.big, min(a.queries, 500), sample, tmp)
            loaded = run_worker("tamis-load", a.big, min(a.queries, 500), sample, tmp)
        rows.append(("tamis", a.big, big))
        rows.append(("tamis (loaded)", a.big, loaded))
    print()
    print_table(rows)
    print()
    for n in sorted({n for _, n, _ in rows if ("PDQIndex", n) in by}):
        t, r = by["tamis", n], by["PDQIndex", n]
        print(
            f"at {n:,}: tamis / PDQIndex queries per second: single {t['single_qps'] / r['single_qps']:.1f}x, "
            f"batch {t['batch_qps'] / r['batch_qps']:.1f}x (target >= 10x), "
            f"tamis batch / PDQIndex.query {t['batch_qps'] / r['single_qps']:.1f}x; "
            f"recall {t['recall']:.4f} vs {r['recall']:.4f}; memory {int(t['rss']) / int(r['rss']):.2f}x; "
            f"(PDQIndex single q/s with faiss's default threads: {r['single_qps_default_threads']:,.0f})"
        )
    if big:
        print(
            f"at {a.big:,}: RSS growth {int(big['rss']) / GIB:.3f} GiB after the build, "
            f"{int(big['rss_queried']) / GIB:.3f} GiB after the queries (target <= 1 GiB), "
            f"peak during build {int(big['peak']) / GIB:.3f} GiB, arrays {int(big['arrays']) / GIB:.3f} GiB; "
            f"save {big['save_s']:.1f} s ({int(big['file']) / 1e6:,.0f} MB file), "
            f"load {loaded['load_s'] * 1e3:.1f} ms, first query after load {loaded['first_query_s'] * 1e3:.1f} ms, "
            f"cold single q/s {loaded['cold_single_qps']:,.0f}"
        )


if __name__ == "__main__":
    main()
