"""Metric functions for `tamis eval`, numpy only (sklearn is not a run-time dependency).

Conventions: `y` holds 0/1 labels, `scores` floats in [0, 1], `predicted` booleans (the policy's
decision). A metric that is undefined on its input (no positives, one class only, nothing predicted
positive) is None, never NaN, so that it reads as "undefined" in JSON and tables alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

RELIABILITY_BINS = 10
# The fairness goals: a group's FPR on clean text at most 1.25x the overall, and below 5%.
MAX_FPR_RATIO = 1.25
MAX_GROUP_FPR = 0.05
# Groups with fewer clean rows than this are reported, but their rates are too noisy to judge.
MIN_GROUP_ROWS = 30
# Points kept of a PR curve for the report (the curve can have one point per distinct score).
PR_CURVE_POINTS = 200


def _arrays(y: ArrayLike, scores: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    y_arr, s_arr = np.asarray(y, dtype=np.int64).ravel(), np.asarray(scores, dtype=np.float64).ravel()
    if y_arr.shape != s_arr.shape:
        raise ValueError(f"{y_arr.size} labels but {s_arr.size} scores")
    return y_arr, s_arr


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


def binary_curve(y: ArrayLike, scores: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """(false positives, true positives, threshold) at each distinct score, highest threshold first.

    Tied scores share one threshold: a classifier cannot separate them, so they enter together.
    """
    y_arr, s_arr = _arrays(y, scores)
    order = np.argsort(-s_arr, kind="mergesort")
    s_sorted, y_sorted = s_arr[order], y_arr[order]
    ends = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1] if s_sorted.size else np.array([], int)
    tps = np.cumsum(y_sorted)[ends]
    fps = ends + 1 - tps
    return fps, tps, s_sorted[ends]


def precision_recall_curve(y: ArrayLike, scores: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(precision, recall) at each distinct threshold, highest first; empty without positives."""
    fps, tps, _ = binary_curve(y, scores)
    if not tps.size or tps[-1] == 0:
        return np.array([]), np.array([])
    return tps / (tps + fps), tps / tps[-1]


