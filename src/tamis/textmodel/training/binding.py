"""What keeps each text category's review threshold where it is: a diagnostic for choosing the next data or
label change, on a cross-validation run's out-of-source predictions.

    python -m tamis.textmodel.training.binding --predictions RUN [--policy P] [--categories hate harassment]
        [--fold-without jigsaw --cache C --recipe current-more]

For each category, at grid thresholds down from the policy's review threshold, the three sets whose clean rows
reach it most often (crossval.derive_thresholds allows 1 % of any set's clean rows on its own, and
spend_review_budget 2 %). With `--fold-without GROUP`: the recipe fitted without that source group (as a
cross-validation fold), and for each category the mean dense (USE) and n-gram parts of the logit on the group's
clean and harmful rows, with the clean rows it scores highest: is a held-out source's false alarm in the
encoder's meaning or in the surface n-grams?
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from tamis.textmodel.model import blend
from tamis.textmodel.training import universe
from tamis.textmodel.training.crossval import SERVED, clean_mask, group_of, policy_body, rows_of
from tamis.textmodel.training.data import Row, load_rows
from tamis.textmodel.training.train import RECIPES


def clean_by_set(rows: list[Row], preds: np.ndarray, heads: tuple[str, ...], c: str) -> dict[str, np.ndarray]:
    """Scores of `c` on each set's rows that must stay quiet on it (sets with at least 20 of them)."""
    cats = tuple(h for h in heads if h in SERVED)
    j, jj = heads.index(c), cats.index(c)
    per: dict[str, list[float]] = defaultdict(list)
    for i, r in enumerate(rows):
        mask = clean_mask(r, cats)
        if not np.isnan(preds[i, j]) and mask is not None and mask[jj]:
            per[r.set].append(float(preds[i, j]))
    return {s: np.array(v) for s, v in per.items() if len(v) >= 20}


def worst_sets(scores: dict[str, np.ndarray], t: float, k: int = 3) -> list[tuple[str, float, int]]:
    """The k sets whose clean rows reach `t` most often: (set, share, clean rows)."""
    shares = sorted(((float((v >= t).mean()), s, len(v)) for s, v in scores.items()), reverse=True)[:k]
    return [(s, share, n) for share, s, n in shares]


def fold_parts(everything: list[Row], rows: list[Row], group: str, recipe_name: str, cache: str,
               categories: list[str]) -> None:
    from tamis.textmodel.training.train import features_of, fit, one_blas_thread

    recipe = RECIPES[recipe_name]
    extra = universe.training_extra(everything, rows, recipe)
    trows = [r for r in universe.training_rows(rows + extra)
             if r.split in ("train", "calib") and group_of(r.set) != group]
    dense, sparse = features_of([r.clean for r in trows], cache, ngrams=recipe.ngram_scale > 0)
    one_blas_thread()
    fitted = fit(trows, dense, sparse, recipe)
    held = [r for r in rows if group_of(r.set) == group]
    hD, hS = features_of([r.clean for r in held], cache, ngrams=recipe.ngram_scale > 0)
    P = fitted.predict(hD, hS)
    for c in categories:
        j = fitted.heads.index(c)
        zd, zs = hD @ fitted.dense_w[:, j], np.asarray(hS @ fitted.sparse_w[:, j]).ravel()
        for label, keep in (("clean", lambda r: r.labels.get("any") == 0), ("harmful", lambda r: r.labels.get("any") == 1)):
            ix = np.array([i for i, r in enumerate(held) if keep(r)], dtype=int)
            if len(ix):
                print(f"{group} without its group, {c}, {label} rows ({len(ix)}): dense {zd[ix].mean():+.2f}, "
                      f"n-grams {zs[ix].mean():+.2f}, bias {fitted.bias[j]:+.2f}; scored >= 0.8: {(P[ix, j] >= 0.8).mean():.1%}")
        clean = [i for i, r in enumerate(held) if r.labels.get("any") == 0]
        for i in sorted(clean, key=lambda i: -P[i, j])[:8]:
            print(f"   {P[i, j]:.3f}  dense {zd[i]:+.2f}  n-grams {zs[i]:+.2f}  {held[i].set}: {held[i].clean[:100]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--predictions", required=True, metavar="RUN", help="a crossval --out directory (predictions.npz)")
    ap.add_argument("--policy", default=None, help="the policy whose review thresholds to start from (default: the default policy)")
    ap.add_argument("--categories", nargs="*", default=["hate", "harassment", "violence", "profanity"])
    ap.add_argument("--fold-without", default=None, metavar="GROUP", help="also fit without this source group")
    ap.add_argument("--cache", default=None, help="with --fold-without: the embedding cache")
    ap.add_argument("--recipe", default="current-more-blend", help="the recipe of the run (its blend is applied "
                    "to the predictions, as crossval does) and of --fold-without's fit")
    args = ap.parse_args(argv)

    body = policy_body(args.policy)
    everything = load_rows(args.data)
    rows = universe.sample(everything)
    z = np.load(Path(args.predictions) / "predictions.npz")
    heads = tuple(str(h) for h in z["heads"])
    preds = blend(rows_of(z, rows), heads, RECIPES[args.recipe].any_blend)
    for c in args.categories:
        review = body["categories"].get(c, {}).get("review")
        scores = clean_by_set(rows, preds, heads, c)
        start = review if review is not None else 0.95
        for t in (round(start - d, 2) for d in (0.0, 0.02, 0.05, 0.1)):
            sets = ", ".join(f"{s} {100 * share:.2f} % of {n}" for s, share, n in worst_sets(scores, t))
            print(f"{c} at {t:.2f}{' (the policy)' if t == review else ''}: {sets}")
    if args.fold_without:
        if not args.cache:
            ap.error("--fold-without needs --cache")
        fold_parts(everything, rows, args.fold_without, args.recipe, args.cache, args.categories)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
