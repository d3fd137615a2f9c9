"""Leave-one-source-out cross-validation of the text model: how it does on text unlike its training data.

    python -m tamis.textmodel.training.crossval --data ../shared/data [--cache build/cache] [--out build/crossval]
        [--recipe current] [--folds 0] [--policy src/tamis/policies/default.json] [--rescore]

For every source group (a set, or sets that share their text's origin, GROUPS below): fit the heads on
the other groups (their training split; calibrated on their calibration split, as `train` does), then
score every sampled row (`universe.sample`) of the held-out group the way the service scores a text
(a long text by its pieces, the highest piece's score; `universe.pieces`). `--folds K` holds the groups
out in K folds instead of one at a time (cheaper; each fold trains on a little less). The hand-written
contrast rows (data/text) are always in training and never scored. `--model WEIGHTS --eval-split` scores
fixed weights on the evaluation split instead: their in-source figures, the ceiling the out-of-source ones are
read against.

Reported per held-out set and per language (`crossval.md`, `crossval.json` in --out; the predictions in
`predictions.npz`, which `--rescore` reuses to apply other thresholds without refitting), and the
thresholds the out-of-source predictions support (`derive_thresholds`):
* AUPRC of each category on the rows that label it (>= 5 of each class);
* AUPRC(any): the row's `any` label against its highest category score (what the service reports);
* clean rows blocked / reviewed-or-blocked under the policy's thresholds. A clean row is one with
  any=0 (every category counts) or one whose labels are all 0 without `any` (only those categories
  count: UN speeches are labelled extremism=0, spam=0..., counter-speech hate=0);
* harmful rows (any=1) caught: reviewed-or-blocked, and blocked.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from tamis.textmodel.model import blend
from tamis.textmodel.training import universe
from tamis.textmodel.training.data import TEMPLATE_SET, Row, clean_for, load_rows
from tamis.textmodel.training.train import HEADS, RECIPES, Recipe, features_of, fit, one_blas_thread, save

# Sets that share the origin of their text: held out together, so that no fold trains on a sibling.
GROUPS = {
    "jigsaw": ("jigsaw_kurita_6label", "robtest_jigsaw", "jigsaw_sentence_templates"),
    "sms": ("sms_spam_collection", "sms_smishing_5971"),
    "wildguard": ("wildguardmix_prompts", "guardreasoner_wildguard_aegis_prompts"),
}
ALWAYS_TRAIN = {"tamis_contrast"}
CATEGORIES = tuple(h for h in HEADS if h != "any")
# The heads the service reports (the analyzer's RETIRED_HEADS are trained but never served): the figures
# are the service's, so a retired head neither raises AUPRC(any) nor counts against clean rows.
RETIRED = frozenset({"extremism"})
SERVED = tuple(c for c in CATEGORIES if c not in RETIRED)
MIN_CLASS = 5


def group_of(set_name: str) -> str:
    for g, sets in GROUPS.items():
        if set_name in sets:
            return g
    return set_name


def policy_thresholds(path: str | None = None) -> dict[str, dict[str, float | None]]:
    """The review and block thresholds of every served category in the policy at `path` (else the default)."""
    rules = policy_body(path)["categories"]
    return {c: {"review": rules.get(c, {}).get("review"), "block": rules.get(c, {}).get("block")} for c in SERVED}


def policy_body(path: str | None = None) -> dict:
    """The policy body at `path` (JSON), else the default policy's."""
    from tamis.engine.policy import default_body

    # the fields the shipped file sets, so that a policy written from it (--write-policy) is that file, re-thresholded
    return json.loads(Path(path).read_text()) if path else default_body().model_dump(mode="json", exclude_unset=True)


def folds(rows: list[Row], k: int) -> list[list[str]]:
    """Source groups held out together: one fold per group (k=0: leave-one-source-out), or the groups,
    largest first, dealt round-robin into k folds (every source is still scored by heads that never saw
    it nor its siblings; each fold trains on a little less)."""
    sizes: dict[str, int] = defaultdict(int)
    for r in rows:
        if r.set not in ALWAYS_TRAIN:
            sizes[group_of(r.set)] += 1
    order = sorted(sizes, key=lambda g: (-sizes[g], g))
    if not k or k >= len(order):
        return [[g] for g in order]
    return [order[i::k] for i in range(k)]


