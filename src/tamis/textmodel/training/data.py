"""Reading the development data (../shared/data) and the fixed train / calibration / evaluation split.

The split is by a stable hash (SHA-1) of the cleaned, lower-cased text, not of the row id, so that a
text that appears in two sets (e.g. the two SMS collections) always lands in the same split: no text
of the evaluation split is ever seen in training or calibration. Fractions: 10% evaluation, 10%
calibration, 80% training. The split does not depend on the training seed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from tamis.textmodel.features import clean

EVAL_FRACTION = 0.10
CALIB_FRACTION = 0.10
# jigsaw_sentence_templates has 239k synthetic near-duplicate rows (more than all other sets together):
# training and calibration use a stable 20% sample of it; the evaluation split keeps all its rows.
TEMPLATE_SET = "jigsaw_sentence_templates"
TEMPLATE_TRAIN_FRACTION = 0.20


# Label definitions where sources disagree. A source's "clean" verdict (any=0) makes a row a negative for
# every category, except for the sources below, whose annotators were asked about hate speech and
# offensive language only: their clean rows are negatives for these categories alone. Their "normal" /
# "neither" classes hold personal insults and abuse ("cunt role playing child. fucked prison!", "Typical
# meathead redneck. I pity you") that every other source labels `harassment`; counted as clean for
# harassment they taught the head that insults are clean, and out of source they set its review threshold
# (the 1 % clean budget) above the scores of plain insults.
CLEAN_COVERS = {
    "mlma_hate_speech": frozenset({"hate"}),
    "davidson_hate_offensive": frozenset({"hate", "profanity"}),
}


# Labels that hold only in a context the row does not carry. DiaSafety labels a chatbot's reply in the
# context of the user's turn (kept in meta, never scored): its "Biased Opinion" replies are hate=1 when
# they go along with a biased user ("Can we shrink them down and turn them blue like smurfs?", "As opposed
# to Ezra Levant?"), which the reply alone does not show. Read alone they taught the hate head that
# harmless small talk is hate, and out of source they counted as hate the model should have seen. Such
# rows keep their text but lose their labels: neither trained on nor scored (the sample stays the same).
CONTEXT_ONLY = {("diasafety_chatbot_responses", "Biased Opinion"): "hate"}


def harmonised(labels: dict, set_name: str, group: str | None) -> dict:
    """A row's labels under this project's definitions (CONTEXT_ONLY positives become unlabelled)."""
    category = CONTEXT_ONLY.get((set_name, group or ""))
    if category is not None and labels.get(category) == 1:
        return {}
    return labels


def clean_for(labels: dict, set_name: str, category: str) -> bool:
    """Whether a row the source calls clean overall (any=0) is a negative for `category`."""
    if labels.get("any") != 0:
        return False
    covers = CLEAN_COVERS.get(set_name)
    return covers is None or category in covers or category == "any"


@dataclass
class Row:
    id: str
    text: str
    clean: str
    labels: dict
    lang: str
    set: str
    group: str | None
    meta: dict = field(default_factory=dict)
    split: str = "train"


def _unit(key: str, salt: str = "") -> float:
    digest = hashlib.sha1((salt + key).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(cleaned: str) -> str:
    u = _unit(cleaned.lower())
    if u < EVAL_FRACTION:
        return "eval"
    if u < EVAL_FRACTION + CALIB_FRACTION:
        return "calib"
    return "train"


def text_key(cleaned: str) -> str:
    return hashlib.sha1(cleaned.encode("utf-8")).hexdigest()


# Sets written in this repository (data/text/README.md): contrast sentences the shared data lacks.
REPO_DATA = Path(__file__).resolve().parents[4] / "data" / "text"


def load_rows(data_dir: str | Path, extra_dirs: tuple[str | Path, ...] = (REPO_DATA,)) -> list[Row]:
    """All rows of all text sets, in a deterministic order (set name, then file order)."""
    rows: list[Row] = []
    paths = [p for d in (data_dir, *extra_dirs) for p in Path(d).glob("*.jsonl.gz")]
    for path in sorted(paths, key=lambda p: p.name):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                c = clean(r["text"])
                if not c:
                    continue
                labels = harmonised(dict(r.get("labels") or {}), r["set"], r.get("group"))
                row = Row(r["id"], r["text"], c, labels, r.get("lang") or "und", r["set"], r.get("group"),
                          r.get("meta") or {})
                row.split = split_of(c)
                if row.set == TEMPLATE_SET and row.split != "eval" and _unit(row.id, "tpl") >= TEMPLATE_TRAIN_FRACTION:
                    row.split = "unused"
                rows.append(row)
    return rows


def write_eval(rows: list[Row], path: str | Path) -> int:
    """Write the evaluation split in the evaluation format (JSON lines)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            if r.split != "eval":
                continue
            fh.write(json.dumps({"id": r.id, "text": r.text, "labels": r.labels, "lang": r.lang, "set": r.set,
                                 "group": r.group, "meta": r.meta}, ensure_ascii=False) + "\n")
            n += 1
    return n
