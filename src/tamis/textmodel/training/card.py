"""Write the measured tables of src/tamis/textmodel/weights/MODEL_CARD.md from metrics.json and the weights' metadata.

    python -m tamis.textmodel.training.card [--card src/tamis/textmodel/weights/MODEL_CARD.md] [--metrics src/tamis/textmodel/weights/metrics.json]
        [--crossval src/tamis/textmodel/weights/crossval.json]

Replaces what lies between the `<!-- metrics:start -->` and `<!-- metrics:end -->` markers (the in-source
split), and between `<!-- crossval:start -->` and `<!-- crossval:end -->` (leave-one-source-out, which the
card leads with) when a cross-validation result is given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tamis.textmodel.model import TextModel

START, END = "<!-- metrics:start -->", "<!-- metrics:end -->"
XV_START, XV_END = "<!-- crossval:start -->", "<!-- crossval:end -->"


def _f(v, nd=3):
    return "–" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))


def _fpr_table(fpr: dict, intro: str) -> str:
    out = [f"\n{intro} A row is a false positive when the category's probability reaches its recommended review "
           "threshold; \"policy\" = the default policy flags it (its categories at its review thresholds: the figure that \
matters to a platform), \"any head\" = any head does, the model's `any` head included.\n",
           "| flagged by | clean sentences | flagged | FPR, all | worst group | worst group FPR | groups > 1.25x overall | groups >= 5% |",
           "|---|---|---|---|---|---|---|---|"]
    for k, v in fpr.items():
        none = not v["worst_group_fpr"]
        out.append(f"| {k} | {v.get('n', '–')} | {v.get('fp', '–')} | {_f(v['overall_clean_fpr'], 5)} "
                   f"| {'–' if none else v['worst_group']} "
                   f"| {'–' if none else _f(v['worst_group_fpr'], 4)} "
                   f"| {v['groups_over_1.25x']} | {v['groups_over_5pct']} |")
    return "\n".join(out)


def _breakdown(cats: dict, key: str, label: str, cell, only_scored: bool) -> list[str]:
    """A table of the extended rows' metrics per `key` ("by_language", "by_set") and category; a cell is
    "–" where a class had too few rows. `only_scored`: leave out categories with no scored cell."""
    rows = sorted({r for e in cats.values() for r in e["extended"].get(key, {})})
    show = [c for c in cats if not only_scored or any("auprc" in cats[c]["extended"].get(key, {}).get(r, {}) for r in rows)]
    out = ["| " + label + " | " + " | ".join(show) + " |", "|---|" + "---|" * len(show)]
    for r in rows:
        metrics = [cats[c]["extended"].get(key, {}).get(r, {}) for c in show]
        out.append(f"| {r} | " + " | ".join(cell(m) if "auprc" in m else "–" for m in metrics) + " |")
    return out


def render(metrics: dict, model: TextModel) -> str:
    out = []
    cats = metrics["categories"]
    out.append(f"Held-out evaluation split: {metrics['rows']} rows (10% of every set by a hash of the text; "
               "never used for training or calibration). \"explicit\": rows whose source labels the category; "
               "\"extended\": those plus clean (any=0) rows of every set. ECE: expected calibration error "
               "(10 bins) on the extended rows.\n")
    out.append("| category | explicit n (pos) | explicit AUPRC | explicit ROC-AUC | extended n (pos) | extended AUPRC "
               "| extended ROC-AUC | ECE | review thr. | precision / recall at review |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for c, e in cats.items():
        x, y = e["explicit"], e["extended"]
        ar = y.get("at_review", {})
        out.append(f"| {c} | {x.get('n', 0)} ({x.get('positives', 0)}) | {_f(x.get('auprc'))} | {_f(x.get('roc_auc'))} "
                   f"| {y.get('n', 0)} ({y.get('positives', 0)}) | {_f(y.get('auprc'))} | {_f(y.get('roc_auc'))} "
                   f"| {_f(y.get('ece'))} | {_f(ar.get('threshold'), 2)} | {_f(ar.get('precision'), 2)} / {_f(ar.get('recall'), 2)} |")
    out.append("\n### Per language (extended rows; AUPRC / ROC-AUC; – where a class has < 5 rows)\n")
    both = lambda m: f"{_f(m.get('auprc'), 2)} / {_f(m.get('roc_auc'), 2)}"  # noqa: E731
    out += _breakdown(cats, "by_language", "lang", both, only_scored=True)
    out.append("\n### Per set (extended rows, `any` and the set's own categories; AUPRC)\n")
    out += _breakdown(cats, "by_set", "set", lambda m: _f(m.get("auprc"), 2), only_scored=False)
    fpr = metrics.get("identity_fpr_all_templates") or metrics["identity_fpr"]
    out.append("\n### Identity-group false-positive rates (clean template sentences, review thresholds)\n")
    out.append(_fpr_table(metrics["identity_fpr"], "Clean (any=0) rows of `jigsaw_sentence_templates` in the "
                          "evaluation split that name one identity group (groups with >= 30 rows counted; about "
                          "30 per group and language, so one false positive is 3 %)."))
    if "identity_fpr_all_templates" in metrics:
        out.append(_fpr_table(fpr, "Every clean template sentence that training never saw (the evaluation split "
                              "and the templates left out of training; `evaluate --templates`): about 8x more "
                              "sentences per group."))
    if "toxigen_neutral_fpr_any_head" in metrics:
        out.append(f"\nToxiGen neutral statements about identity groups (n={metrics['toxigen_neutral_n']}), "
                   f"flagged by any head: {metrics['toxigen_neutral_fpr_any_head']:.3f} (weak file-level labels).\n")
    if "toxigen_neutral_fpr_policy" in metrics:
        out.append(f"Flagged by the default policy: {metrics['toxigen_neutral_fpr_policy']:.3f}.\n")
    key = "policy" if "policy" in fpr else "any_head"
    groups = fpr[key].get("groups") or {}
    if groups:
        worst = sorted(((g, v) for g, v in groups.items() if v["fpr"] > 0), key=lambda kv: -kv[1]["fpr"])[:15]
        out.append(f"Highest per-group FPRs ({key.replace('_', ' ')}): " + ", ".join(f"{g} {v['fpr']:.3f} ({v.get('fp', '?')}/{v['n']})" for g, v in worst) + ".\n")
    th = model.recommended_thresholds
    out.append("\n### Recommended thresholds (calibrated probability)\n")
    out.append("| category | review | block | calibration-split threshold at precision 0.7 | at precision 0.9 |")
    out.append("|---|---|---|---|---|")
    for c in model.categories:
        t = th[c]
        ap = t.get("at_precision", {})
        out.append(f"| {c} | {t['review']} | {t['block']} | {_f(ap.get('0.7'), 4)} | {_f(ap.get('0.9'), 4)} |")
    out.append("\n### Training rows per head\n")
    out.append("| head | training rows | positives | positives by set |")
    out.append("|---|---|---|---|")
    for c, t in model.meta["training"].items():
        out.append(f"| {c} | {t['train_rows']} | {t['train_positives']} | " +
                   ", ".join(f"{s} {n}" for s, n in t["positive_sets"].items()) + " |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--card", default="src/tamis/textmodel/weights/MODEL_CARD.md")
    ap.add_argument("--metrics", default="src/tamis/textmodel/weights/metrics.json")
    ap.add_argument("--model", default=None)
    ap.add_argument("--crossval", default="src/tamis/textmodel/weights/crossval.json")
    args = ap.parse_args(argv)
    metrics = json.loads(Path(args.metrics).read_text())
    model = TextModel.load(args.model)
    card = Path(args.card)
    text = card.read_text() if card.exists() else f"{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    text = head + START + "\n" + render(metrics, model) + "\n" + END + tail
    if args.crossval and Path(args.crossval).exists() and XV_START in text:
        from tamis.textmodel.training.crossval import markdown

        head, rest = text.split(XV_START, 1)
        _, tail = rest.split(XV_END, 1)
        text = head + XV_START + "\n" + markdown(json.loads(Path(args.crossval).read_text())) + XV_END + tail
    card.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
