"""Held-out metrics of the text model for its model card (needs scikit-learn; not used at serving).

    python -m tamis.textmodel.training.evaluate [--eval build/eval/text_eval.jsonl] [--model src/tamis/textmodel/weights/text_model.npz]
        [--out src/tamis/textmodel/weights/metrics.json]

Two views per category:
* "explicit": only rows whose source labels the category (the evaluation-format rule);
* "extended": those plus rows with any=0 (clean overall, hence clean for this category). This is the
  only way to score categories whose sets have positives only (extremism, ...).
Identity-group false-positive rates: clean (any=0) jigsaw_sentence_templates rows of a single identity
group, flagged when a category's probability reaches its recommended review threshold.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from tamis.textmodel.training.data import TEMPLATE_SET, load_rows
from tamis.textmodel.model import TextModel

MIN_CLASS = 5


def _metrics(y: np.ndarray, p: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    n, pos = len(y), int(y.sum())
    out = {"n": n, "positives": pos}
    if pos >= MIN_CLASS and n - pos >= MIN_CLASS:
        out["auprc"] = round(float(average_precision_score(y, p)), 4)
        out["roc_auc"] = round(float(roc_auc_score(y, p)), 4)
        out["prevalence"] = round(pos / n, 4)
    return out


def _ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    err = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            err += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return round(float(err), 4)


def predict(model: TextModel, texts: list[str], cache: str | None = None) -> np.ndarray:
    """Calibrated probabilities as the service reports a text of one piece (blended); with `cache`, the USE
    embeddings come from (and go to) the training cache."""
    if not cache or not texts:
        return model.blend(model.predict(texts))
    from tamis.textmodel.training.cache import cached_embeddings
    from tamis.textmodel.features import clean

    return model.blend(model.calibrate(model.logits(texts, cached_embeddings([clean(t) for t in texts], cache))))


def evaluate(model: TextModel, rows: list[dict], cache: str | None = None) -> dict:
    t0 = time.time()
    P = predict(model, [r["text"] for r in rows], cache)
    seconds = time.time() - t0
    cats = model.categories
    th = model.recommended_thresholds
    res: dict = {"rows": len(rows), "predict_seconds": round(seconds, 1), "categories": {}}
    for j, c in enumerate(cats):
        exp = [(i, r["labels"][c]) for i, r in enumerate(rows) if c in r["labels"]]
        ext = [(i, r["labels"][c] if c in r["labels"] else 0) for i, r in enumerate(rows)
               if c in r["labels"] or r["labels"].get("any") == 0]
        entry = {}
        for name, pairs in (("explicit", exp), ("extended", ext)):
            if not pairs:
                entry[name] = {"n": 0}
                continue
            idx = np.array([i for i, _ in pairs])
            y = np.array([v for _, v in pairs])
            p = P[idx, j]
            m = _metrics(y, p)
            if "auprc" in m:
                m["ece"] = _ece(y, p)
                t = th.get(c, {}).get("review", 0.5)
                flag = p >= t
                m["at_review"] = {"threshold": t, "precision": round(float(y[flag].mean()), 4) if flag.any() else None,
                                  "recall": round(float(flag[y == 1].mean()), 4)}
            if name == "extended":
                by_lang, by_set = defaultdict(list), defaultdict(list)
                for i, v in pairs:
                    by_lang[rows[i]["lang"]].append((i, v))
                    by_set[rows[i]["set"]].append((i, v))
                for key, groups in (("by_language", by_lang), ("by_set", by_set)):
                    m[key] = {}
                    for g, gp in sorted(groups.items()):
                        gi = np.array([i for i, _ in gp])
                        gy = np.array([v for _, v in gp])
                        m[key][g] = _metrics(gy, P[gi, j])
            entry[name] = m
        res["categories"][c] = entry

    res["identity_fpr"] = identity_fpr(P, rows, cats, th)
    review = np.array([th.get(c, {}).get("review", 0.5) for c in cats])
    flagged_any_head = (P >= review).any(axis=1)
    flagged_policy = policy_flags(P, cats)
    # toxigen neutral statements about identity groups
    tox = [i for i, r in enumerate(rows) if r["set"] == "toxigen_demonstrations" and r["labels"].get("any") == 0]
    if tox:
        res["toxigen_neutral_fpr_any_head"] = round(float(flagged_any_head[tox].mean()), 4)
        res["toxigen_neutral_fpr_policy"] = round(float(flagged_policy[tox].mean()), 4)
        res["toxigen_neutral_n"] = len(tox)
    return res


def policy_flags(P: np.ndarray, cats: list[str]) -> np.ndarray:
    """Rows the shipped default policy would flag on this model's scores: a category of the policy (not
    the model's `any` head, which the policy does not use, nor a head the service never reports: the policy's
    `extremism` rule is for term lists and banks) at the policy's review threshold."""
    from tamis.engine.policy import default_body
    from tamis.textmodel.training.crossval import RETIRED

    rules = default_body().categories
    flags = np.zeros(len(P), dtype=bool)
    for j, c in enumerate(cats):
        rule = None if c in RETIRED else rules.get(c)
        if rule is not None and rule.review is not None:
            flags |= P[:, j] >= rule.review
    return flags


