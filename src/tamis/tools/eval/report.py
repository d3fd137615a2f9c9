"""`tamis eval`'s report: metrics per category and per slice, written as eval.json and eval.html,
and summarised as rich tables.

A category is scored only on rows that carry its label, and only where tamis assessed it: rows it
did not assess are counted ("not_assessed") and left out of that category's metrics.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape
from numpy.typing import NDArray
from rich.markup import escape as rich_escape
from rich.table import Table

from tamis.tools.eval.metrics import category_metrics, group_fpr
from tamis.tools.eval.runner import EvalRun
from tamis.taxonomy import CATEGORIES

SLICES = ("lang", "set", "group")
# Slices of the rich summary are cut to this many rows; eval.json and eval.html have them all.
CONSOLE_ROWS = 25


@dataclass
class _Column:
    """One category over the rows that carry its label: row indexes, labels, scores (NaN: not assessed)."""

    rows: NDArray[np.int64]
    y: NDArray[np.int64]
    scores: NDArray[np.float64]
    predicted: NDArray[np.bool_]


def _columns(run: EvalRun, categories: Sequence[str]) -> dict[str, _Column]:
    columns = {}
    for category in categories:
        idx = [i for i, row in enumerate(run.rows) if category in row.labels]
        scores = [run.judged[i].score(category) for i in idx]
        columns[category] = _Column(
            rows=np.array(idx, dtype=np.int64),
            y=np.array([run.rows[i].labels[category] for i in idx], dtype=np.int64),
            scores=np.array([math.nan if s is None else s for s in scores], dtype=np.float64),
            predicted=np.array([run.judged[i].predicted(category) for i in idx], dtype=bool),
        )
    return columns


def _metrics(column: _Column, mask: NDArray[np.bool_] | None = None, *, curve: bool = False) -> dict[str, Any]:
    keep = np.ones(column.rows.size, bool) if mask is None else mask[column.rows]
    assessed = keep & ~np.isnan(column.scores)
    out = {"labelled": int(keep.sum()), "not_assessed": int((keep & ~assessed).sum())}
    return out | category_metrics(column.y[assessed], column.scores[assessed], column.predicted[assessed], curve=curve)


def _slice_masks(values: Sequence[Sequence[str]]) -> dict[str, NDArray[np.bool_]]:
    """A row mask per slice value; a row with several values (joined groups) is in each."""
    members: dict[str, list[int]] = {}
    for i, names in enumerate(values):
        for name in dict.fromkeys(names):
            members.setdefault(name, []).append(i)
    masks = {}
    for name in sorted(members):
        mask = np.zeros(len(values), bool)
        mask[members[name]] = True
        masks[name] = mask
    return masks


def _slice_values(run: EvalRun, dimension: str) -> list[list[str]]:
    if dimension == "group":
        return [row.groups for row in run.rows]
    return [[v] if (v := getattr(row, dimension)) else [] for row in run.rows]


def _by_slice(run: EvalRun, columns: dict[str, _Column], dimension: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, mask in _slice_masks(_slice_values(run, dimension)).items():
        per_category = {c: _metrics(col, mask) for c, col in columns.items() if mask[col.rows].any()}
        if per_category:
            out[name] = per_category
    return out


def _identity_fpr(run: EvalRun) -> dict[str, Any]:
    """FPR of `any` on clean rows (labels.any == 0) that tamis assessed, per group."""
    clean = [i for i, row in enumerate(run.rows) if row.labels.get("any") == 0]
    assessed = [i for i in clean if run.judged[i].score("any") is not None]
    result = group_fpr([run.rows[i].groups for i in assessed], [run.judged[i].predicted("any") for i in assessed])
    return result | {"not_assessed": len(clean) - len(assessed)}


def _categories(run: EvalRun) -> list[str]:
    present = {key for row in run.rows for key in row.labels}
    return [c for c in ("any", *CATEGORIES) if c in present]


def _thresholds(run: EvalRun, categories: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"any": "verdict != pass"}
    for category in categories:
        if category != "any":
            t = run.policy.body.categories.get(category)
            out[category] = {"review": t.review, "block": t.block} if t else None
    return out


def build_report(run: EvalRun, *, project: str, limit: int | None = None) -> dict[str, Any]:
    """Everything `tamis eval` knows, as plain JSON-ready data."""
    categories = _categories(run)
    columns = _columns(run, categories)
    return {
        "tamis_version": package_version("tamis"),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": run.files,
        "project": project,
        "policy": {"id": run.policy.id, "version": run.policy.version, "analyzers": list(run.policy.body.analyzers)},
        "limit_per_file": limit,
        "rows": len(run.rows),
        "unlabelled_rows": run.unlabelled,
        "image_rows": sum(row.path is not None for row in run.rows),
        "categories": categories,
        "thresholds": _thresholds(run, categories),
        "overall": {c: _metrics(col, curve=True) for c, col in columns.items()},
        **{f"by_{d}": _by_slice(run, columns, d) for d in SLICES},
        "identity_fpr": _identity_fpr(run),
    }


# --- files ---------------------------------------------------------------------------------------


def write_report(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """OUT/eval.json and OUT/eval.html."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "eval.json", out / "eval.html"
    json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return json_path, html_path


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("tamis.web", "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fmt
    return env


def render_html(report: dict[str, Any]) -> str:
    """A self-contained page: tables, PR curves and reliability plots as inline SVG."""
    plots = {c: {"pr": pr_svg(c, m), "reliability": reliability_svg(c, m)} for c, m in report["overall"].items() if m["n"]}
    slices = {d: _slice_rows(report[f"by_{d}"]) for d in SLICES}
    unassessed = [c for c, m in report["overall"].items() if not m["n"]]
    return _environment().get_template("eval_report.html").render(report=report, plots=plots, slices=slices,
                                                                  unassessed=unassessed)


def _slice_rows(by: dict[str, dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(name, category, m) for name, per in by.items() for category, m in per.items()]


# --- SVG -----------------------------------------------------------------------------------------

_W, _H, _L, _R, _T, _B = 300, 230, 42, 12, 26, 34  # size and margins of a plot
_PW, _PH = _W - _L - _R, _H - _T - _B


def _x(v: float) -> float:
    return round(_L + v * _PW, 2)


def _y(v: float) -> float:
    return round(_T + (1 - v) * _PH, 2)


def _frame(title: str, x_label: str, y_label: str) -> list[str]:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" '
             f'role="img" aria-label="{escape(title)}" class="plot">',
             f'<text x="{_L}" y="16" class="title">{escape(title)}</text>',
             f'<rect x="{_L}" y="{_T}" width="{_PW}" height="{_PH}" class="area"/>']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{_x(tick)}" y1="{_T}" x2="{_x(tick)}" y2="{_T + _PH}" class="grid"/>')
        parts.append(f'<line x1="{_L}" y1="{_y(tick)}" x2="{_L + _PW}" y2="{_y(tick)}" class="grid"/>')
        parts.append(f'<text x="{_x(tick)}" y="{_T + _PH + 13}" class="tick" text-anchor="middle">{tick:g}</text>')
        parts.append(f'<text x="{_L - 5}" y="{_y(tick) + 4}" class="tick" text-anchor="end">{tick:g}</text>')
    parts.append(f'<text x="{_L + _PW / 2}" y="{_H - 4}" class="axis" text-anchor="middle">{escape(x_label)}</text>')
    parts.append(f'<text x="12" y="{_T + _PH / 2}" class="axis" text-anchor="middle" '
                 f'transform="rotate(-90 12 {_T + _PH / 2})">{escape(y_label)}</text>')
    return parts


def _empty(parts: list[str], message: str) -> Markup:
    parts.append(f'<text x="{_L + _PW / 2}" y="{_T + _PH / 2}" class="empty" text-anchor="middle">{escape(message)}</text>')
    return Markup("\n".join(parts + ["</svg>"]))


def pr_svg(category: str, m: dict[str, Any]) -> Markup:
    """The precision-recall curve drawn as the steps average precision sums (its area is the AUPRC),
    the prevalence as a dashed baseline and the policy's operating point as a dot."""
    auprc = "n/a" if m["auprc"] is None else f"{m['auprc']:.3f}"
    parts = _frame(f"{category}: precision-recall (AUPRC {auprc})", "recall", "precision")
    curve = m.get("pr_curve") or {"precision": [], "recall": []}
    if not curve["precision"]:
        return _empty(parts, "no positives assessed" if m["n"] else "nothing assessed")
    points, last_recall = [], 0.0
    for p, r in zip(curve["precision"], curve["recall"]):
        points += [f"{_x(last_recall)},{_y(p)}", f"{_x(r)},{_y(p)}"]
        last_recall = r
    prevalence = m["positives"] / m["n"]
    parts.append(f'<line x1="{_L}" y1="{_y(prevalence)}" x2="{_L + _PW}" y2="{_y(prevalence)}" class="base"/>')
    parts.append(f'<polyline points="{" ".join(points)}" class="curve"/>')
    if m["recall"] is not None and m["precision"] is not None:
        parts.append(f'<circle cx="{_x(m["recall"])}" cy="{_y(m["precision"])}" r="4" class="op">'
                     f'<title>policy threshold: precision {m["precision"]:.3f}, recall {m["recall"]:.3f}</title></circle>')
    return Markup("\n".join(parts + ["</svg>"]))


def reliability_svg(category: str, m: dict[str, Any]) -> Markup:
    """Observed positive rate against mean score per bin, over the diagonal of perfect calibration;
    grey bars at the bottom show how many rows each bin holds."""
    ece = "n/a" if m["ece"] is None else f"{m['ece']:.3f}"
    parts = _frame(f"{category}: reliability (ECE {ece})", "mean score", "observed rate")
    bins = [b for b in m["reliability"] if b["count"]]
    if not bins:
        return _empty(parts, "nothing assessed")
    top = max(b["count"] for b in bins)
    for b in bins:
        height = round(0.25 * _PH * b["count"] / top, 2)
        parts.append(f'<rect x="{_x(b["lo"]) + 1}" y="{_T + _PH - height}" width="{_x(0.1) - _L - 2}" '
                     f'height="{height}" class="count"><title>{b["count"]} rows</title></rect>')
    parts.append(f'<line x1="{_x(0)}" y1="{_y(0)}" x2="{_x(1)}" y2="{_y(1)}" class="base"/>')
    line = " ".join(f"{_x(b['mean_predicted'])},{_y(b['observed'])}" for b in bins)
    parts.append(f'<polyline points="{line}" class="curve"/>')
    for b in bins:
        parts.append(f'<circle cx="{_x(b["mean_predicted"])}" cy="{_y(b["observed"])}" r="3" class="pt">'
                     f'<title>{b["lo"]:.1f}-{b["hi"]:.1f}: mean score {b["mean_predicted"]:.3f}, '
                     f'observed {b["observed"]:.3f}, {b["count"]} rows</title></circle>')
    return Markup("\n".join(parts + ["</svg>"]))


# --- console -------------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 3) -> str:
    """A metric for people: None as a dash, floats to `digits` places."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


_METRIC_COLUMNS = ("n", "positives", "not_assessed", "auprc", "roc_auc", "precision", "recall", "f1", "fpr", "ece")
_HEADERS = ("n", "pos", "not assessed", "AUPRC", "ROC-AUC", "P", "R", "F1", "FPR", "ECE")


def _metric_table(title: str, first: Sequence[str], rows: Sequence[tuple[Sequence[str], dict[str, Any]]]) -> Table:
    table = Table(*first, *_HEADERS, title=title)
    for column in table.columns[len(first):]:
        column.justify = "right"
    for keys, m in rows:
        # Names come from the data: never read them as rich markup.
        table.add_row(*map(rich_escape, keys), *(fmt(m[k]) for k in _METRIC_COLUMNS))
    return table


def summary_tables(report: dict[str, Any]) -> list[Table]:
    """Per category; by set (every category); by language (`any` only); identity-group FPR on clean text."""
    skipped = f" ({report['unlabelled_rows']} without labels skipped)" if report["unlabelled_rows"] else ""
    title = f"tamis eval: {report['rows']} rows{skipped}, policy {report['policy']['id']} v{report['policy']['version']}"
    tables = [_metric_table(title, ["category"], [([c], m) for c, m in report["overall"].items()])]
    # Categories tamis did not assess in a slice are in the overall table already.
    by_set = [([s, c], m) for s, per in report["by_set"].items() for c, m in per.items() if m["n"]]
    if by_set:
        tables.append(_cut(_metric_table("by set (assessed categories)", ["set", "category"], by_set[:CONSOLE_ROWS]),
                           len(by_set)))
    by_lang = [([lang], per["any"]) for lang, per in report["by_lang"].items() if "any" in per]
    if by_lang:
        tables.append(_cut(_metric_table("`any` by language", ["lang"], by_lang[:CONSOLE_ROWS]), len(by_lang)))
    tables.append(_identity_table(report["identity_fpr"]))
    return tables


def _cut(table: Table, total: int) -> Table:
    if total > CONSOLE_ROWS:
        table.caption = f"{total - CONSOLE_ROWS} more rows in eval.json and eval.html"
    return table


def _identity_table(fpr: dict[str, Any]) -> Table:
    caption = (f"all clean rows: FPR {fmt(fpr['fpr'])} on {fpr['n']}; flagged above {fpr['max_ratio']}x that "
               f"or at {fpr['max_fpr']:.0%}; small: under {fpr['min_rows']} rows")
    table = Table("group", "n", "FP", "FPR", "ratio", "flags", title="`any` false positives on clean text, by group",
                  caption=caption)
    for column in table.columns[1:5]:
        column.justify = "right"
    for g in fpr["groups"][:CONSOLE_ROWS]:
        flags = ", ".join(g["flags"] + (["small"] if g["small"] else []))
        style = "red" if g["flags"] and not g["small"] else None
        table.add_row(rich_escape(g["group"]), str(g["n"]), str(g["fp"]), fmt(g["fpr"]), fmt(g["ratio"], 2), flags, style=style)
    if len(fpr["groups"]) > CONSOLE_ROWS:
        table.caption = f"{caption}\n{len(fpr['groups']) - CONSOLE_ROWS} more groups in eval.json and eval.html"
    return table
