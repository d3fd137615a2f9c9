"""Exact near-neighbour index for 256-bit PDQ hashes: multi-index hashing in pure numpy.

Why it is exact (pigeonhole): the 256 bits are cut into 16 chunks of 16 bits, paired as (0, 1),
(2, 3), ... If two hashes are within Hamming distance r, their 8 pair distances sum to <= r, so
some pair differs in at most P = r // 8 bits, and one chunk of that pair in at most P // 2 bits.
For the PDQ match threshold r = 31: P = 3, so some chunk differs in <= 1 bit *and* its partner
chunk in <= 3 - (bits in that chunk). A query probes, in each chunk's table, its own value and its
16 one-bit flips (17 buckets x 16 chunks); each table entry carries its partner chunk, which
rejects ~99% of the bucket's candidates before any code is read (random reads of codes are what
a query costs), and the rest are verified by a full popcount. No true neighbour can be missed:
recall is exact, not approximate as with LSH or IVF. 16-bit chunks keep the tables dense (65,536
buckets, addressed through an offsets array, no hashing). The same probes without the partner
test (plain multi-index hashing, r // 16 flips per chunk) are exact too: see FILTER_MAX.

Layout: one immutable "main" segment + a small "delta".
- main: rows sorted by id (id lookup is a binary search, no dict of 10M Python ints); codes as
  (n, 4) uint64; a tombstone mask; per chunk, the row numbers sorted by chunk value, the 16 tables
  concatenated, rows in 3 bytes (uint16 + uint8) and partner chunks in 2: 121 bytes per hash
  (+ 8 MiB of offsets). Past FILTER_MAX hashes the partner chunks are dropped to stay under 1 GiB
  (89 bytes per hash: 10M in 0.84 GiB) and every bucket candidate is verified: the same results,
  ~5x slower per query.
- delta: recent additions, searched by linear scan, merged into main (one O(n) rebuild) when it
  passes ~0.4% of main, so adds cost O(delta) and a rebuild happens once per thousands of adds.
  Removals set a tombstone; main is compacted at the next merge, or when tombstones pass 20%.

Persistence: one file (JSON header + 64-byte-aligned raw arrays), written under a temporary name
and renamed over the target, so readers never see a torn file. `load` maps it copy-on-write
(np.memmap mode "c"): milliseconds at any size, pages are read on first use, and processes that
load the same file share the page cache.

Concurrency: one writer at a time (a lock); searches read a snapshot and may run alongside.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

BITS = 256
CODE_BYTES = BITS // 8
CHUNKS = 16
BUCKETS = 1 << (BITS // CHUNKS)
DEFAULT_RADIUS = 31  # PDQ_CONFIDENT_MATCH_THRESHOLD
MAX_FLIPS = 2  # r // 16 > 2 (r >= 48): probing costs more than a linear scan
FILTER_MAX = 7_000_000  # partner chunks kept up to here (121 B/hash: 0.8 GiB at 7M)
CANDIDATE_BUDGET = 1 << 18  # candidates per vectorised step: bounds the temporaries
SEARCH_THREADS = 2  # threads for batches of queries (this service targets 2-core machines)
_FORMAT = 1
_MAGIC = b"TAMISPDQIDX\n"
_ALIGN = 64
_PARTNER = np.arange(CHUNKS) ^ 1  # chunks pair up as (0, 1), (2, 3), ...
_WRAPPED = 0x40404040  # 4 words of 64 differing bits: the one sum that wraps a byte (256 -> 0)
_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
_MAIN_ARRAYS = ("codes", "ids", "alive", "tab", "tab_hi", "part", "offsets")

Match = tuple[int, int]
Triples = tuple[np.ndarray, np.ndarray, np.ndarray]  # (query index, row, distance), aligned


def _flip_masks(flips: int) -> np.ndarray:
    """All 16-bit masks with at most `flips` bits set, fewest bits first."""
    combos = (itertools.combinations(range(16), k) for k in range(flips + 1))
    return np.array([sum(1 << b for b in bits) for bits in itertools.chain(*combos)], dtype=np.intp)


_MASKS = [_flip_masks(f) for f in range(MAX_FLIPS + 1)]
# Bucket numbers are (chunk << 16 | value): a probe is (chunk << 16 | mask) ^ value.
_CHUNK_MASKS = [(np.arange(CHUNKS, dtype=np.intp) << 16)[:, None] | masks for masks in _MASKS]
# Bits set in each mask, repeated for the 16 chunks: the order of the probes of one query.
_PROBE_BITS = [np.tile([bin(int(m)).count("1") for m in masks], CHUNKS).astype(np.int8) for masks in _MASKS]


def _release_free_memory() -> None:
    """Hand freed heap memory back to the system after a rebuild (glibc keeps freed blocks below
    32 MiB in the heap: up to a third more RSS than the index holds, measured at 1M hashes)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=SEARCH_THREADS, thread_name_prefix="pdq-index")