def identity_fpr(P: np.ndarray, rows: list[dict], cats: list[str], th: dict) -> dict:
    """False-positive rates of clean (any=0) template sentences per single identity group and language,
    a sentence counted as flagged when a category's probability reaches its review threshold ("policy":
    flagged by the default policy; "any_head": by any head, `any` included). Groups of
    fewer than 30 sentences are listed but not counted as worst or over a limit."""
    tpl = [i for i, r in enumerate(rows) if r["set"] == TEMPLATE_SET and r["labels"].get("any") == 0]
    review = np.array([th.get(c, {}).get("review", 0.5) for c in cats])
    flagged_any_head = (P >= review).any(axis=1)
    groups = defaultdict(list)
    for i in tpl:
        g = rows[i].get("group")
        if g and "+" not in g:
            groups[(rows[i]["lang"], g)].append(i)
    fpr: dict = {}
    heads = [("policy", policy_flags(P, cats)), ("any_head", flagged_any_head)]
    for label, flags in heads + [(c, P[:, j] >= review[j]) for j, c in enumerate(cats)]:
        overall = float(flags[tpl].mean()) if tpl else None
        per = {f"{l}:{g}": {"n": len(ix), "fp": int(flags[ix].sum()), "fpr": round(float(flags[ix].mean()), 4)}
               for (l, g), ix in sorted(groups.items())}
        big = {k: v for k, v in per.items() if v["n"] >= 30}
        worst = max(big.items(), key=lambda kv: kv[1]["fpr"]) if big else None
        fpr[label] = {"n": len(tpl), "fp": int(flags[tpl].sum()),
                      "overall_clean_fpr": round(overall, 6) if overall is not None else None,
                      "worst_group": worst[0] if worst else None,
                      "worst_group_fpr": worst[1]["fpr"] if worst else None,
                      "groups_over_1.25x": sum(v["fpr"] > 1.25 * (overall or 0) and v["fp"] > 0 for v in big.values()),
                      "groups_over_5pct": sum(v["fpr"] >= 0.05 for v in big.values()),
                      "groups": per if label in ("policy", "any_head", "any", "hate", "harassment", "extremism") else None}
    return fpr


def template_rows(data_dir: str, sample: int | None = None) -> list[dict]:
    """Clean identity-template sentences that training never saw (the held-out split and the templates
    left out of training), in the evaluation format: many more sentences per group than the held-out
    split alone (about 30 per group and language there), so that one false positive is not 3 %.
    `sample`: a stable sample of about that many (embedding all 115,000 takes a while)."""
    from tamis.textmodel.training import universe
    from tamis.textmodel.training.data import _unit

    rows = load_rows(data_dir, extra_dirs=())
    trained = {r.id for r in universe.sample(rows) if r.split in ("train", "calib")}
    out = []
    for r in rows:
        if r.set == TEMPLATE_SET and r.id not in trained and r.labels.get("any") == 0:
            out.append({"id": r.id, "text": r.text, "labels": r.labels, "lang": r.lang, "set": r.set, "group": r.group})
    if sample and len(out) > sample:
        out = sorted(out, key=lambda r: _unit(r["id"], "fairness"))[:sample]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", default="build/eval/text_eval.jsonl")
    ap.add_argument("--model", default=None)
    ap.add_argument("--out", default="src/tamis/textmodel/weights/metrics.json")
    ap.add_argument("--templates", default=None, metavar="DATA_DIR",
                    help="also measure identity-group false positives on every unseen clean template sentence "
                    "of DATA_DIR's jigsaw_sentence_templates (about 100,000; a few minutes)")
    ap.add_argument("--templates-sample", type=int, default=None, metavar="N",
                    help="a stable sample of N of those sentences")
    ap.add_argument("--cache", default=None, help="USE embedding cache (the training one): embed each text once")
    args = ap.parse_args(argv)
    rows = [json.loads(l) for l in open(args.eval, encoding="utf-8")]
    model = TextModel.load(args.model)
    res = evaluate(model, rows, args.cache)
    if args.templates:
        tpl = template_rows(args.templates, args.templates_sample)
        res["identity_fpr_all_templates"] = identity_fpr(predict(model, [r["text"] for r in tpl], args.cache), tpl,
                                                         model.categories, model.recommended_thresholds)
    Path(args.out).write_text(json.dumps(res, indent=1, ensure_ascii=False))
    print(f"{'category':24} {'expl AUPRC':>10} {'expl ROC':>9} {'ext AUPRC':>10} {'ext ROC':>8} {'ECE':>6} {'n_pos':>6}")
    for c, e in res["categories"].items():
        x, y = e["explicit"], e["extended"]
        print(f"{c:24} {x.get('auprc', '-'):>10} {x.get('roc_auc', '-'):>9} {y.get('auprc', '-'):>10} "
              f"{y.get('roc_auc', '-'):>8} {y.get('ece', '-'):>6} {y.get('positives', 0):>6}")
    for key in ("identity_fpr", "identity_fpr_all_templates"):
        for k, v in res.get(key, {}).items():
            print(f"{key} {k:24} n {v['n']} overall {v['overall_clean_fpr']} worst {v['worst_group']} "
                  f"{v['worst_group_fpr']} >1.25x: {v['groups_over_1.25x']} >=5%: {v['groups_over_5pct']}")
    print("toxigen neutral FPR: any head", res.get("toxigen_neutral_fpr_any_head"), "default policy",
          res.get("toxigen_neutral_fpr_policy"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
