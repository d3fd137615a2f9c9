"""On-disk cache of USE embeddings for training (build/cache/), keyed by SHA-1 of the cleaned text."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from tamis.textmodel.features import FEATURES_VERSION, embed
from tamis.textmodel.data import text_key


def cached_embeddings(cleaned: list[str], cache_dir: str | Path, chunk: int = 4096) -> np.ndarray:
    """Embeddings (n, 512) float32 for cleaned texts; computes and stores only the missing ones."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    kpath, vpath = cache_dir / f"use_v{FEATURES_VERSION}_keys.npy", cache_dir / f"use_v{FEATURES_VERSION}_vecs.npy"
    keys = list(np.load(kpath)) if kpath.exists() else []
    vecs = np.load(vpath) if vpath.exists() else np.zeros((0, 512), np.float16)
    where = {k: i for i, k in enumerate(keys)}
    want = [text_key(t) for t in cleaned]
    missing = {}
    for k, t in zip(want, cleaned):
        if k not in where and k not in missing:
            missing[k] = t
    if missing:
        mk = list(missing)
        # Short texts first within each chunk batch makes USE micro-batches denser.
        mk.sort(key=lambda k: len(missing[k]))
        new = np.zeros((len(mk), 512), np.float16)
        t0 = time.time()
        for s in range(0, len(mk), chunk):
            new[s:s + chunk] = embed([missing[k] for k in mk[s:s + chunk]]).astype(np.float16)
            print(f"  embedded {min(s + chunk, len(mk))}/{len(mk)} ({time.time() - t0:.0f}s)", file=sys.stderr, flush=True)
        keys += mk
        vecs = np.concatenate([vecs, new])
        np.save(kpath, np.array(keys))
        np.save(vpath, vecs)
        where = {k: i for i, k in enumerate(keys)}
    return vecs[[where[k] for k in want]].astype(np.float32)
