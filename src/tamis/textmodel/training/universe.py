"""The rows and texts that training and cross-validation use, and how a text is read as pieces.

A long text (more than WHOLE_TEXT_CHARS) is scored the way the `text-model` analyzer scores it
(`tamis.analyzers.text_model.chunks`): every sentence, a category's score its highest sentence's. The
cross-validation scores held-out rows that way; short rows are scored whole (see `pieces`).

Rows used (a stable sample by a hash of the row id, so every run uses the same ones):
* at most SET_CAP rows of a set (a few thousand rows tell a source's figures well enough; embedding is
  what costs time, on two shared cores);
* at most LONG_CAP rows of the benign long-form sets (paragraphs of novels, encyclopedia, speeches...):
  they are negatives only and embedding paragraphs is what costs time;
* for training only, never scored: a recipe's `rare_positives` (rare heads' positives the cap left out) and
  `train_per_set` (more rows of each set, up to that many: `more_rows`);
* a long row (more than WHOLE_TEXT_CHARS) with no positive label is trained on as its pieces (each a
  clean row of the same set), which is how the service will read it; a long positive row is trained on
  its first WHOLE_TEXT_CHARS characters (which of its sentences carries the harm is not known).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tamis.textmodel.training.data import TEMPLATE_SET, Row, _unit
from tamis.textmodel.features import clean

SET_CAP = 1200
LONG_CAP = 250
CAPS = {TEMPLATE_SET: 2500, "reddit_cssrs_suicide": 200}
# A long text is scored by at most its first MAX_PIECES pieces here (the service reads them all): the
# user histories of reddit_cssrs_suicide have dozens of sentences each, and every one costs embedding time.
MAX_PIECES = 8
LONG_SETS = {"eltec_novel_paragraphs", "medquad_health_answers", "un_general_debate_paragraphs",
             "xquad_wiki_paragraphs", "sib200_flores_paragraphs", "stackexchange_forum_posts"}


def whole_text_chars() -> int:
    from tamis.analyzers.text_model import WHOLE_TEXT_CHARS

    return WHOLE_TEXT_CHARS


def pieces(text: str) -> list[str]:
    """The cleaned pieces the service scores for a long text (non-empty, in order); a short text is
    scored whole. (The service also scores each sentence of a short text; embedding every sentence of
    every short row would double the embedding time of a cross-validation run.)"""
    from tamis.analyzers.text_model import chunks

    if len(text) <= whole_text_chars():
        return [clean(text)]
    out = [clean(text[s:e]) for s, e in chunks(text)[:MAX_PIECES]]
    return [p for p in out if p] or [clean(text)]


def pieces_of(rows: list[Row]) -> tuple[list[str], np.ndarray]:
    """Every row's pieces (`pieces`), in row order, and for each piece the index of its row: a row's score is
    its highest piece's."""
    texts: list[str] = []
    owner: list[int] = []
    for i, r in enumerate(rows):
        ps = pieces(r.text)
        texts += ps
        owner += [i] * len(ps)
    return texts, np.array(owner, dtype=int)


def sample(rows: list[Row], templates: int | None = None) -> list[Row]:
    """The rows in use: per set, a stable sample of at most its cap (rows marked unused stay out).
    `templates`: the identity templates' cap instead of CAPS's (identity neutrality of `hate` depends on it:
    see the model card)."""
    by_set: dict[str, list[Row]] = {}
    for r in rows:
        if r.split != "unused":
            by_set.setdefault(r.set, []).append(r)
    out: list[Row] = []
    for name in sorted(by_set):
        items = by_set[name]
        cap = LONG_CAP if name in LONG_SETS else CAPS.get(name, SET_CAP)
        if name == TEMPLATE_SET and templates is not None:
            cap = templates
        if len(items) > cap:
            keep = set(sorted(range(len(items)), key=lambda i: _unit(items[i].id, "universe"))[:cap])
            items = [r for i, r in enumerate(items) if i in keep]
        out.extend(items)
    return out


