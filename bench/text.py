"""Text model speed, against the raw USE encoder measured in the same run (issue #4's target).

    python bench/text.py [--n 2000]

Prints p50 latency of one short text and batch throughput (short texts/s) for: the bare encoder,
the text model (encoder + n-grams + heads + calibration), and tamis's Python API
(`tamis.services.moderation.judge` with a policy running only `text-model`: chunking, language id, policy).
Targets: p50 < 10 ms for one short text through the API, >= 500 short texts/s in batches.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

SHORT = [
    "you are a worthless idiot", "thanks, see you tomorrow at the station", "buy cheap viagra now click here",
    "I could murder a pizza right now", "how do I kill a Python process", "Ich bin ein stolzer Gärtner",
    "this movie was absolutely terrible lol", "je pense que tu as raison", "I will find you and hurt you",
    "最近天气很好，我们去公园吧",
]


def p50_ms(fn: Callable[[list[str]], object], rounds: int = 300) -> float:
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        fn([SHORT[i % len(SHORT)]])
        times.append(time.perf_counter() - start)
    return float(np.percentile(times, 50) * 1000)


def per_second(fn: Callable[[list[str]], object], texts: list[str], batch: int = 100) -> float:
    fn(texts[:batch])
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        fn(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("TAMIS_DATA_DIR", tempfile.mkdtemp(prefix="tamis-bench-"))
    from tamis.analyzers import get_analyzer
    from tamis.schema import Item
    from tamis.services.moderation import judge
    from tamis.engine.policy import Policy, PolicyBody, default_body
    from tamis.textmodel import features

    analyzer = get_analyzer("text-model")
    encoder = features.encoder()
    body = default_body().model_dump()
    body["analyzers"] = ["text-model"]
    policy = Policy("bench", 1, PolicyBody.model_validate(body))
    texts = [f"{SHORT[i % len(SHORT)]} #{i}" for i in range(args.n)]

    def api(batch: list[str]) -> object:
        return judge("bench", policy, [Item(str(i), text=t) for i, t in enumerate(batch)])

    rows = [
        ("raw USE encoder", encoder.encode, None),
        ("text model", analyzer.model.predict, None),
        ("tamis API (judge)", api, None),
    ]
    print(f"cpu cores: {os.cpu_count()}; {args.n} short texts, batches of 100")
    print(f"{'':20} {'p50 ms (one text)':>18} {'texts/s (batches)':>18}")
    results = {}
    for name, fn, _ in rows:
        results[name] = (p50_ms(fn), per_second(fn, texts))
        print(f"{name:20} {results[name][0]:18.2f} {results[name][1]:18.1f}")
    api_p50, api_rate = results["tamis API (judge)"]
    raw_rate = results["raw USE encoder"][1]
    print(f"API / raw encoder throughput: {api_rate / raw_rate:.2f}; "
          f"targets: p50 {api_p50:.1f} ms < 10 ms: {'met' if api_p50 < 10 else 'NOT met'}; "
          f"{api_rate:.0f}/s >= 500/s: {'met' if api_rate >= 500 else 'NOT met'}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    main()