def predict_out_of_source(rows: list[Row], recipe: Recipe, cache: str, k: int = 0, log=lambda m: None,
                          on_full=lambda fitted, trows: None, extra: list[Row] | None = None) -> np.ndarray:
    """(len(rows), len(recipe.heads)) scores of every row by heads fitted without its source group.
    `extra` rows are trained on (except with their group held out), never scored. `on_full` receives the
    all-data fit (the model `train` would write from the same rows)."""
    trows = [r for r in universe.training_rows(rows + (extra or [])) if r.split in ("train", "calib")]
    tD, tS = features_of([r.clean for r in trows], cache, ngrams=recipe.ngram_scale > 0)
    piece_texts, owner_a = universe.pieces_of(rows)
    pD, pS = features_of(piece_texts, cache, ngrams=recipe.ngram_scale > 0)
    log(f"features: {len(trows)} training rows, {len(piece_texts)} pieces of {len(rows)} rows")
    one_blas_thread()
    t = time.time()
    full = fit(trows, tD, tS, recipe, log)  # every fold starts from here: far fewer iterations each
    log(f"all-data fit ({time.time() - t:.0f}s)")
    on_full(full, trows)
    preds = np.full((len(rows), len(recipe.heads)), np.nan)
    for held_groups in folds(rows, k):
        t = time.time()
        held_set = set(held_groups)
        ti = np.nonzero([group_of(r.set) not in held_set for r in trows])[0]
        fitted = fit([trows[i] for i in ti], tD[ti], tS[ti], recipe, start=full)
        held = np.array([group_of(r.set) in held_set for r in rows])
        pi = np.nonzero(held[owner_a])[0]
        P = fitted.predict(pD[pi], pS[pi])
        # a row's score is its highest piece's (pieces of one row are contiguous)
        starts = np.r_[0, np.nonzero(np.diff(owner_a[pi]))[0] + 1]
        preds[owner_a[pi][starts]] = np.maximum.reduceat(P, starts, axis=0)
        # a fold starts from the all-data fit (which saw the held-out rows): it must run to convergence
        capped = [h for h, t_ in fitted.training.items() if t_.get("iterations", 0) >= recipe.max_iter]
        if capped:
            log(f"WARNING: {capped} stopped at max_iter: the all-data start may leak into this fold")
        log(f"{'+'.join(held_groups)}: {held.sum()} rows scored, fitted on {len(ti)} ({time.time() - t:.0f}s)")
    return preds


