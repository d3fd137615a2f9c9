"""The text model beside a reference on the same held-out rows: `profanity-text` (alt-profanity-check, a TF-IDF
linear SVM), the baseline that outside checks compare tamis with.

    python -m tamis.textmodel.training.reference --run build/crossval [--data ../shared/data] [--templates N]

`--run` is a `crossval` output directory (its `predictions.npz`; `--templates` as that run was made). For every
source group, AUPRC(any) of the text model's out-of-source scores (its highest served category, as `crossval`
reports it) and of the reference's `profanity` score, each text read as the service reads it (a long text by its
pieces, the highest piece's score), and of their sum `ours + 0.3 x reference` (would the reference add to the
model?). The reference was trained on the Davidson tweets and Jigsaw's Kaggle comments (its README): those
groups are in-source for it, so they are marked and left out of its mean.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from tamis.textmodel.model import blend
from tamis.textmodel.training import universe
from tamis.textmodel.training.crossval import auprc, group_of, rows_of, served_scores
from tamis.textmodel.training.data import Row, load_rows
from tamis.textmodel.training.train import RECIPES

# Source groups that alt-profanity-check was trained on (its README: Davidson et al. and Jigsaw's Kaggle set).
REFERENCE_TRAINED_ON = frozenset({"davidson_hate_offensive", "jigsaw"})
SUM_WEIGHT = 0.3


def reference_scores(rows: list[Row]) -> np.ndarray:
    """The profanity-text analyzer's score of every row: a long text's highest piece."""
    from tamis.analyzers.profanity_text import ProfanityText
    from tamis.schema import Item

    texts, owner = universe.pieces_of(rows)
    signals = ProfanityText().analyze([Item(str(k), text=t) for k, t in enumerate(texts)])
    out = np.zeros(len(rows))
    np.maximum.at(out, owner, np.array([s.scores["profanity"] for s in signals]))
    return out


def compare(rows: list[Row], ours: np.ndarray, ref: np.ndarray) -> dict:
    """Per source group AUPRC(any) of ours, the reference and their sum; means over the groups with both
    classes, the reference's over the groups it was not trained on (and ours over the same, to compare)."""
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r.labels.get("any") is not None and not np.isnan(ours[i]):
            by_group[group_of(r.set)].append(i)
    y = np.array([r.labels.get("any", 0) for r in rows])
    groups = {}
    for g, ix in sorted(by_group.items()):
        a = np.array(ix)
        fig = {"ours": auprc(y[a], ours[a]), "reference": auprc(y[a], ref[a]),
               "sum": auprc(y[a], ours[a] + SUM_WEIGHT * ref[a]), "reference_trained_on": g in REFERENCE_TRAINED_ON}
        if fig["ours"] is not None:
            groups[g] = fig
    unseen = [f for f in groups.values() if not f["reference_trained_on"]]

    def mean(figs: list[dict], k: str) -> float | None:
        return round(float(np.mean([f[k] for f in figs])), 4) if figs else None

    return {"groups": groups, "mean": {k: mean(list(groups.values()), k) for k in ("ours", "reference", "sum")},
            "mean_unseen_by_reference": {k: mean(unseen, k) for k in ("ours", "reference", "sum")}}


def markdown(res: dict) -> str:
    lines = ["| source group | tamis (out of source) | profanity-text | tamis + 0.3 x profanity-text |", "|---|---|---|---|"]
    for g, f in res["groups"].items():
        mark = " (in the reference's training data)" if f["reference_trained_on"] else ""
        lines.append(f"| {g}{mark} | {f['ours']} | {f['reference']} | {f['sum']} |")
    m, u = res["mean"], res["mean_unseen_by_reference"]
    lines.append(f"| **mean, every group** | {m['ours']} | {m['reference']} | {m['sum']} |")
    lines.append(f"| **mean, groups the reference never saw** | {u['ours']} | {u['reference']} | {u['sum']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="a crossval --out directory (its predictions.npz)")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--templates", type=int, default=None, metavar="N", help="identity templates in the sample, "
                    "as the run was made")
    ap.add_argument("--recipe", default="current-more-blend", choices=sorted(RECIPES),
                    help="the run's recipe (its any-head blend)")
    args = ap.parse_args(argv)
    if not Path(args.run, "predictions.npz").is_file():
        ap.error(f"--run: no predictions.npz in {args.run} (a crossval --out directory)")
    rows = universe.sample(load_rows(args.data), templates=args.templates)
    z = np.load(Path(args.run, "predictions.npz"))
    heads = tuple(z["heads"])
    preds = blend(rows_of(z, rows), heads, RECIPES[args.recipe].any_blend)
    print(markdown(compare(rows, served_scores(preds, heads)[1].max(axis=1), reference_scores(rows))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
