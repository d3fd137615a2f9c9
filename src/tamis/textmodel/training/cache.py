"""On-disk cache of USE embeddings for training and cross-validation, keyed by SHA-1 of the cleaned text.

The cache is a folder of shards (`use_v<features>_<n>.npz`, keys + float16 vectors), one written every
`chunk` new texts: an interrupted run keeps what it embedded, and runs that share the folder (training,
cross-validation) embed each text once.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from tamis.textmodel.training.data import text_key
from tamis.textmodel.features import DENSE_DIM, FEATURES_VERSION, embed


def _shards(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob(f"use_v{FEATURES_VERSION}_*.npz"))


def _load(cache_dir: Path) -> tuple[dict[str, int], list[np.ndarray]]:
    where: dict[str, int] = {}
    blocks: list[np.ndarray] = []
    offset = 0
    for path in _shards(cache_dir):
        with np.load(path) as z:
            keys, vecs = list(z["keys"]), z["vecs"]
        for i, k in enumerate(keys):
            where.setdefault(str(k), offset + i)
        blocks.append(vecs)
        offset += len(vecs)
    return where, blocks


def cached_embeddings(cleaned: list[str], cache_dir: str | Path, chunk: int = 4096, part: tuple[int, int] = (0, 1)
                      ) -> np.ndarray | None:
    """Embeddings (n, 512) float32 for cleaned texts; computes and stores only the missing ones.
    `part=(k, n)`: embed only every n-th missing text from the k-th and return None (n processes can
    fill one cache together)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    where, blocks = _load(cache_dir)
    want = [text_key(t) for t in cleaned]
    missing: dict[str, str] = {}
    for k, t in zip(want, cleaned):
        if k not in where and k not in missing:
            missing[k] = t
    if missing:
        # Short texts first: USE micro-batches of similar lengths are denser.
        mk = sorted(missing, key=lambda k: len(missing[k]))[part[0]::part[1]]
        t0 = time.time()
        stamp = f"{time.time_ns()}_{part[0]}"
        offset = sum(len(b) for b in blocks)
        for s in range(0, len(mk), chunk):
            keys = mk[s:s + chunk]
            vecs = embed([missing[k] for k in keys]).astype(np.float16)
            np.savez(cache_dir / f"use_v{FEATURES_VERSION}_{stamp}_{s // chunk:05d}.npz", keys=np.array(keys), vecs=vecs)
            for i, k in enumerate(keys):
                where[k] = offset + i
            offset += len(vecs)
            blocks.append(vecs)
            print(f"  embedded {min(s + chunk, len(mk))}/{len(mk)} ({time.time() - t0:.0f}s)", file=sys.stderr, flush=True)
    if part[1] > 1:
        return None
    if not want:
        return np.zeros((0, DENSE_DIM), np.float32)
    allv = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    return allv[[where[k] for k in want]].astype(np.float32)
