"""Evaluation: `tamis eval` scores labelled JSON lines with tamis's own pipeline and reports metrics
per category, language, set and group, calibration, and false positives per identity group.

`metrics` holds the numpy-only metric functions, `runner` reads and scores the rows, `report` builds
eval.json, eval.html and the console summary.
"""

from tamis.tools.eval.runner import EvalInputError, EvalRow, Judged, read_rows, run_eval, score_rows

__all__ = ["EvalInputError", "EvalRow", "Judged", "read_rows", "run_eval", "score_rows"]