def average_precision(y: ArrayLike, scores: ArrayLike) -> float | None:
    """AUPRC as sklearn's average_precision_score: sum over thresholds of (R_n - R_n-1) * P_n, no interpolation."""
    precision, recall = precision_recall_curve(y, scores)
    if not precision.size:
        return None
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def roc_auc(y: ArrayLike, scores: ArrayLike) -> float | None:
    """Area under the ROC curve (trapezoids, so a tie between a positive and a negative counts one half)."""
    fps, tps, _ = binary_curve(y, scores)
    if not tps.size or tps[-1] == 0 or fps[-1] == 0:
        return None
    fpr, tpr = np.r_[0, fps] / fps[-1], np.r_[0, tps] / tps[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def confusion(y: ArrayLike, predicted: ArrayLike) -> dict[str, int]:
    y_arr = np.asarray(y, dtype=bool).ravel()
    p_arr = np.asarray(predicted, dtype=bool).ravel()
    return {"tp": int(np.sum(y_arr & p_arr)), "fp": int(np.sum(~y_arr & p_arr)),
            "fn": int(np.sum(y_arr & ~p_arr)), "tn": int(np.sum(~y_arr & ~p_arr))}


def threshold_metrics(y: ArrayLike, predicted: ArrayLike) -> dict[str, Any]:
    """Counts, precision, recall, F1 and false-positive rate of the policy's decisions."""
    c = confusion(y, predicted)
    precision = _ratio(c["tp"], c["tp"] + c["fp"])
    recall = _ratio(c["tp"], c["tp"] + c["fn"])
    f1 = _ratio(2 * c["tp"], 2 * c["tp"] + c["fp"] + c["fn"])
    return c | {"precision": precision, "recall": recall, "f1": f1, "fpr": _ratio(c["fp"], c["fp"] + c["tn"])}


def _bin_index(scores: NDArray[np.float64], bins: int) -> NDArray[np.int64]:
    # floor(s * bins) puts 0.3 in bin 3 (comparing with linspace edges would put it in bin 2);
    # a score of 1.0 joins the last bin.
    return np.clip(np.floor(scores * bins).astype(np.int64), 0, bins - 1)


def reliability(y: ArrayLike, scores: ArrayLike, bins: int = RELIABILITY_BINS) -> list[dict[str, Any]]:
    """Equal-width bins over [0, 1]: mean predicted score vs observed positive rate, with counts."""
    y_arr, s_arr = _arrays(y, scores)
    index = _bin_index(s_arr, bins)
    out = []
    for b in range(bins):
        mask = index == b
        count = int(mask.sum())
        out.append({"lo": b / bins, "hi": (b + 1) / bins, "count": count,
                    "mean_predicted": float(s_arr[mask].mean()) if count else None,
                    "observed": float(y_arr[mask].mean()) if count else None})
    return out


def expected_calibration_error(y: ArrayLike, scores: ArrayLike, bins: int = RELIABILITY_BINS) -> float | None:
    """Sum over bins of (share of rows in the bin) x |mean predicted - observed rate|."""
    y_arr, _ = _arrays(y, scores)
    if not y_arr.size:
        return None
    table = reliability(y, scores, bins)
    return float(sum(b["count"] / y_arr.size * abs(b["mean_predicted"] - b["observed"]) for b in table if b["count"]))


def downsample_curve(precision: NDArray[np.float64], recall: NDArray[np.float64],
                     points: int = PR_CURVE_POINTS) -> dict[str, list[float]]:
    """At most `points` points of a PR curve, evenly spaced by index, keeping both ends."""
    if precision.size > points:
        keep = np.unique(np.linspace(0, precision.size - 1, points).round().astype(int))
        precision, recall = precision[keep], recall[keep]
    return {"precision": [float(p) for p in precision], "recall": [float(r) for r in recall]}


def category_metrics(y: ArrayLike, scores: ArrayLike, predicted: ArrayLike, *, curve: bool = False) -> dict[str, Any]:
    """Every metric of one category on the rows that carry its label and were assessed."""
    y_arr, s_arr = _arrays(y, scores)
    out: dict[str, Any] = {"n": int(y_arr.size), "positives": int(y_arr.sum()),
                           "auprc": average_precision(y_arr, s_arr), "roc_auc": roc_auc(y_arr, s_arr)}
    out |= threshold_metrics(y_arr, predicted)
    out["ece"] = expected_calibration_error(y_arr, s_arr)
    out["reliability"] = reliability(y_arr, s_arr) if y_arr.size else []
    if curve:
        out["pr_curve"] = downsample_curve(*precision_recall_curve(y_arr, s_arr))
    return out


def split_groups(group: str | None) -> list[str]:
    """A '+'-joined group (several identity terms in one text) counts for each of its groups."""
    if not group:
        return []
    return [g.strip() for g in group.split("+") if g.strip()]


def group_fpr(groups: Sequence[Sequence[str]], predicted: ArrayLike, *, min_rows: int = MIN_GROUP_ROWS,
              max_ratio: float = MAX_FPR_RATIO, max_fpr: float = MAX_GROUP_FPR) -> dict[str, Any]:
    """False-positive rate per group on clean rows, against the rate over all of them.

    `groups[i]` lists the groups of clean row i (possibly none: it still counts in the overall rate).
    A group is flagged "ratio" above `max_ratio` x the overall rate and "fpr" at or above `max_fpr`
    (the goal is "below 5%"); "small" marks groups with fewer than `min_rows` rows.
    """
    p_arr = np.asarray(predicted, dtype=bool).ravel()
    if len(groups) != p_arr.size:
        raise ValueError(f"{len(groups)} group lists but {p_arr.size} predictions")
    overall = _ratio(int(p_arr.sum()), p_arr.size)
    members: dict[str, list[int]] = {}
    for i, names in enumerate(groups):
        for name in dict.fromkeys(names):
            members.setdefault(name, []).append(i)
    rows = [_group_row(name, p_arr[idx], overall, max_ratio, max_fpr, min_rows) for name, idx in members.items()]
    # Groups large enough to judge first, worst first: a 1-row group at 100% would otherwise lead.
    rows.sort(key=lambda r: (r["small"], -r["fpr"], -r["n"], r["group"]))
    return {"n": int(p_arr.size), "fp": int(p_arr.sum()), "fpr": overall, "max_ratio": max_ratio,
            "max_fpr": max_fpr, "min_rows": min_rows, "groups": rows}


def _group_row(name: str, predicted: NDArray[np.bool_], overall: float | None, max_ratio: float,
               max_fpr: float, min_rows: int) -> dict[str, Any]:
    n, fp = int(predicted.size), int(predicted.sum())
    fpr = fp / n
    ratio = fpr / overall if overall else None
    flags = []
    # With no false positive at all overall, any false positive in a group is an excess.
    if (ratio is not None and ratio > max_ratio) or (ratio is None and fp > 0):
        flags.append("ratio")
    if fpr >= max_fpr:
        flags.append("fpr")
    return {"group": name, "n": n, "fp": fp, "fpr": fpr, "ratio": ratio, "flags": flags, "small": n < min_rows}