@functools.cache
def _slack(pair_budget: int) -> np.ndarray:
    """Per probe of one query: bits the partner chunk may differ by (pair budget - mask bits)."""
    return (pair_budget - _PROBE_BITS[pair_budget // 2]).astype(np.int8)


def _bitcount(x: np.ndarray) -> np.ndarray:
    """Element-wise number of set bits (uint8) of an unsigned or non-negative integer array."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(x)
    per_byte = _BYTE_POPCOUNT[np.ascontiguousarray(x).view(np.uint8)]  # pragma: no cover
    return per_byte.reshape(*x.shape, x.itemsize).sum(axis=-1, dtype=np.uint8)  # pragma: no cover


def _hits(x: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of `x` (XORs of codes, (m, 4) uint64) within `radius` bits, and their distances."""
    # Sum the 4 word counts (<= 64 each, one per byte of a uint32) with one multiply: ~50x faster
    # than numpy's sum over a 4-wide axis. Only a sum of 256 overflows (to 0), and only radius 256
    # could accept it.
    v = np.ascontiguousarray(_bitcount(x)).view(np.uint32).reshape(-1)
    d = (v * np.uint32(0x01010101)) >> 24
    if radius >= BITS:
        return np.arange(len(v)), np.where(v == _WRAPPED, BITS, d).astype(np.int16)
    hit = (d <= radius).nonzero()[0]
    hit = hit[v[hit] != _WRAPPED]
    return hit, d[hit].astype(np.int16)


def _words(codes: np.ndarray) -> np.ndarray:
    """(n, 32) uint8 codes -> (n, 4) uint64 (a view when already contiguous)."""
    if not codes.flags.c_contiguous:
        codes = np.ascontiguousarray(codes)
    return codes.view(np.uint64)


def _column_keys(words: np.ndarray, k: int) -> np.ndarray:
    """Chunk k of each code as uint16 (same bit order as `_chunk_keys`)."""
    b = words.view(np.uint8)
    return b[:, 2 * k].astype(np.uint16) << 8 | b[:, 2 * k + 1]


def _chunk_keys(words: np.ndarray) -> np.ndarray:
    """(n, 4) uint64 codes -> (n, 16) chunk values (big-endian byte pairs; a view)."""
    return words.view(">u2")


def _check_codes(ids: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    codes = np.asarray(codes)
    if codes.dtype != np.uint8 or codes.ndim != 2 or codes.shape[1] != CODE_BYTES:
        raise ValueError(f"codes must be uint8 of shape (n, {CODE_BYTES}), got {codes.dtype} {codes.shape}")
    if len(ids) != len(codes):
        raise ValueError(f"{len(ids)} ids for {len(codes)} codes")
    return ids, _words(codes)


def _last_unique(ids: np.ndarray, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated ids within one batch, keeping the last occurrence (re-adding replaces)."""
    _, first_in_reversed = np.unique(ids[::-1], return_index=True)
    if len(first_in_reversed) == len(ids):
        return ids, words
    keep = np.sort(len(ids) - 1 - first_in_reversed)
    return ids[keep], words[keep]


def _expand_ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(arange(s, s + c) for each (s, c) concatenated, cumulative counts), with no Python loop."""
    ends = counts.cumsum()
    shift = starts - ends
    shift += counts
    pos = shift.repeat(counts)
    pos += np.arange(len(pos))
    return pos, ends


def _empty3() -> Triples:
    z = np.zeros(0, dtype=np.intp)
    return z, z, np.zeros(0, dtype=np.int16)


def _concat3(parts: Sequence[Triples]) -> Triples:
    if not parts:
        return _empty3()
    return tuple(np.concatenate(x) for x in zip(*parts))  # type: ignore[return-value]


def _scan(words: np.ndarray, q_words: np.ndarray, radius: int) -> Triples:
    """All (query, row, distance) within radius by linear scan, in blocks of bounded size."""
    n, nq = len(words), len(q_words)
    if n == 0 or nq == 0:
        return _empty3()
    rows_step = min(n, CANDIDATE_BUDGET)
    q_step = max(1, CANDIDATE_BUDGET // rows_step)
    parts = []
    for r0 in range(0, n, rows_step):
        block = words[r0 : r0 + rows_step]
        for q0 in range(0, nq, q_step):
            qs = q_words[q0 : q0 + q_step]
            hit, d = _hits((qs[:, None, :] ^ block[None, :, :]).reshape(-1, 4), radius)
            qi, ri = np.divmod(hit, len(block))
            parts.append((qi + q0, ri + r0, d))
    return _concat3(parts)


@dataclass
class _Main:
    """The immutable bulk of the index (only the tombstone mask `alive` changes in place)."""

    codes: np.ndarray  # (n, 4) uint64, rows sorted by id
    ids: np.ndarray  # (n,) int64, sorted, unique
    alive: np.ndarray  # (n,) bool; False = tombstone
    tab: np.ndarray  # (16 n,) uint16: row numbers (low 16 bits), chunk by chunk, by chunk value
    tab_hi: np.ndarray  # (16 n,) uint8 (uint16 past 2**24 rows): high bits of the row numbers
    part: np.ndarray  # (16 n,) uint16: each entry's partner chunk (k ^ 1); empty past FILTER_MAX
    offsets: np.ndarray  # (16 * 65536 + 1,) int64: bucket (chunk << 16 | value) -> its start in tab

    @classmethod
    def build(cls, ids: np.ndarray, words: np.ndarray) -> _Main:
        """Index (ids, codes); of repeated ids the last one wins."""
        order = np.argsort(ids, kind="stable")
        ids = ids[order]
        if len(ids) > 1 and not (last := ids[1:] != ids[:-1]).all():
            keep = np.append(last, True)
            order, ids = order[keep], ids[keep]
        words = words.take(order, axis=0)
        del order
        n, filtered = len(ids), len(ids) <= FILTER_MAX
        tab = np.empty(CHUNKS * n, dtype=np.uint16)
        tab_hi = np.empty(CHUNKS * n, dtype=np.uint8 if n <= 1 << 24 else np.uint16)
        part = np.empty(CHUNKS * n if filtered else 0, dtype=np.uint16)
        sizes = np.empty(CHUNKS * BUCKETS, dtype=np.int64)
        for k in range(CHUNKS):  # one table at a time: temporaries stay ~12 bytes per hash
            keys = _column_keys(words, k)
            rows = np.argsort(keys, kind="stable")  # a radix sort for uint16 keys
            span = slice(k * n, (k + 1) * n)
            tab[span] = rows
            np.right_shift(rows, 16, out=tab_hi[span], casting="unsafe")
            if filtered:
                np.take(_column_keys(words, k ^ 1), rows, out=part[span])
            sizes[k * BUCKETS : (k + 1) * BUCKETS] = np.bincount(keys, minlength=BUCKETS)
        offsets = np.zeros(CHUNKS * BUCKETS + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        return cls(words, ids, np.ones(n, dtype=bool), tab, tab_hi, part, offsets)

    def __len__(self) -> int:
        return len(self.ids)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(getattr(self, name) for name in _MAIN_ARRAYS)

    def find(self, ids: np.ndarray) -> np.ndarray:
        """Row of each id among live rows, -1 where absent."""
        if len(self.ids) == 0:
            return np.full(len(ids), -1, dtype=np.intp)
        pos = np.searchsorted(self.ids, ids).clip(0, len(self.ids) - 1)
        return np.where((self.ids[pos] == ids) & self.alive[pos], pos, -1)

    def search(self, q_words: np.ndarray, radius: int) -> Triples:
        """(query, row, distance) of live rows within radius; a pair may come more than once."""
        if len(self) == 0:
            return _empty3()
        if radius // CHUNKS > MAX_FLIPS:
            qi, ri, d = _scan(self.codes, q_words, radius)
            keep = self.alive[ri]
            return qi[keep], ri[keep], d[keep]
        per_query = CHUNKS * len(_MASKS[radius // CHUNKS]) * max(1.0, len(self) / BUCKETS)
        step = max(1, int(CANDIDATE_BUDGET // per_query))
        if len(q_words) <= step:
            return self._search_block(q_words, radius)

        def block(s: int) -> Triples:
            qi, ri, d = self._search_block(q_words[s : s + step], radius)
            return qi + s, ri, d

        # Blocks run on two threads (numpy releases the GIL in its loops): ~1.3x on 2 cores.
        return _concat3(list(_pool().map(block, range(0, len(q_words), step))))

    def _search_block(self, q_words: np.ndarray, radius: int) -> Triples:
        nq, pair_budget = len(q_words), radius // 8
        flips = pair_budget // 2
        per_query = CHUNKS * len(_MASKS[flips])
        keys = _chunk_keys(q_words)  # (q, 16)
        # Buckets (chunk, value ^ mask) for every query, chunk and mask, in that order.
        probes = (keys[:, :, None] ^ _CHUNK_MASKS[flips]).reshape(-1)
        starts = self.offsets[probes]
        counts = self.offsets[probes + 1] - starts  # (the same cache line, mostly)
        if not len(self.part):  # past FILTER_MAX: every bucket entry is a candidate
            pos, _ = _expand_ranges(starts, counts)
            qidx = np.arange(nq).repeat(counts.reshape(nq, -1).sum(axis=1))
            return self._verify(q_words, qidx, self._rows(pos), radius)
        # Touch each bucket's first entry in one tight pass: the cache misses overlap (reading
        # the runs entry by entry waits for one miss after another).
        self.part.take(starts, mode="clip")
        pos, ends = _expand_ranges(starts, counts)
        # The partner chunk may differ in at most (pair budget - bits flipped in this chunk).
        want = keys[:, _PARTNER].repeat(len(_MASKS[flips])).repeat(counts)
        slack = _slack(pair_budget) if nq == 1 else np.tile(_slack(pair_budget), nq)
        sel = (_bitcount(self.part[pos] ^ want) <= slack.repeat(counts)).nonzero()[0]
        rows = self._rows(pos[sel])
        qidx = None if nq == 1 else ends.searchsorted(sel, side="right") // per_query
        # A hash close in several chunks comes once per such chunk: `_group` drops the copies.
        return self._verify(q_words, qidx, rows, radius)

    def _rows(self, pos: np.ndarray) -> np.ndarray:
        """Row numbers at table positions (3 bytes each: 16 low bits + high bits)."""
        rows = self.tab_hi[pos].astype(np.intp)
        rows <<= 16
        rows |= self.tab[pos]
        return rows

    def _verify(self, q_words: np.ndarray, qidx: np.ndarray | None, rows: np.ndarray, radius: int) -> Triples:
        """The candidates within radius (full popcount) that are not tombstones (qidx: the query
        of each candidate, None for a single query)."""
        x = self.codes.take(rows, axis=0)  # take: ~5x faster than fancy indexing for 2-d rows
        x ^= q_words[0] if qidx is None else q_words.take(qidx, axis=0)
        if len(rows) <= 256:  # few (the partner test ran): fewer numpy calls matter more here
            dist = _bitcount(x).sum(axis=1, dtype=np.int16)
            keep = ((dist <= radius) & self.alive[rows]).nonzero()[0]
            dist = dist[keep]
        else:
            hit, dist = _hits(x, radius)
            live = self.alive[rows[hit]]
            keep, dist = hit[live], dist[live]
        return (keep * 0 if qidx is None else qidx[keep]), rows[keep], dist


@dataclass(frozen=True)
class _Delta:
    """Recent additions, searched by linear scan; replaced (never mutated) on change."""

    ids: np.ndarray  # (d,) int64
    codes: np.ndarray  # (d, 4) uint64

    @classmethod
    def empty(cls) -> _Delta:
        return cls(np.zeros(0, dtype=np.int64), np.zeros((0, 4), dtype=np.uint64))

    def plus(self, ids: np.ndarray, words: np.ndarray) -> _Delta:
        return _Delta(np.concatenate([self.ids, ids]), np.concatenate([self.codes, words]))

    def minus(self, ids: np.ndarray) -> tuple[_Delta, int]:
        gone = np.isin(self.ids, ids)
        n = int(gone.sum())
        return (self, 0) if n == 0 else (_Delta(self.ids[~gone], self.codes[~gone]), n)


@functools.cache
def _empty_main() -> _Main:  # shared: an empty main has nothing to mutate
    return _Main.build(np.zeros(0, dtype=np.int64), np.zeros((0, 4), dtype=np.uint64))


class PdqIndex:
    """Exact Hamming-radius index of 256-bit PDQ codes keyed by int64 ids."""

    def __init__(self, delta_max: int | None = None) -> None:
        self._lock = threading.Lock()  # one writer at a time
        # (main, delta), replaced as one: a search reads a consistent pair without the lock.
        self._parts: tuple[_Main, _Delta] = (_empty_main(), _Delta.empty())
        self._dead = 0  # tombstones in main
        self._delta_max_fixed = delta_max

    def __len__(self) -> int:
        main, delta = self._parts
        return len(main) - self._dead + len(delta.ids)

    def _delta_max(self) -> int:
        """Delta size that triggers a merge: ~0.4% of main, within [4096, 32768] rows."""
        if self._delta_max_fixed is not None:
            return self._delta_max_fixed
        return int(min(32768, max(4096, len(self._parts[0]) // 256)))

    def memory_bytes(self) -> int:
        """Bytes held by the index arrays (main segment, tombstones and delta)."""
        main, delta = self._parts
        return int(sum(a.nbytes for a in (*main.arrays(), delta.ids, delta.codes)))

    # -- changes ----------------------------------------------------------------------------
    def add(self, ids: np.ndarray, codes: np.ndarray) -> None:
        """Add hashes: ids int64 (n,), codes uint8 (n, 32); an id already present is replaced."""
        ids, words = _check_codes(ids, codes)
        if len(ids) == 0:
            return
        with self._lock:
            main, delta = self._parts
            if len(delta.ids) + len(ids) > self._delta_max():
                # A big batch goes straight into main; the rebuild keeps the last code of an id.
                self._merge_locked(ids, words)
                return
            ids, words = _last_unique(ids, words)
            self._tombstone_locked(ids)
            self._parts = (main, delta.minus(ids)[0].plus(ids, words))

    def remove(self, ids: Iterable[int]) -> int:
        """Remove hashes by id; returns how many of the ids were present."""
        wanted = np.unique(np.fromiter((int(i) for i in ids), dtype=np.int64))
        with self._lock:
            main, delta = self._parts
            delta, from_delta = delta.minus(wanted)
            from_main = self._tombstone_locked(wanted)
            self._parts = (main, delta)
            if self._dead > max(self._delta_max(), len(main) // 5):
                self._merge_locked()
        return from_main + from_delta

    def compact(self) -> None:
        """Merge the delta and drop tombstones now (optional: merges also happen on their own)."""
        with self._lock:
            self._merge_locked()

    def _tombstone_locked(self, ids: np.ndarray) -> int:
        """Mark the live main rows of `ids` deleted (searches skip them until the next merge)."""
        main = self._parts[0]
        rows = main.find(ids)
        rows = rows[rows >= 0]
        main.alive[rows] = False
        self._dead += len(rows)
        return len(rows)

    def _merge_locked(self, ids: np.ndarray | None = None, words: np.ndarray | None = None) -> None:
        """Rebuild main from its live rows, the delta and a new batch, in this order (later ones
        win for a repeated id); one O(n) pass that drops tombstones. Searches keep using the old
        parts until the new ones replace them."""
        main, delta = self._parts
        live = np.flatnonzero(main.alive) if self._dead else slice(None)
        id_parts = [a for a in (main.ids[live], delta.ids, ids) if a is not None and len(a)]
        word_parts = [a for a in (main.codes[live], delta.codes, words) if a is not None and len(a)]
        del main, delta, ids, words, live
        if len(id_parts) == 1:  # e.g. a first bulk load: no concatenated copy (build sorts a copy)
            built = _Main.build(id_parts[0], word_parts[0])
        else:
            built = _Main.build(np.concatenate(id_parts), np.concatenate(word_parts))
        del id_parts, word_parts
        self._parts, self._dead = (built, _Delta.empty()), 0
        _release_free_memory()

    # -- queries ----------------------------------------------------------------------------
    def search(self, queries: np.ndarray, radius: int = DEFAULT_RADIUS) -> list[list[Match]]:
        """For each query (uint8 (q, 32), or one (32,) code), [(id, distance)] of every entry
        within `radius`, nearest first (ties by id)."""
        q_words = _words(np.asarray(queries, dtype=np.uint8).reshape(-1, CODE_BYTES))
        nq = len(q_words)
        if radius < 0 or nq == 0:
            return [[] for _ in range(nq)]
        main, delta = self._parts
        qidx, rows, dist = main.search(q_words, radius)
        if len(delta.ids) == 0:
            if len(rows) == 0:
                return [[] for _ in range(nq)]
            return _group(nq, qidx, main.ids[rows], dist)
        dq, dr, dd = _scan(delta.codes, q_words, radius)
        ids = np.concatenate([main.ids[rows], delta.ids[dr]])
        return _group(nq, np.concatenate([qidx, dq]), ids, np.concatenate([dist, dd]))

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the index to `path` atomically (temporary file in the same folder + rename)."""
        with self._lock:
            main, delta = self._parts
            arrays = dict(zip(_MAIN_ARRAYS, main.arrays()))
            arrays.update(d_ids=delta.ids, d_codes=delta.codes)
            _write_arrays(Path(path), arrays, {"format": _FORMAT})

    @classmethod
    def load(cls, path: Path) -> PdqIndex:
        """Map a saved index copy-on-write: milliseconds at any size; pages are read on use."""
        a, meta = _read_arrays(Path(path))
        if meta.get("format") != _FORMAT:
            raise ValueError(f"{path}: unsupported index format {meta.get('format')!r}")
        index = cls()
        main = _Main(*(a[name] for name in _MAIN_ARRAYS))
        index._parts = (main, _Delta(np.array(a["d_ids"]), np.array(a["d_codes"])))
        index._dead = len(main) - int(np.count_nonzero(main.alive))
        return index


def _group(nq: int, qidx: np.ndarray, ids: np.ndarray, dist: np.ndarray) -> list[list[Match]]:
    """Per-query lists of (id, distance) without repeats, sorted by distance then id."""
    if len(ids) <= 64:  # the usual case (few matches): plain Python is quicker than numpy calls
        out: list[list[Match]] = [[] for _ in range(nq)]
        for q, d, i in sorted(set(zip(qidx.tolist(), dist.tolist(), ids.tolist()))):
            out[q].append((i, d))
        return out
    order = np.lexsort((ids, dist, qidx))
    qidx, ids, dist = qidx[order], ids[order], dist[order]
    fresh = np.ones(len(ids), dtype=bool)
    fresh[1:] = (ids[1:] != ids[:-1]) | (qidx[1:] != qidx[:-1])
    qidx, ids_l, dist_l = qidx[fresh], ids[fresh].tolist(), dist[fresh].tolist()
    bounds = np.searchsorted(qidx, np.arange(nq + 1)).tolist()
    return [list(zip(ids_l[a:b], dist_l[a:b])) for a, b in zip(bounds[:-1], bounds[1:])]


# -- file: magic, header length, JSON header, then the raw arrays at 64-byte-aligned offsets ------


def _padded(size: int) -> int:
    return -(-size // _ALIGN) * _ALIGN


def _write_arrays(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, object]) -> None:
    specs, offset = {}, 0
    for name, a in arrays.items():
        specs[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset}
        offset += _padded(a.nbytes)
    header = json.dumps({"arrays": specs, "meta": meta}).encode()
    start = _padded(len(_MAGIC) + 8 + len(header))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_MAGIC + len(header).to_bytes(8, "little") + header)
            for name, a in arrays.items():
                f.seek(start + specs[name]["offset"])
                f.write(np.ascontiguousarray(a).reshape(-1).view(np.uint8).data)
            f.truncate(start + offset)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_arrays(path: Path) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    with open(path, "rb") as f:
        if f.read(len(_MAGIC)) != _MAGIC:
            raise ValueError(f"{path} is not a tamis PDQ index file")
        header_len = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_len))
    start = _padded(len(_MAGIC) + 8 + header_len)
    arrays = {}
    for name, spec in header["arrays"].items():
        shape, dtype = tuple(spec["shape"]), np.dtype(spec["dtype"])
        if 0 in shape:
            arrays[name] = np.zeros(shape, dtype=dtype)
            continue
        mapped = np.memmap(path, dtype=dtype, mode="c", offset=start + spec["offset"], shape=shape)
        arrays[name] = mapped.view(np.ndarray)  # plain ndarray API; the mapping lives on as .base
    return arrays, header["meta"]


# -- reference answers and conformance ----------------------------------------------------------


def brute_force_matches(ids: np.ndarray, codes: np.ndarray, queries: np.ndarray, radius: int) -> list[list[Match]]:
    """Reference answer: every (id, distance) within radius, by exhaustive popcount."""
    q_words = _words(np.asarray(queries, dtype=np.uint8).reshape(-1, CODE_BYTES))
    qi, ri, d = _scan(_words(codes), q_words, radius)
    return _group(len(q_words), qi, np.asarray(ids, dtype=np.int64)[ri], d)


class HashIndex(Protocol):
    """What matching needs from a PDQ index (PdqIndex is one)."""

    def add(self, ids: np.ndarray, codes: np.ndarray) -> None: ...
    def remove(self, ids: Iterable[int]) -> int: ...
    def search(self, queries: np.ndarray, radius: int = DEFAULT_RADIUS) -> list[list[Match]]: ...
    def __len__(self) -> int: ...
    def save(self, path: Path) -> None: ...


def _expect(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(what)


def _near(codes: np.ndarray, flips: Iterable[int], rng: np.random.Generator) -> np.ndarray:
    """Copies of `codes` with the given numbers of random bits flipped."""
    out = codes.copy()
    for row, k in zip(out, flips):
        bits = rng.choice(BITS, size=int(k), replace=False)
        np.bitwise_xor.at(row, bits // 8, (1 << (bits % 8)).astype(np.uint8))
    return out


def check_index_conformance(
    index_factory: Callable[[], HashIndex], load: Callable[[Path], HashIndex] | None = None, seed: int = 0
) -> None:
    """Check an index against brute force and the add/remove/save contract (raises AssertionError).

    `load` (e.g. `PdqIndex.load`) enables the save/load round trip."""
    rng = np.random.default_rng(seed)
    empty = index_factory()
    _expect(len(empty) == 0 and empty.search(np.zeros((2, 32), np.uint8)) == [[], []], "empty index")
    _expect(empty.remove([1, 2]) == 0, "removing from an empty index")

    base = rng.integers(0, 256, size=(2000, CODE_BYTES), dtype=np.uint8)
    variants = _near(base[rng.integers(0, 2000, 1500)], rng.integers(0, 41, 1500), rng)
    codes = np.concatenate([base, variants])
    ids = rng.permutation(len(codes)).astype(np.int64) * 7 - 5000  # arbitrary, some negative
    queries = _near(codes[rng.integers(0, len(codes), 150)], rng.integers(0, 41, 150), rng)
    queries = np.concatenate([queries, rng.integers(0, 256, size=(10, CODE_BYTES), dtype=np.uint8)])

    index = index_factory()
    index.add(ids[:2500], codes[:2500])  # one bulk add, then small ones
    for s in range(2500, len(codes), 250):
        index.add(ids[s : s + 250], codes[s : s + 250])
    _expect(len(index) == len(codes), "len after adds")
    for radius in range(0, 32):
        _check_same(index.search(queries, radius), brute_force_matches(ids, codes, queries, radius), radius)
    one = index.search(queries[0])
    _expect(one == brute_force_matches(ids, codes, queries[:1], DEFAULT_RADIUS), "single (32,) query")

    gone = ids[::3]
    _expect(index.remove([*gone.tolist(), 10**15]) == len(gone), "remove counts the ids present")
    _expect(index.remove(gone[:10].tolist()) == 0, "removing twice")
    keep = np.ones(len(ids), dtype=bool)
    keep[::3] = False
    _expect(len(index) == int(keep.sum()), "len after remove")
    expected = brute_force_matches(ids[keep], codes[keep], queries, DEFAULT_RADIUS)
    _check_same(index.search(queries), expected, DEFAULT_RADIUS)

    # Re-adding: a removed id comes back; a present id gets a new code (the old one stops matching).
    moved = ids[1:30:3]
    new_codes = rng.integers(0, 256, size=(len(moved), CODE_BYTES), dtype=np.uint8)
    index.add(np.concatenate([gone[:5], moved]), np.concatenate([codes[::3][:5], new_codes]))
    keep[0:15:3] = True
    final_ids = np.concatenate([ids[keep & ~np.isin(ids, moved)], moved])
    final_codes = np.concatenate([codes[keep & ~np.isin(ids, moved)], new_codes])
    _expect(len(index) == len(final_ids), "len after re-adding")
    probe = np.concatenate([queries, codes[1:30:3], new_codes])
    _check_same(index.search(probe), brute_force_matches(final_ids, final_codes, probe, DEFAULT_RADIUS), 31)

    if load is not None:
        with tempfile.TemporaryDirectory() as tmp:
            index.save(Path(tmp) / "index")
            index.save(Path(tmp) / "index")  # over an existing file
            again = load(Path(tmp) / "index")
            _expect(sorted(os.listdir(tmp)) == ["index"], "save leaves no temporary files")
            _expect(len(again) == len(index), "len after load")
            _expect(again.search(probe) == index.search(probe), "search after load")
            again.remove(final_ids[:100].tolist())  # a loaded index stays writable
            again.add(ids[:3], codes[:3])
            _expect(len(again) == len(index) - 100 + len(np.setdiff1d(ids[:3], final_ids[100:])), "changes after load")


def _check_same(got: list[list[Match]], expected: list[list[Match]], radius: int) -> None:
    _expect(len(got) == len(expected), "one result list per query")
    for q, (g, e) in enumerate(zip(got, expected)):
        _expect(sorted(g) == sorted(e), f"radius {radius}, query {q}: {sorted(g)} != {sorted(e)}")
        _expect([d for _, d in g] == sorted(d for _, d in g), f"query {q}: not sorted by distance")
