"""`tamis eval`: the metric functions against hand-computed values (and sklearn where installed),
the reading of the evaluation format, and the command end to end on a tiny hand-made file with the
real pipeline and models.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from tamis.cli import app
from tamis.engine.policy import default_body
from tamis.tools.eval import EvalInputError, EvalRow, Judged, read_rows
from tamis.tools.eval import metrics as M
from tamis.tools.eval.report import build_report, render_html
from tamis.tools.eval.runner import EvalRun
from tamis.engine.policy import Policy, default_body
from tamis.store.db import transaction
from tamis.store.models import Decision

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "eval" / "tiny.jsonl"

# A hand-checked case with a tie between a positive and a negative (the two 0.8s).
Y = [1, 0, 1, 0, 1, 0]
S = [0.9, 0.8, 0.8, 0.4, 0.3, 0.1]


# --- metrics -------------------------------------------------------------------------------------


def test_average_precision_by_hand() -> None:
    # Thresholds 0.9, 0.8 (tie), 0.4, 0.3, 0.1 give (P, R) = (1, 1/3), (2/3, 2/3), (1/2, 2/3), (3/5, 1), (1/2, 1):
    # AP = 1/3 * 1 + 1/3 * 2/3 + 0 + 1/3 * 3/5 + 0 = 34/45.
    assert M.average_precision(Y, S) == pytest.approx(34 / 45, abs=1e-12)
    precision, recall = M.precision_recall_curve(Y, S)
    assert precision.tolist() == pytest.approx([1, 2 / 3, 1 / 2, 3 / 5, 1 / 2])
    assert recall.tolist() == pytest.approx([1 / 3, 2 / 3, 2 / 3, 1, 1])
    assert M.average_precision([1, 1, 0], [0.9, 0.8, 0.1]) == 1.0


def test_roc_auc_counts_ties_as_half() -> None:
    # Positive-negative pairs ranked right: 0.9 beats all 3, 0.8 beats 2 and ties 1, 0.3 beats 1 -> 6.5 / 9.
    assert M.roc_auc(Y, S) == pytest.approx(13 / 18, abs=1e-12)
    assert M.roc_auc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert M.roc_auc([0, 1], [0.9, 0.1]) == 0.0


def test_threshold_metrics_by_hand() -> None:
    predicted = [s >= 0.5 for s in S]  # flags 0.9 (pos), 0.8 (neg), 0.8 (pos)
    m = M.threshold_metrics(Y, predicted)
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 1, 1, 2)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["fpr"] == pytest.approx(1 / 3)


def test_undefined_metrics_are_none() -> None:
    assert M.average_precision([0, 0], [0.2, 0.7]) is None  # no positives
    assert M.roc_auc([1, 1], [0.2, 0.7]) is None  # one class only
    m = M.threshold_metrics([1, 0], [False, False])
    assert m["precision"] is None and m["recall"] == 0.0 and m["fpr"] == 0.0
    empty = M.category_metrics([], [], [])
    assert empty["n"] == 0 and empty["auprc"] is None and empty["ece"] is None and empty["reliability"] == []


def test_reliability_and_ece_by_hand() -> None:
    bins = M.reliability(Y, S)
    assert [b["count"] for b in bins] == [0, 1, 0, 1, 1, 0, 0, 0, 2, 1]
    assert bins[8]["mean_predicted"] == pytest.approx(0.8) and bins[8]["observed"] == 0.5
    assert bins[0]["mean_predicted"] is None
    # |0.9-1| + 2*|0.8-0.5| + |0.4-0| + |0.3-1| + |0.1-0|, over 6 rows.
    assert M.expected_calibration_error(Y, S) == pytest.approx(1.9 / 6)
    # Bin edges: 0.3 goes to [0.3, 0.4), 1.0 to the last bin.
    assert [b["count"] for b in M.reliability([0, 1], [0.3, 1.0])] == [0, 0, 0, 1, 0, 0, 0, 0, 0, 1]
    assert M.expected_calibration_error([1, 0], [1.0, 0.0]) == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_matches_sklearn_on_random_data(seed: int) -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 3000))
    y = rng.integers(0, 2, n)
    # Rounded scores make many ties, the hard case for both metrics.
    scores = np.round(np.clip(0.3 * y + rng.normal(0.4, 0.25, n), 0, 1), int(rng.integers(1, 4)))
    assert M.average_precision(y, scores) == pytest.approx(metrics.average_precision_score(y, scores), rel=1e-12)
    assert M.roc_auc(y, scores) == pytest.approx(metrics.roc_auc_score(y, scores), rel=1e-12)
    predicted = scores >= 0.5
    m = M.threshold_metrics(y, predicted)
    assert m["precision"] == pytest.approx(metrics.precision_score(y, predicted))
    assert m["recall"] == pytest.approx(metrics.recall_score(y, predicted))
    assert m["f1"] == pytest.approx(metrics.f1_score(y, predicted))


def test_group_fpr_by_hand() -> None:
    # 8 clean rows, 2 false positives: overall FPR 0.25. Row 3 names both groups.
    groups = [["a"], ["a"], ["a"], ["a", "b"], ["b"], ["c"], ["c"], []]
    predicted = [1, 0, 0, 0, 1, 0, 0, 0]
    result = M.group_fpr(groups, predicted)
    assert (result["n"], result["fp"], result["fpr"]) == (8, 2, 0.25)
    by = {g["group"]: g for g in result["groups"]}
    assert (by["a"]["n"], by["a"]["fp"], by["a"]["fpr"], by["a"]["ratio"]) == (4, 1, 0.25, 1.0)
    assert by["a"]["flags"] == ["fpr"]  # as often as overall, but 25% is not below 5%
    assert (by["b"]["n"], by["b"]["fpr"], by["b"]["ratio"]) == (2, 0.5, 2.0)
    assert by["b"]["flags"] == ["ratio", "fpr"]
    assert by["c"]["flags"] == [] and by["c"]["ratio"] == 0.0
    assert all(g["small"] for g in result["groups"])
    assert [g["group"] for g in result["groups"]] == ["b", "a", "c"]  # worst first


def test_group_fpr_ratio_alone_and_small_groups() -> None:
    # 100 clean rows, 2 false positives (2%), both in group x (50 rows: 4%, twice the overall rate).
    groups = [["x"]] * 50 + [["y"]] * 45 + [["z"]] * 5
    predicted = [1, 1] + [0] * 98
    by = {g["group"]: g for g in M.group_fpr(groups, predicted)["groups"]}
    assert by["x"]["fpr"] == pytest.approx(0.04) and by["x"]["ratio"] == pytest.approx(2.0)
    assert by["x"]["flags"] == ["ratio"] and not by["x"]["small"]
    assert by["y"]["flags"] == [] and not by["y"]["small"]
    assert by["z"]["small"]
    assert M.split_groups("muslim+woman") == ["muslim", "woman"] and M.split_groups(None) == []


# --- reading -------------------------------------------------------------------------------------


def test_reads_the_tiny_fixture() -> None:
    rows = read_rows([TINY])
    assert len(rows) == 13 and len({r.id for r in rows}) == 13
    assert {r.lang for r in rows} == {"en", "fr"}
    assert sum("profanity" not in r.labels for r in rows) == 2  # unknown, not 0
    assert next(r for r in rows if r.id == "t09").groups == ["muslim", "woman"]
    assert read_rows([TINY], limit=4)[-1].id == "t04"


def test_reads_gzip_and_image_paths(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "benign" / "coffee.jpg", tmp_path / "coffee.jpg")
    path = tmp_path / "rows.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"id": 7, "path": "coffee.jpg", "labels": {"sexual": 0, "any": 0}}) + "\n")
    [row] = read_rows([path])
    assert row.id == "7" and row.path == tmp_path / "coffee.jpg" and row.text is None


BAD_LINES = [
    ('{"id": "a", "text": "hi", "labels": {"any": 0}}', None),
    ("not json", "invalid JSON"),
    ('["a list"]', "expected a JSON object"),
    ('{"id": "b", "labels": {"any": 0}}', "needs 'text' or 'path'"),
    ('{"id": "c", "text": "x", "labels": {"hatred": 1}}', "unknown label categories ['hatred']"),
    ('{"id": "d", "text": "x", "labels": {"any": 2}}', "must be 0 or 1"),
    ('{"id": "e", "text": "x", "labels": {"any": 0}, "lang": 3}', "'lang' must be a string"),
    ('{"id": "f", "path": "missing.png", "labels": {"any": 0}}', "no such file"),
    ('{"text": "x", "labels": {"any": 0}}', "'id'"),
    ('{"id": "g", "text": "x"}', "'labels' must be an object"),
]


def test_bad_lines_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(line for line, _ in BAD_LINES) + "\n", encoding="utf-8")
    with pytest.raises(EvalInputError) as caught:
        read_rows([path])
    problems = caught.value.problems
    expected = [(n, why) for n, (_, why) in enumerate(BAD_LINES, start=1) if why]
    assert len(problems) == len(expected)
    for problem, (number, why) in zip(problems, expected):
        assert problem.startswith(f"{path}:{number}: ") and why in problem, problem


# --- the report on judged rows -------------------------------------------------------------------


def _row(i: int, labels: dict[str, int], group: str | None = None) -> EvalRow:
    return EvalRow(id=str(i), source=f"x:{i}", labels=labels, text="t", lang="en", set="s", group=group)


def test_missing_labels_and_not_assessed_categories_are_excluded() -> None:
    rows = [
        _row(0, {"hate": 1, "profanity": 1, "any": 1}),
        _row(1, {"hate": 0, "any": 0}, group="g"),  # profanity unknown
        _row(2, {"hate": 1, "profanity": 0, "any": 1}),
        _row(3, {"hate": 0, "profanity": 0, "any": 0}, group="g"),
        _row(4, {"profanity": 1, "any": 1}),  # hate unknown
        _row(5, {"hate": 0, "any": 0}),  # nothing assessed at all
    ]
    judged = [
        Judged({"hate": 0.9, "profanity": 0.8}, {"hate": True, "profanity": True}, "block"),
        Judged({"hate": 0.2, "profanity": 0.1}, {"hate": False, "profanity": False}, "pass"),
        Judged({"profanity": 0.3}, {"profanity": False}, "pass"),  # hate not assessed
        Judged({"hate": 0.4, "profanity": 0.7}, {"hate": False, "profanity": False}, "review"),  # a list matched
        Judged({"hate": 0.99, "profanity": 0.6}, {"hate": True, "profanity": False}, "block"),
        Judged({}, {}, "pass"),
    ]
    report = build_report(EvalRun(rows, judged, Policy("default", 0, default_body())), project="p")
    hate, profanity, any_ = (report["overall"][c] for c in ("hate", "profanity", "any"))
    assert report["categories"] == ["any", "hate", "profanity"]
    assert (hate["labelled"], hate["not_assessed"], hate["n"], hate["positives"]) == (5, 2, 3, 1)  # rows 0, 1, 3
    assert hate["auprc"] == 1.0 and (hate["tp"], hate["fp"]) == (1, 0)
    assert (profanity["labelled"], profanity["n"], profanity["positives"]) == (4, 4, 2)  # rows 0, 2, 3, 4
    assert profanity["roc_auc"] == pytest.approx(0.75)  # 0.8, 0.6 vs 0.3, 0.7: 3 of 4 pairs right
    # any: the highest category score; positive when the verdict is not pass.
    assert (any_["n"], any_["not_assessed"], any_["positives"]) == (5, 1, 3)
    assert (any_["tp"], any_["fp"], any_["fn"], any_["tn"]) == (2, 1, 1, 1)
    fpr = report["identity_fpr"]
    assert (fpr["n"], fpr["fp"], fpr["not_assessed"]) == (2, 1, 1)
    assert fpr["groups"][0] | {"flags": None} == {"group": "g", "n": 2, "fp": 1, "fpr": 0.5, "ratio": 1.0,
                                                   "flags": None, "small": True}
    assert Judged({"a": 0.2, "b": 0.7}, {}, "pass").score("any") == 0.7
    html = render_html(report)
    assert html.count("<svg") == 6  # a PR curve and a reliability plot per category assessed


def test_html_escapes_data_and_loads_nothing() -> None:
    rows = [_row(0, {"any": 1}, group="<script>alert(1)</script>"), _row(1, {"any": 0}, group="<b>x</b>")]
    judged = [Judged({"profanity": 0.9}, {"profanity": True}, "review"), Judged({"profanity": 0.1}, {}, "pass")]
    html = render_html(build_report(EvalRun(rows, judged, Policy("default", 0, default_body())), project="p"))
    assert "<script>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert " src=" not in html and "<link" not in html and "url(" not in html


# --- the command ---------------------------------------------------------------------------------


def tamis(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def _consistent(m: dict[str, Any]) -> None:
    assert m["tp"] + m["fp"] + m["fn"] + m["tn"] == m["n"] == m["labelled"] - m["not_assessed"]
    assert m["tp"] + m["fn"] == m["positives"]
    if m["tp"] + m["fp"]:
        assert m["precision"] == pytest.approx(m["tp"] / (m["tp"] + m["fp"]))
    if m["positives"]:
        assert m["recall"] == pytest.approx(m["tp"] / m["positives"])
    assert sum(b["count"] for b in m["reliability"]) == m["n"]
    for key in ("auprc", "roc_auc", "ece"):
        assert m[key] is None or 0.0 <= m[key] <= 1.0


@pytest.mark.models
def test_eval_command_end_to_end(tmp_path: Path, project: str) -> None:
    out = tmp_path / "out"
    result = tamis("eval", str(TINY), "--out", str(out), "--project", project)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert "profanity" in result.stdout and "AUPRC" in result.stdout
    report = json.loads((out / "eval.json").read_text(encoding="utf-8"))

    assert report["rows"] == 13 and report["categories"] == ["any", "hate", "profanity"]
    overall = report["overall"]
    assert (overall["any"]["n"], overall["any"]["positives"]) == (13, 5)
    assert (overall["profanity"]["labelled"], overall["profanity"]["positives"]) == (11, 4)  # two rows unknown
    # Hate is labelled on 6 rows (2 positive), all assessed by the text model.
    assert (overall["hate"]["labelled"], overall["hate"]["not_assessed"], overall["hate"]["n"]) == (6, 0, 6)
    assert overall["hate"]["positives"] == 2 and overall["hate"]["auprc"] is not None
    for by in (report["overall"], *report["by_lang"].values(), *report["by_set"].values(), *report["by_group"].values()):
        for m in by.values():
            _consistent(m)
    assert overall["profanity"]["auprc"] > overall["profanity"]["positives"] / overall["profanity"]["n"]
    assert overall["profanity"]["pr_curve"]["recall"][-1] == 1.0
    for dimension in ("lang", "set"):
        slices = report[f"by_{dimension}"]
        assert sum(per["any"]["n"] for per in slices.values()) == 13
    assert set(report["by_lang"]) == {"en", "fr"}
    assert set(report["by_group"]) == {"muslim", "woman"}

    fpr = report["identity_fpr"]
    assert fpr["n"] == 8  # clean rows
    by = {g["group"]: g for g in fpr["groups"]}
    assert (by["muslim"]["n"], by["woman"]["n"]) == (4, 3)  # t09 names both
    assert all(g["small"] for g in fpr["groups"])
    # Every clean row is text, so assessed: the identity table's totals are `any`'s false positives.
    assert (fpr["fp"], fpr["fpr"]) == (overall["any"]["fp"], overall["any"]["fpr"])
    profanity = default_body().categories["profanity"]  # the default policy's
    assert report["thresholds"]["profanity"] == {"review": profanity.review, "block": profanity.block}

    html = (out / "eval.html").read_text(encoding="utf-8")
    assert "<svg" in html and "polyline" in html and "muslim" in html
    assert html.count("<svg") == 6 and "Not assessed on any row" not in html  # PR + reliability per category
    with transaction() as session:  # an evaluation records nothing
        assert session.scalars(select(Decision).where(Decision.project_id == project)).first() is None


@pytest.mark.models
def test_eval_command_scores_image_rows(tmp_path: Path, project: str) -> None:
    rows = tmp_path / "images.jsonl"
    image = os.path.relpath(FIXTURES / "benign" / "rocket.jpg", tmp_path)
    rows.write_text(json.dumps({"id": "r", "path": image, "labels": {"sexual": 0, "hate": 0, "any": 0}}) + "\n")
    result = tamis("eval", str(rows), "--out", str(tmp_path / "out"), "--project", project)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    report = json.loads((tmp_path / "out" / "eval.json").read_text())
    assert report["image_rows"] == 1
    assert report["overall"]["sexual"]["n"] == 1 and report["overall"]["hate"]["not_assessed"] == 1
    html = (tmp_path / "out" / "eval.html").read_text(encoding="utf-8")
    assert "Not assessed on any row (no plot): hate." in html  # no image analyzer scores hate


def test_eval_command_bad_input(tmp_path: Path, project: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "text": "hi", "labels": {"any": 0}}\n{"id": "b", "text": "x", "labels": {"any": "yes"}}\n')
    result = tamis("eval", str(path), "--out", str(tmp_path / "out"), "--project", project)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert f"{path}:2:" in result.stderr and "must be 0 or 1" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()

    result = tamis("eval", str(TINY), "--policy", "nope", "--out", str(tmp_path / "out"), "--project", project)
    assert result.exit_code == 2 and "policy 'nope' does not exist" in result.stderr
