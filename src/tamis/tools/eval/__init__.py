"""Evaluation: `tamis eval` scores labelled JSON lines with tamis's own pipeline and reports metrics
per category, language, set and group, calibration, and false positives per identity group.

`metrics` holds the numpy-only metric functions, `runner` reads and scores the rows, `report` builds
eval.json, eval.html and the console summary; `run_eval` does all three.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tamis.services.moderation import active_policies
from tamis.tools.eval.report import build_report, write_report
from tamis.tools.eval.runner import BATCH_SIZE, EvalInputError, EvalRow, EvalRun, Judged, read_rows, score_rows

__all__ = ["EvalInputError", "EvalRow", "Judged", "read_rows", "run_eval", "score_rows"]


def run_eval(files: Sequence[Path | str], out: Path | str, *, project: str = "default", policy_id: str = "default",
             limit: int | None = None, batch_size: int = BATCH_SIZE, progress: bool = True) -> dict[str, Any]:
    """Read, score and report: writes OUT/eval.json and OUT/eval.html, returns the report.

    Raises EvalInputError for bad input and LookupError for a policy the project does not have.
    """
    read = read_rows(files, limit)
    rows = [row for row in read if row.labels]
    policy, _shadow = active_policies(project, policy_id)
    judged = score_rows(rows, project, policy, batch_size=batch_size, progress=progress)
    run = EvalRun(rows, judged, policy, [str(f) for f in files], unlabelled=len(read) - len(rows))
    report = build_report(run, project=project, limit=limit)
    write_report(report, Path(out))
    return report
