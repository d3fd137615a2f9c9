"""The PDQ index: exact against brute force, incremental changes, persistence."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tamis.hashing import index as index_module
from tamis.hashing.index import PdqIndex, brute_force_matches, check_index_conformance


def _codes(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 32), dtype=np.uint8)


def _flip(code: np.ndarray, bits: list[int]) -> np.ndarray:
    out = code.copy()
    for b in bits:
        out[b // 8] ^= np.uint8(1 << (b % 8))
    return out


@pytest.mark.slow
def test_conformance() -> None:
    check_index_conformance(PdqIndex, PdqIndex.load)


@pytest.mark.slow
def test_conformance_with_many_merges() -> None:
    """A tiny delta: most changes go through merges, tombstones and compaction."""
    check_index_conformance(lambda: PdqIndex(delta_max=64), PdqIndex.load, seed=1)


@pytest.mark.slow
def test_conformance_without_partner_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The layout used past FILTER_MAX hashes (plain multi-index hashing) is exact too."""
    monkeypatch.setattr(index_module, "FILTER_MAX", 0)
    check_index_conformance(lambda: PdqIndex(delta_max=500), PdqIndex.load, seed=2)


def test_every_distance_found_with_exact_distance() -> None:
    """One neighbour planted at each distance 0..40 of each query: found iff <= radius."""
    rng = np.random.default_rng(3)
    queries = _codes(20, seed=4)
    planted = [_flip(q, rng.choice(256, size=d, replace=False).tolist()) for q in queries for d in range(41)]
    codes = np.concatenate([_codes(3000, seed=5), np.stack(planted)])
    ids = np.arange(len(codes), dtype=np.int64) * 11
    index = PdqIndex()
    index.add(ids, codes)
    for radius in (0, 1, 7, 8, 15, 16, 23, 31, 32, 40, 47, 48, 64):
        got = index.search(queries, radius)
        assert got == brute_force_matches(ids, codes, queries, radius), radius
        for q, matches in enumerate(got):
            planted_here = {int(ids[3000 + q * 41 + d]): d for d in range(41)}
            found = {i: d for i, d in matches if i in planted_here}
            assert found == {i: d for i, d in planted_here.items() if d <= radius}


def test_extreme_codes_and_radii() -> None:
    """All-zero and all-one codes (first and last buckets), and the full 256-bit distance."""
    zeros, ones = np.zeros(32, np.uint8), np.full(32, 255, np.uint8)
    index = PdqIndex()
    index.add(np.array([1, 2]), np.stack([zeros, ones]))
    assert index.search(ones) == [[(2, 0)]]
    assert index.search(zeros, radius=255) == [[(1, 0)]]
    assert index.search(zeros, radius=256) == [[(1, 0), (2, 256)]]
    assert index.search(zeros, radius=-1) == [[]]
    assert index.search(np.zeros((0, 32), np.uint8)) == []


def test_add_remove_readd() -> None:
    codes = _codes(10)
    index = PdqIndex()
    index.add(np.arange(10), codes)
    assert len(index) == 10
    assert index.remove([3, 4, 99]) == 2
    assert index.remove([3]) == 0
    assert len(index) == 8
    assert index.search(codes[3]) == [[]]
    index.add(np.array([3]), codes[3:4])
    assert index.search(codes[3]) == [[(3, 0)]]
    # Re-adding a present id replaces its code.
    index.add(np.array([5]), codes[6:7])
    assert index.search(codes[5]) == [[]]
    assert index.search(codes[6]) == [[(5, 0), (6, 0)]]
    assert len(index) == 9


def test_removal_from_main_then_merge() -> None:
    codes = _codes(5000, seed=6)
    index = PdqIndex(delta_max=100)
    index.add(np.arange(5000), codes)  # straight into main
    assert index.remove(range(0, 5000, 2)) == 2500  # tombstones, then compaction
    index.add(np.arange(5000, 5300), _codes(300, seed=7))  # a merge
    assert len(index) == 2800
    assert index.search(codes[:4]) == [[], [(1, 0)], [], [(3, 0)]]


def test_save_load_round_trip(tmp_path: Path) -> None:
    codes = _codes(3000, seed=8)
    index = PdqIndex(delta_max=1000)
    index.add(np.arange(2500), codes[:2500])
    index.add(np.arange(2500, 3000), codes[2500:])  # stays in the delta
    index.remove([7, 2900])
    path = tmp_path / "pdq.idx"
    index.save(path)
    loaded = PdqIndex.load(path)
    queries = np.concatenate([codes[:50], codes[2890:2910]])
    assert len(loaded) == len(index) == 2998
    assert loaded.search(queries) == index.search(queries)
    assert loaded.memory_bytes() == index.memory_bytes()
    loaded.add(np.array([7]), codes[7:8])  # changes stay in memory, the file is untouched
    assert loaded.search(codes[7]) == [[(7, 0)]]
    assert PdqIndex.load(path).search(codes[7]) == [[]]


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "pdq.idx"
    first = PdqIndex()
    first.add(np.array([1]), _codes(1))
    first.save(path)
    before = path.read_bytes()

    def fail(*_: object) -> None:
        raise OSError("disk full")

    second = PdqIndex()
    second.add(np.arange(100), _codes(100, seed=9))
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        second.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["pdq.idx"]


def test_rejects_bad_input(tmp_path: Path) -> None:
    index = PdqIndex()
    with pytest.raises(ValueError):
        index.add(np.arange(2), np.zeros((2, 31), np.uint8))
    with pytest.raises(ValueError):
        index.add(np.arange(2), np.zeros((2, 32), np.int64))
    with pytest.raises(ValueError):
        index.add(np.arange(3), np.zeros((2, 32), np.uint8))
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"not an index")
    with pytest.raises(ValueError):
        PdqIndex.load(bad)
