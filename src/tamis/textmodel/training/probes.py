"""The parallel-language and context probes of the tests, scored for a candidate model and policy.

    python -m tamis.textmodel.training.probes [--model weights/text_model.npz] [--policy src/tamis/policies/default.json]
        [--fixtures tests/fixtures]

Prints what `tests/test_text_generalisation.py` holds the shipped model to, for any weights and policy (a
candidate is chosen by these and by `crossval`, before it replaces the shipped files): English threats and
insults that pass, the share of translations that get their English original's verdict (per language),
everyday sentences and political/religious/news probes that are flagged, how many sentences of explicit hate
against a group (tests/fixtures/text_group_probes.jsonl) are flagged, and per language the median harassment,
threat and violence scores of the threats and insults.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path

LANGUAGES = ("de", "fr", "es", "pt", "it", "nl", "pl", "ar", "zh", "hi")
FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "fixtures"


def verdicts(texts: list[str], policy_path: str | None) -> dict[str, tuple[str, frozenset[str]]]:
    from tamis.engine.judge import judge
    from tamis.engine.policy import Policy, PolicyBody, default_body
    from tamis.schema import Item

    body = json.loads(Path(policy_path).read_text()) if policy_path else default_body().model_dump()
    policy = Policy("probes", 1, PolicyBody.model_validate(body))
    doc, _ = judge("probes", policy, [Item(str(i), text=t) for i, t in enumerate(texts)])
    return {t: (r.verdict, frozenset(c.name for c in r.categories if c.flagged)) for t, r in zip(texts, doc.results)}


def figures(parallel: list[dict], context: list[dict], v: dict, group: list[dict] | None = None) -> dict:
    group = group or []
    harmful = [p for p in parallel if p["kind"] == "harmful"]
    english_pass = [p["texts"]["en"] for p in harmful if v[p["texts"]["en"]][0] == "pass"]
    per_language = Counter()
    for p in harmful:
        for lang in LANGUAGES:
            per_language[lang] += v[p["texts"][lang]][0] == v[p["texts"]["en"]][0]
    translations_flagged = sum(v[p["texts"][lang]][0] != "pass" for p in harmful for lang in LANGUAGES)
    benign_flagged = [f"{lang}: {p['texts'][lang]}" for p in parallel if p["kind"] == "benign"
                      for lang in ("en", *LANGUAGES) if v[p["texts"][lang]][0] != "pass"]
    context_flagged = [p["text"] for p in context if v[p["text"]][0] != "pass"]
    return {"harmful": len(harmful), "english_flagged": len(harmful) - len(english_pass),
            "english_pass": english_pass,
            "same_verdict_rate": round(sum(per_language.values()) / (len(harmful) * len(LANGUAGES)), 4),
            "same_verdict_per_language": dict(per_language), "translations_flagged": translations_flagged,
            "everyday_flagged": benign_flagged, "context_flagged": context_flagged,
            # explicit hate against a group (HateCheck-like), which no leave-source-out mean shows on its own
            "group_hateful_flagged": sum(v[p["text"]][0] != "pass" for p in group if p["kind"] == "hateful"),
            "group_hateful": sum(p["kind"] == "hateful" for p in group),
            "group_clean_flagged": [p["text"] for p in group if p["kind"] != "hateful" and v[p["text"]][0] != "pass"]}


PER_LANGUAGE_CATEGORIES = ("harassment", "harassment/threatening", "violence")


def median_scores(parallel: list[dict]) -> dict[str, dict[str, float]]:
    """Per language, the median score the `text-model` analyzer reports on the harmful parallel probes, for the
    categories threats and insults land in: how far each language sits from English, verdicts aside."""
    import numpy as np

    from tamis.analyzers.text_model import TextModelAnalyzer
    from tamis.schema import Item

    analyzer = TextModelAnalyzer()
    harmful = [p for p in parallel if p["kind"] == "harmful"]
    out = {}
    for lang in ("en", *LANGUAGES):
        signals = analyzer.analyze([Item(str(i), text=p["texts"][lang]) for i, p in enumerate(harmful)])
        out[lang] = {c: round(float(np.median([s.scores[c] for s in signals])), 2) for c in PER_LANGUAGE_CATEGORIES}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="weights to score with (default: the shipped ones)")
    ap.add_argument("--policy", default=None, help="policy JSON (default: the default policy)")
    ap.add_argument("--fixtures", default=str(FIXTURES))
    args = ap.parse_args(argv)
    if args.model:  # read by TextModel.load when the analyzer is first built
        os.environ["TAMIS_TEXT_MODEL"] = args.model

    def read(name: str) -> list[dict]:
        return [json.loads(line) for line in (Path(args.fixtures) / name).read_text(encoding="utf-8").splitlines() if line]

    parallel, context = read("text_parallel_probes.jsonl"), read("text_context_probes.jsonl")
    group = read("text_group_probes.jsonl")
    texts = sorted({t for p in parallel for t in p["texts"].values()} | {p["text"] for p in context + group})
    res = {**figures(parallel, context, verdicts(texts, args.policy), group), "median_scores": median_scores(parallel)}
    print(json.dumps(res, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