# Heads with few positives in the sample (a few hundred each), most of them in sets the cap cuts hardest:
# rtp_lx_multilingual's sexual, violence and self-harm rows are the only non-English positives of those
# heads, and the cap keeps 1,200 of its 42,558 rows (5 of 115 self-harm ones). Threats stay out: their one
# large source (threatgram101, English political posts) is precise out of source at no threshold.
RARE_HEADS = ("sexual", "self-harm", "violence", "spam", "scam")


def rare_positives(rows: list[Row], sampled: list[Row], cap: int) -> list[Row]:
    """Training-only extra rows: per set and rare head, up to `cap` positives the sample left out (a stable
    choice by row id). Never scored: cross-validation scores the sample, so every set keeps its prevalence
    and its figures stay comparable with runs that add none."""
    if cap <= 0:
        return []
    taken = {r.id for r in sampled}
    out: list[Row] = []
    for head in RARE_HEADS:
        by_set: dict[str, list[Row]] = {}
        for r in rows:
            if (r.id not in taken and r.split != "unused" and r.labels.get(head) == 1
                    and r.labels.get("harassment/threatening") != 1):
                by_set.setdefault(r.set, []).append(r)
        for name in sorted(by_set):
            chosen = sorted(by_set[name], key=lambda r: _unit(r.id, "rare"))[:cap]
            out.extend(chosen)
            taken.update(r.id for r in chosen)
    return out


def more_rows(rows: list[Row], sampled: list[Row], per_set: int) -> list[Row]:
    """Training-only extra rows: per set, rows the sample left out (a stable choice by row id, so each set keeps
    its own mix of labels) until the set has `per_set` rows in all. Never scored: every set keeps the sample's
    rows and prevalence, and the figures stay comparable with runs that add none. The long-form sets and the
    identity templates keep their own caps (embedding paragraphs is what costs time; `--templates` sets theirs)."""
    if per_set <= 0:
        return []
    have: dict[str, int] = {}
    for r in sampled:
        have[r.set] = have.get(r.set, 0) + 1
    taken = {r.id for r in sampled}
    by_set: dict[str, list[Row]] = {}
    for r in rows:
        if r.id not in taken and r.split in ("train", "calib") and r.set not in LONG_SETS and r.set != TEMPLATE_SET:
            by_set.setdefault(r.set, []).append(r)
    out: list[Row] = []
    for name in sorted(by_set):
        room = per_set - have.get(name, 0)
        if room > 0:
            out.extend(sorted(by_set[name], key=lambda r: _unit(r.id, "more"))[:room])
    return out


def training_extra(rows: list[Row], sampled: list[Row], recipe) -> list[Row]:
    """A recipe's training-only rows (its `rare_positives` and `train_per_set`), each row once."""
    extra = rare_positives(rows, sampled, recipe.rare_positives)
    more = more_rows(rows, sampled + extra, recipe.train_per_set)
    return extra + more


def is_long_negative(row: Row) -> bool:
    return len(row.text) > whole_text_chars() and not any(v == 1 for v in row.labels.values())


def training_rows(rows: list[Row]) -> list[Row]:
    """Rows as the heads are fitted on them: long clean rows become one row per piece."""
    out: list[Row] = []
    limit = whole_text_chars()
    for r in rows:
        if is_long_negative(r):
            out.extend(replace(r, id=f"{r.id}#{k}", clean=p) for k, p in enumerate(pieces(r.text)))
        elif len(r.clean) > limit:
            # a long harmful row is trained on its first WHOLE_TEXT_CHARS characters (cut at a space):
            # embedding time grows faster than the length, and the service never reads more at once
            cut = r.clean.rfind(" ", limit // 2, limit)
            out.append(replace(r, clean=r.clean[:cut if cut > 0 else limit]))
        else:
            out.append(r)
    return out