def predict_with(model_path: str, rows: list[Row], cache: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Scores of a fixed model (e.g. the shipped weights) on every row, read as the service reads it. Not
    out-of-source for the sets that model was trained on: a reference, not a cross-validation."""
    from tamis.textmodel.training.cache import cached_embeddings
    from tamis.textmodel.model import TextModel

    model = TextModel.load(model_path)
    texts, owner_a = universe.pieces_of(rows)
    P = model.calibrate(model.logits(texts, cached_embeddings(texts, cache)))
    starts = np.r_[0, np.nonzero(np.diff(owner_a))[0] + 1]
    preds = np.full((len(rows), len(model.categories)), np.nan)
    preds[owner_a[starts]] = model.blend(np.maximum.reduceat(P, starts, axis=0))
    return preds, model.categories


def eval_split_rows(rows: list[Row]) -> list[Row]:
    """The rows `train` never fits on (its evaluation split), without the always-trained ones, which the
    cross-validation never scores either: fixed weights scored on these give in-source figures under the same
    definitions as the out-of-source ones."""
    return [r for r in rows if r.split == "eval" and r.set not in ALWAYS_TRAIN]


def auprc(y: np.ndarray, p: np.ndarray) -> float | None:
    """Average precision, or None with fewer than MIN_CLASS rows of either class (no figure from a handful)."""
    from sklearn.metrics import average_precision_score

    pos = int(y.sum())
    if pos < MIN_CLASS or len(y) - pos < MIN_CLASS:
        return None
    return round(float(average_precision_score(y, p)), 4)


def clean_mask(row: Row, cats: tuple[str, ...]) -> np.ndarray | None:
    """Which categories must stay quiet on a clean row; None when the row is not clean."""
    if row.labels.get("any") == 0:  # clean for every category, or only those its source annotates (CLEAN_COVERS)
        return np.array([clean_for(row.labels, row.set, c) for c in cats])
    if row.labels and all(v == 0 for v in row.labels.values()):
        return np.array([row.labels.get(c) == 0 for c in cats])
    return None


def served_scores(preds: np.ndarray, heads: tuple[str, ...]) -> tuple[tuple[str, ...], np.ndarray]:
    """The categories the service reports and their scores as it reports them: the review-only heads capped
    (analyzers/text_model.py), so they review and never block."""
    from tamis.analyzers.text_model import REVIEW_ONLY_CAP, REVIEW_ONLY_HEADS

    cats = tuple(c for c in heads if c in SERVED)
    C = preds[:, [heads.index(c) for c in cats]]
    return cats, np.where(np.isin(np.array(cats), list(REVIEW_ONLY_HEADS)), np.minimum(C, REVIEW_ONLY_CAP), C)


def summarise(rows: list[Row], preds: np.ndarray, heads: tuple[str, ...], thresholds: dict) -> dict:
    """Per set and per language figures of out-of-source predictions (rows with no prediction skipped), over
    the categories the service reports (SERVED)."""
    cats, C = served_scores(preds, heads)
    col = {h: j for j, h in enumerate(heads)}
    review = np.array([thresholds[c]["review"] if thresholds[c]["review"] is not None else np.inf for c in cats])
    block = np.array([thresholds[c]["block"] if thresholds[c]["block"] is not None else np.inf for c in cats])
    masks = [clean_mask(r, cats) for r in rows]
    by: dict[str, dict[str, list[int]]] = {"set": defaultdict(list), "language": defaultdict(list)}
    for i, r in enumerate(rows):
        if not np.isnan(preds[i]).any():
            by["set"][r.set].append(i)
            by["language"][r.lang.split("-")[0].lower()].append(i)

    def figures(ix: list[int]) -> dict:
        out: dict = {"n": len(ix)}
        anyl = [(i, rows[i].labels["any"]) for i in ix if rows[i].labels.get("any") is not None]
        if anyl:
            ii = np.array([i for i, _ in anyl])
            y = np.array([v for _, v in anyl])
            out["any_pos"] = int(y.sum())
            out["auprc_any"] = auprc(y, C[ii].max(axis=1))
            if "any" in col:
                out["auprc_any_head"] = auprc(y, preds[ii, col["any"]])
            harmful = ii[y == 1]
            if len(harmful):
                out["harmful_flagged"] = round(float((C[harmful] >= review).any(axis=1).mean()), 4)
                out["harmful_blocked"] = round(float((C[harmful] >= block).any(axis=1).mean()), 4)
        out["auprc"] = {}
        for j, c in enumerate(cats):
            lab = [(i, rows[i].labels[c]) for i in ix if c in rows[i].labels]
            if lab:
                a = auprc(np.array([v for _, v in lab]), C[[i for i, _ in lab], j])
                if a is not None:
                    out["auprc"][c] = a
        clean = [i for i in ix if masks[i] is not None]
        if clean:
            M = np.array([masks[i] for i in clean])
            Cc = C[clean]
            blocked = ((Cc >= block) & M).any(axis=1)
            flagged = ((Cc >= review) & M).any(axis=1)
            out["clean_n"] = len(clean)
            out["clean_blocked"] = round(float(blocked.mean()), 4)
            out["clean_flagged"] = round(float(flagged.mean()), 4)
            # which categories fire on clean rows (at review), so a reader sees what to fix
            fired = ((Cc >= review) & M).sum(axis=0)
            out["clean_flagged_by"] = {c: int(n) for c, n in zip(cats, fired) if n}
        return out

    res = {"thresholds": thresholds, "sets": {}, "languages": {}}
    for s, ix in sorted(by["set"].items()):
        res["sets"][s] = {"group": group_of(s), **figures(ix)}
    for lang, ix in sorted(by["language"].items()):
        if len(ix) >= 50:
            res["languages"][lang] = figures(ix)
    # one figure per source group: the mean over groups of AUPRC(any) on the group's rows together
    per_group = defaultdict(list)
    for s, ix in by["set"].items():
        per_group[group_of(s)] += ix
    gfig = {g: figures(ix) for g, ix in sorted(per_group.items())}
    scored = [f["auprc_any"] for f in gfig.values() if f.get("auprc_any") is not None]
    res["groups"] = {g: {k: f.get(k) for k in ("n", "auprc_any", "clean_blocked", "clean_flagged")} for g, f in gfig.items()}
    res["mean_auprc_any"] = round(float(np.mean(scored)), 4) if scored else None
    res["groups_with_auprc_any"] = len(scored)
    sets_clean = [f for f in res["sets"].values() if f.get("clean_n", 0) >= 20]
    res["worst_clean_blocked"] = max((f["clean_blocked"] for f in sets_clean), default=None)
    res["worst_clean_flagged"] = max((f["clean_flagged"] for f in sets_clean), default=None)
    res["sets_over_targets"] = sorted(s for s, f in res["sets"].items() if f.get("clean_n", 0) >= 20 and
                                      (f["clean_blocked"] > 0.01 or f["clean_flagged"] > 0.05))
    return res


GRID = np.round(np.r_[np.arange(0.5, 0.95, 0.01), np.arange(0.95, 0.999, 0.002)], 4)
PRECISION_BLOCK, PRECISION_REVIEW = 0.9, 0.7
# Per category, the share of any one set's clean rows that may reach a threshold: several categories
# add up, and the targets are 1 % blocked and 5 % reviewed-or-blocked on every source.
CLEAN_BLOCK_BUDGET, CLEAN_REVIEW_BUDGET = 0.002, 0.01
# Categories a person must see whatever the clean rows say: no threshold is derived for them (the policy keeps
# its review threshold and text never blocks them). Out of source the only clean self-harm rows a threshold
# must clear are 40 supportive users of reddit_cssrs_suicide; clearing them moved review to 0.92, where
# first-person disclosures ("I swallowed a whole bottle of pills") go unseen. A needless review costs a
# reviewer a minute; a missed disclosure can cost a life.
RECALL_FIRST = frozenset({"self-harm"})


def pooled(rows: list[Row], scores: np.ndarray, valid: np.ndarray, masks: list, c: str, j: int,
           harmful_counts: bool = False) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """The rows that speak to category `c` (column j of the clean masks): its label where a row has one, else 0
    on rows clean for it; their scores; and for each, its set where it is a clean row's negative (else None).
    With `harmful_counts`, a row harmful in any category counts as a positive too (what a reviewer is shown)."""
    ys, ps, sets = [], [], []
    for i, r in enumerate(rows):
        if not valid[i]:
            continue
        if harmful_counts and (r.labels.get(c) == 1 or r.labels.get("any") == 1):
            y = 1
        elif c in r.labels:
            y = r.labels[c]
        elif masks[i] is not None and masks[i][j]:
            y = 0
        else:
            continue
        ys.append(y)
        ps.append(scores[i])
        sets.append(r.set if masks[i] is not None and y == 0 else None)
    return np.array(ys), np.array(ps), sets


def derive_thresholds(rows: list[Row], preds: np.ndarray, heads: tuple[str, ...]) -> dict:
    """Review and block thresholds per category from out-of-source predictions: the lowest threshold on
    GRID at which the pooled precision (rows labelling the category, and clean rows as negatives) is at
    least PRECISION_* and no set's clean rows reach it more often than its CLEAN_*_BUDGET. None where no
    threshold qualifies: the category does not block (or is not reviewed) by default."""
    cats = tuple(c for c in heads if c in SERVED)
    col = {h: j for j, h in enumerate(heads)}
    masks = [clean_mask(r, cats) for r in rows]
    valid = ~np.isnan(preds).any(axis=1)
    out = {}
    for j, c in enumerate(cats):
        y, p, sets = pooled(rows, preds[:, col[c]], valid, masks, c, j)
        clean_sets = defaultdict(list)
        for k, s_ in enumerate(sets):
            if s_ is not None:
                clean_sets[s_].append(k)
        worst = {t: max((float((p[ix] >= t).mean()) for ix in clean_sets.values() if len(ix) >= 20), default=0.0)
                 for t in GRID}

        def first(target: float, budget: float):
            for t in GRID:
                hit = p >= t
                if hit.sum() < 5:
                    return None
                if y[hit].mean() >= target and worst[t] <= budget:
                    return float(t), round(float(y[hit].mean()), 4), round(float(hit[y == 1].mean()), 4)
            return None

        rv, bl = first(PRECISION_REVIEW, CLEAN_REVIEW_BUDGET), first(PRECISION_BLOCK, CLEAN_BLOCK_BUDGET)
        review_by = "precision"
        if c in RECALL_FIRST:
            rv, bl, review_by = None, None, "recall first"
        elif rv is None:
            # no threshold is precise enough to review: review where the clean rows stay within their budget,
            # so that the category is still seen by a person
            rv, review_by = first(0.0, CLEAN_REVIEW_BUDGET), "clean budget only"
        if bl is not None and rv is not None and bl[0] < rv[0]:
            bl = None if precision_at(p, y, rv[0]) < PRECISION_BLOCK else (rv[0], *bl[1:])
        out[c] = {"rows": len(y), "positives": int(y.sum()),
                  "review": None if rv is None else rv[0], "review_precision": None if rv is None else rv[1],
                  "review_recall": None if rv is None else rv[2], "review_by": review_by if rv or c in RECALL_FIRST else None,
                  "block": None if bl is None else bl[0],
                  "block_precision": None if bl is None else bl[1], "block_recall": None if bl is None else bl[2],
                  # pooled precision at every grid threshold that >= 5 rows reach: what a test holds the policy to
                  "precision_at": {f"{t:g}": precision_at(p, y, t) for t in GRID if (p >= t).sum() >= 5}}
    return out


# Review thresholds are then lowered together (spend_review_budget) while every set's clean rows reviewed or
# blocked, all categories together, stay within this share (the target is 5 %: a margin for unseen sources),
# and no one category reaches more than MAX_CATEGORY_REVIEW of any set's clean rows.
SET_REVIEW_BUDGET, MAX_CATEGORY_REVIEW = 0.04, 0.02


def spend_review_budget(rows: list[Row], preds: np.ndarray, heads: tuple[str, ...], derived: dict, base: dict) -> dict:
    """`derived` with review thresholds lowered where what they catch is worth it. derive_thresholds keeps each
    category within 1 % of any set's clean rows on its own; but the target holds for all categories together,
    and most sets' clean rows are far below it. Greedily, the category whose lowering catches the most harmful
    rows (`any`=1) per clean row it adds to review is lowered, to whichever lower grid step does that best (not
    only the next one, so that a plateau that catches nothing more does not stop it), as long as at least PRECISION_REVIEW of the rows it flags are
    harmful in some category (a reviewer shown a slur tweet under `hate` that its source files under profanity
    has not been shown a clean text), no set's clean rows go over SET_REVIEW_BUDGET (a set over it already: no
    more of them) and none over MAX_CATEGORY_REVIEW for the category. Block thresholds are not touched: a block
    needs the category's own precision. The other categories count at the thresholds the policy will have
    (policy_with(derived, base))."""
    cats, C = served_scores(preds, heads)
    ok = ~np.isnan(preds).any(axis=1)
    masks = [clean_mask(r, cats) for r in rows]
    clean = np.array([ok[i] and masks[i] is not None for i in range(len(rows))])
    M = np.array([masks[i] if clean[i] else np.zeros(len(cats), bool) for i in range(len(rows))])
    harmful = np.array([ok[i] and rows[i].labels.get("any") == 1 for i in range(len(rows))])
    set_ix = defaultdict(list)
    for i in np.nonzero(clean)[0]:
        set_ix[rows[i].set].append(i)
    set_ix = {s_: np.array(ix) for s_, ix in set_ix.items() if len(ix) >= 20}
    policy = policy_with(derived, base)["categories"]
    review = {c: policy.get(c, {}).get("review") for c in cats}
    movable = [c for c in cats if c in derived and derived[c]["review"] is not None and c not in RECALL_FIRST
               and c not in SHARED_WITH_IMAGES]

    def flags(th: dict) -> tuple[np.ndarray, np.ndarray]:
        t = np.array([th.get(c) if th.get(c) is not None else np.inf for c in cats])
        return (C >= t) & M, C >= t  # clean rows flagged (per category), any row flagged (per category)

    labelled = {c: pooled(rows, C[:, cats.index(c)], ok, masks, c, cats.index(c), harmful_counts=True)[:2]
                for c in movable}
    start = {s_: float(flags(review)[0][ix].any(axis=1).mean()) for s_, ix in set_ix.items()}
    # a set's cap: the budget, or where it stands already when it is over it (no more of its clean rows)
    cap = {s_: max(SET_REVIEW_BUDGET, share) + 1e-9 for s_, share in start.items()}

    def within_budgets(clean_t: np.ndarray, j: int) -> bool:
        return all(clean_t[ix, j].mean() <= MAX_CATEGORY_REVIEW and clean_t[ix].any(axis=1).mean() <= cap[s_]
                   for s_, ix in set_ix.items())

    while True:
        clean_now, hit_now = flags(review)
        caught_now, flagged_now = hit_now[harmful].any(axis=1).sum(), clean_now.any(axis=1)
        best = None
        for c in movable:
            y, p = labelled[c]
            for t in (float(t) for t in GRID[::-1] if t < review[c]):
                if (p >= t).sum() < 5 or precision_at(p, y, t) < PRECISION_REVIEW:
                    break
                clean_t, hit_t = flags({**review, c: t})
                if not within_budgets(clean_t, cats.index(c)):
                    break
                gained = int(hit_t[harmful].any(axis=1).sum() - caught_now)
                added = int(clean_t.any(axis=1).sum() - flagged_now.sum())
                if gained > 0 and (best is None or gained / (added + 1) > best[0]):
                    best = (gained / (added + 1), c, t)
        if best is None:
            break
        review[best[1]] = best[2]
    out = {c: dict(d) for c, d in derived.items()}
    for c in movable:
        if review[c] != derived[c]["review"]:
            y, p = pooled(rows, C[:, cats.index(c)], ok, masks, c, cats.index(c))[:2]
            y_harmful, p_harmful = labelled[c]
            out[c].update(review=review[c], review_precision=precision_at(p, y, review[c]),
                          review_harmful_share=precision_at(p_harmful, y_harmful, review[c]),
                          review_recall=round(float((p[y == 1] >= review[c]).mean()), 4) if (y == 1).any() else None,
                          review_by=f"{derived[c]['review_by']}, then the sets' review budget")
    return out


def precision_at(p: np.ndarray, y: np.ndarray, t: float) -> float:
    hit = p >= t
    return round(float(y[hit].mean()), 4) if hit.any() else 0.0


# Categories that image analyzers score too: their thresholds stay (they are the images' as well).
SHARED_WITH_IMAGES = {"sexual"}


def policy_with(derived: dict, base: dict) -> dict:
    """`base` (a policy body) with the text categories' thresholds replaced by derived ones. A category with
    no block threshold reviews only. One with no review threshold either (out of source no threshold kept
    every set's clean rows within the budget, or its only source was held out, as for scam) keeps the base's
    review threshold, without a block: a person still sees it, nothing is blocked on it."""
    body = json.loads(json.dumps(base))
    for c, d in derived.items():
        if c in SHARED_WITH_IMAGES or c not in body["categories"]:
            continue
        rule = {}
        review = d["review"] if d["review"] is not None else body["categories"][c].get("review")
        if review is not None:
            rule["review"] = review
        if d["block"] is not None:
            rule["block"] = d["block"]
        body["categories"][c] = rule
    return body


def rows_of(z, rows: list[Row]) -> np.ndarray:
    """The saved predictions of `rows`, in their order; the run may have scored more rows (a larger sample)."""
    at = {rid: i for i, rid in enumerate(z["ids"])}
    # the always-trained rows are never scored (NaN): a run made before some were written still serves
    missing = [r.id for r in rows if r.id not in at and r.set not in ALWAYS_TRAIN]
    if missing:
        raise SystemExit(f"the predictions do not cover {len(missing)} rows of this sample (e.g. {missing[0]})")
    preds = np.full((len(rows), z["preds"].shape[1]), np.nan)
    known = [i for i, r in enumerate(rows) if r.id in at]
    preds[known] = z["preds"][[at[rows[i].id] for i in known]]
    return preds


def policy_json(body: dict) -> str:
    """A policy body as src/tamis/policies/default.json is written: a category's thresholds on one line."""
    lines = ["{"]
    for i, (key, value) in enumerate(body.items()):
        end = "," if i < len(body) - 1 else ""
        if key == "categories":
            cats = [f'    {json.dumps(c)}: {json.dumps({k: v for k, v in t.items() if v is not None})}'
                    for c, t in value.items()]
            lines.append('  "categories": {\n' + ",\n".join(cats) + "\n  }" + end)
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{end}")
    return "\n".join(lines) + "\n}\n"


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def _num(v) -> str:
    return "–" if v is None else f"{v:.2f}"


def markdown(res: dict) -> str:
    from tamis.analyzers.text_model import REVIEW_ONLY_CAP, REVIEW_ONLY_HEADS

    cats = list(SERVED)
    out = [f"Mean over source groups of AUPRC(any): **{_num(res['mean_auprc_any'])}** "
           f"({res['groups_with_auprc_any']} groups with both classes). Worst set: clean blocked "
           f"{_pct(res['worst_clean_blocked'])} %, clean reviewed-or-blocked {_pct(res['worst_clean_flagged'])} % "
           "(sets with >= 20 clean rows). Over a target (blocked > 1 % or reviewed-or-blocked > 5 %): "
           + (", ".join(res["sets_over_targets"]) or "none") + ".\n",
           "| held-out set (group) | rows | AUPRC any | harmful caught / blocked % | clean rows | clean blocked % "
           "| clean review+block % | fired on clean | " + " | ".join(cats) + " |",
           "|---|---|---|---|---|---|---|---|" + "---|" * len(cats)]
    for s, f in res["sets"].items():
        name = s if f["group"] == s else f"{s} ({f['group']})"
        fired = ", ".join(f"{c} {n}" for c, n in sorted(f.get("clean_flagged_by", {}).items(), key=lambda kv: -kv[1])[:3])
        caught = "–" if "harmful_flagged" not in f else f"{_pct(f['harmful_flagged'])} / {_pct(f['harmful_blocked'])}"
        out.append(f"| {name} | {f['n']} | {_num(f.get('auprc_any'))} | {caught} | {f.get('clean_n', 0)} "
                   f"| {_pct(f.get('clean_blocked'))} | {_pct(f.get('clean_flagged'))} | {fired or '–'} | "
                   + " | ".join(_num(f["auprc"].get(c)) for c in cats) + " |")
    out += ["", "| language | rows | AUPRC any | harmful caught / blocked % | clean rows | clean blocked % | clean review+block % |",
            "|---|---|---|---|---|---|---|"]
    for lang, f in res["languages"].items():
        caught = "–" if "harmful_flagged" not in f else f"{_pct(f['harmful_flagged'])} / {_pct(f['harmful_blocked'])}"
        out.append(f"| {lang} | {f['n']} | {_num(f.get('auprc_any'))} | {caught} | {f.get('clean_n', 0)} "
                   f"| {_pct(f.get('clean_blocked'))} | {_pct(f.get('clean_flagged'))} |")
    th = res["thresholds"]
    out += ["", "Thresholds applied (the policy's): " + ", ".join(
        f"{c} {_num(t['review'])}/{_num(t['block'])}" for c, t in th.items()) + " (review/block; – = none); the "
        "analyzer caps " + (", ".join(sorted(REVIEW_ONLY_HEADS)) or "no head") + f" at {REVIEW_ONLY_CAP}, below block."]
    if "derived_thresholds" in res:
        out += ["", "Thresholds the out-of-source predictions support (lowest on a grid with pooled precision >= "
                f"{PRECISION_REVIEW} for review, >= {PRECISION_BLOCK} for block, and at most "
                f"{100 * CLEAN_REVIEW_BUDGET:g} % / {100 * CLEAN_BLOCK_BUDGET:g} % of any set's clean rows reaching it; where no "
                "review threshold is that precise, the lowest within the clean budget alone, so the category is still "
                "seen by a person; a category with no block threshold reviews only; then the review thresholds are "
                "lowered together, a grid step at a time where the most harmful rows are caught per clean row flagged, "
                f"while every set's clean rows reviewed or blocked stay within {100 * SET_REVIEW_BUDGET:g} % and no "
                f"category's within {100 * MAX_CATEGORY_REVIEW:g} %: spend_review_budget):", "",
                "| category | rows (positives) | review | precision / recall there | block | precision / recall there |",
                "|---|---|---|---|---|---|"]
        for c, d in res["derived_thresholds"].items():
            by = d.get("review_by") or ""
            review = {"clean budget only": f"{_num(d['review'])} (clean budget only)",
                      "recall first": "the policy's (recall first)"}.get(by, _num(d["review"]))
            if by.endswith("then the sets' review budget"):
                review = f"{_num(d['review'])} ({'clean budget only, ' if by.startswith('clean') else ''}lowered on the sets' budget)"
            out.append(f"| {c} | {d['rows']} ({d['positives']}) | {review} "
                       f"| {_num(d['review_precision'])} / {_num(d['review_recall'])} "
                       f"| {'does not block' if d['block'] is None else _num(d['block'])} "
                       f"| {_num(d['block_precision'])} / {_num(d['block_recall'])} |")
    return "\n".join(out) + "\n"


def parse_blend(spec: str) -> dict[str, float]:
    """"harassment=0.5,hate=0.3" -> {"harassment": 0.5, "hate": 0.3}; "" -> {}."""
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        category, _, weight = part.partition("=")
        try:
            w = float(weight)
        except ValueError:
            w = float("nan")
        if category not in SERVED or not 0.0 <= w <= 1.0:
            raise SystemExit(f"--any-blend: {part!r} is not a served category = a weight in [0, 1]")
        out[category] = w
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--cache", default="build/cache")
    ap.add_argument("--out", default="build/crossval")
    ap.add_argument("--policy", default=None, help="policy JSON whose thresholds are applied (default: the "
                    "default policy)")
    ap.add_argument("--folds", type=int, default=0, help="hold out the source groups in this many folds "
                    "(default 0: one group at a time)")
    ap.add_argument("--recipe", default="current", choices=sorted(RECIPES))
    ap.add_argument("--C", type=float, default=None)
    ap.add_argument("--max-iter", type=int, default=None)
    ap.add_argument("--any-blend", default=None, metavar="C=W,...", help="blend these categories with the any head "
                    "instead of the recipe's (tamis.textmodel.model.blend; e.g. harassment=0.5,hate=0.3; '' for none)")
    ap.add_argument("--model", default=None, help="score these fixed weights instead of cross-validating "
                    "(a reference: in-source for the sets they were trained on)")
    ap.add_argument("--eval-split", action="store_true", help="with --model: score the rows of the evaluation "
                    "split instead of the sample (sampled the same way), which `train` never fits on: the weights' "
                    "in-source figures under the same definitions, the ceiling out-of-source figures are read against")
    ap.add_argument("--rescore", action="store_true", help="reuse --out's predictions.npz (new thresholds only)")
    ap.add_argument("--rescore-from", default=None, metavar="DIR", help="with --rescore: another run's predictions, "
                    "scored on this sample's rows (e.g. a fit on 25,000 templates scored on the default sample, so that "
                    "its figures compare with a default run's)")
    ap.add_argument("--write-policy", default=None, metavar="PATH", help="write the policy (--policy, else the "
                    "default) with the derived thresholds for the text categories")
    ap.add_argument("--save-model", default=None, metavar="DIR", help="also write the all-data fit there (what "
                    "`train --recipe` writes from the same rows)")
    ap.add_argument("--templates", type=int, default=None, metavar="N", help="identity templates in the sample "
                    f"(default {universe.CAPS[TEMPLATE_SET]})")
    args = ap.parse_args(argv)
    if args.eval_split and not args.model:
        ap.error("--eval-split scores fixed weights: give --model")
    if args.eval_split and args.write_policy:  # thresholds come from out-of-source scores only
        ap.error("--write-policy derives thresholds from out-of-source scores; not with --eval-split")
    t0 = time.time()

    def log(msg):
        print(f"[{time.time() - t0:6.0f}s] {msg}", file=sys.stderr, flush=True)

    everything = load_rows(args.data)
    if args.eval_split:
        everything = eval_split_rows(everything)
    rows = universe.sample(everything, templates=args.templates)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    recipe = RECIPES[args.recipe]
    recipe = replace(recipe, C=args.C or recipe.C, max_iter=args.max_iter or recipe.max_iter)
    if args.any_blend is not None:
        recipe = replace(recipe, any_blend=parse_blend(args.any_blend))
    if args.model:
        preds, heads = predict_with(args.model, rows, args.cache)
    elif args.rescore:
        z = np.load(Path(args.rescore_from or out) / "predictions.npz")
        preds, heads = rows_of(z, rows), tuple(z["heads"])
    else:
        def on_full(fitted, trows):
            if args.save_model:
                save(fitted, args.recipe, recipe, trows, [], Path(args.save_model))
                log(f"wrote {args.save_model}/text_model.npz")

        extra = universe.training_extra(everything, rows, recipe)
        if extra:
            log(f"{len(extra)} extra rows for training only (rare positives, more rows a set)")
        preds = predict_out_of_source(rows, recipe, args.cache, args.folds, log, on_full, extra)
        heads = recipe.heads
        np.savez_compressed(out / "predictions.npz", preds=preds, heads=np.array(heads), ids=np.array([r.id for r in rows]))
    if not args.model:  # the heads' own scores are saved; what is measured is what the service reports
        preds = blend(preds, heads, recipe.any_blend)
    res = summarise(rows, preds, heads, policy_thresholds(args.policy))
    base = policy_body(args.policy)
    res["derived_thresholds"] = spend_review_budget(rows, preds, heads, derive_thresholds(rows, preds, heads), base)
    res["folds"] = folds(rows, args.folds)
    res["recipe"] = {"name": f"fixed weights {args.model}" if args.model else args.recipe, "C": recipe.C, "dense_scale": recipe.dense_scale,
                     "ngram_scale": recipe.ngram_scale, "ngram_heads": None if recipe.ngram_heads is None else
                     list(recipe.ngram_heads), "language_dirs": recipe.language_dirs, "max_iter": recipe.max_iter, "heads": list(heads),
                     "background": recipe.background, "pos_share": recipe.pos_share,
                     "rare_positives": recipe.rare_positives, "train_per_set": recipe.train_per_set,
                     "any_blend": recipe.any_blend,
                     "set_weights": {"/".join(map(str, k)): v for k, v in recipe.noisy.items()}}
    if args.write_policy:
        Path(args.write_policy).write_text(policy_json(policy_with(res["derived_thresholds"], base)))
    (out / "crossval.json").write_text(json.dumps(res, indent=1))
    (out / "crossval.md").write_text(markdown(res))
    print(markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
