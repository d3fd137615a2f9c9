"""Speed of the text model against the raw USE encoder, measured in the same run.

    python -m tamis.textmodel.training.bench [--threads 2] [--n 2000]

Prints p50/p90 latency of one short text and batch throughput (short texts/s), for the full model
(clean + USE + hashed n-grams + heads + calibration) and for the bare encoder.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

SHORT = [
    "you are a worthless idiot", "thanks, see you tomorrow at the station", "buy cheap viagra now click here",
    "I could murder a pizza right now", "how do I kill a Python process", "Ich bin ein stolzer Gärtner",
    "this movie was absolutely terrible lol", "je pense que tu as raison", "I will find you and hurt you",
    "最近天气很好，我们去公园吧",
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args(argv)
    from tamis.textmodel import features
    from tamis.textmodel.model import TextModel

    t = time.perf_counter()
    model = TextModel.load()
    features.encoder(threads=args.threads).encode(["warm up"])
    print(f"load: {time.perf_counter() - t:.2f} s")
    enc = features.encoder()
    batch = [f"{SHORT[i % len(SHORT)]} #{i}" for i in range(args.n)]

    def one(fn):
        ts = []
        for i in range(300):
            s = time.perf_counter()
            fn([SHORT[i % len(SHORT)]])
            ts.append(time.perf_counter() - s)
        return np.percentile(ts, 50) * 1e3, np.percentile(ts, 90) * 1e3

    def many(fn):
        fn(batch[:100])
        s = time.perf_counter()
        fn(batch)
        return len(batch) / (time.perf_counter() - s)

    for name, fn in (("encoder (USE only)", enc.encode), ("text model", model.predict)):
        p50, p90 = one(fn)
        tput = many(fn)
        print(f"{name:20} one text p50 {p50:.2f} ms  p90 {p90:.2f} ms   batch of {args.n}: {tput:.0f} texts/s")
    print(f"cpus visible: {os.cpu_count()}, encoder threads: {args.threads}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
