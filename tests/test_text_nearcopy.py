"""The probes measure generalisation: no hand-written training sentence (data/text) may be one of them or a
near-copy (training/nearcopy.py), in any language."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from conftest import FIXTURES
from tamis.textmodel.training.nearcopy import near_copies

CONTRAST = Path(__file__).parents[1] / "data" / "text" / "tamis_contrast.jsonl.gz"


def _lines(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines() if line]


def probe_texts() -> list[str]:
    texts = [t for p in _lines("text_parallel_probes.jsonl") for t in p["texts"].values()]
    return texts + [p["text"] for p in _lines("text_context_probes.jsonl") + _lines("text_probes.jsonl")
                    + _lines("text_group_probes.jsonl")]


def test_no_training_sentence_is_a_probe_or_a_near_copy() -> None:
    written = [json.loads(line)["text"] for line in gzip.open(CONTRAST, "rt", encoding="utf-8")]
    assert len(written) > 400 and len(probe_texts()) > 400
    assert near_copies(written, probe_texts()) == []


def test_near_copies_are_found_in_any_script() -> None:
    probes = ["I'm going to stab you the next time I see you.", "I will kill you.", "我要杀了你。"]
    found = {w for w, _, _ in near_copies([
        "I will stab you the next time I see you.",  # reworded
        "I swear I will kill you if you post that again.",  # holds a probe whole
        "我要杀了你",  # punctuation dropped
        "I will bake you a cake for your birthday.",  # shares "I will ... you"
        "Thank you, see you next time!",
    ], probes)}
    assert found == {"I will stab you the next time I see you.", "I swear I will kill you if you post that again.",
                     "我要杀了你"}
