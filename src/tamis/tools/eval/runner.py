"""`tamis eval`: read labelled JSON lines, score them with tamis's own pipeline, report.

Rows are judged with `pipeline.judge`, never `moderate`: an evaluation records no decision and sends
no webhook. The whole input is read and checked before any scoring, so a bad line fails fast.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from tamis.errors import ProblemError
from tamis.tools.eval.metrics import split_groups
from tamis.schema import Item, ItemResult
from tamis.media import decode_image
from tamis.services.moderation import judge
from tamis.engine.policy import Policy
from tamis.taxonomy import CATEGORIES

LABEL_KEYS = frozenset(CATEGORIES) | {"any"}
BATCH_SIZE = 64
# Bad lines listed in one error; more only make the message harder to read.
MAX_PROBLEMS = 20


class EvalInputError(ValueError):
    """The input files have bad lines; `problems` names each as 'file:line: what is wrong'."""

    def __init__(self, problems: Sequence[str], more: int = 0) -> None:
        self.problems, self.more = list(problems), more
        extra = f" (and {more} more)" if more else ""
        super().__init__(f"{len(self.problems) + more} problem(s){extra}:\n" + "\n".join(self.problems))


@dataclass(frozen=True)
class EvalRow:
    """One labelled row: text and/or an image path (resolved against its file's folder)."""

    id: str
    source: str  # "file:line", for error messages
    labels: dict[str, int]
    text: str | None = None
    path: Path | None = None
    lang: str | None = None
    set: str | None = None
    group: str | None = None

    @property
    def groups(self) -> list[str]:
        return split_groups(self.group)


@dataclass(frozen=True)
class Judged:
    """What tamis said about one row: scores of the categories assessed, their flags, the verdict."""

    scores: dict[str, float]
    flagged: dict[str, bool]
    verdict: str

    @classmethod
    def from_result(cls, result: ItemResult) -> Judged:
        return cls({c.name: c.score for c in result.categories}, {c.name: c.flagged for c in result.categories},
                   result.verdict)

    def score(self, category: str) -> float | None:
        """None = not assessed. `any` is the highest score of any category assessed."""
        if category == "any":
            return max(self.scores.values()) if self.scores else None
        return self.scores.get(category)

    def predicted(self, category: str) -> bool:
        if category == "any":
            return self.verdict != "pass"
        return self.flagged.get(category, False)


@dataclass
class EvalRun:
    rows: list[EvalRow]
    judged: list[Judged]
    policy: Policy
    files: list[str] = field(default_factory=list)
    unlabelled: int = 0  # rows read whose labels were empty: nothing to score them on


# --- reading -------------------------------------------------------------------------------------


def _open(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def _optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string or null, not {type(value).__name__}")
    return value


def _labels(value: Any) -> dict[str, int]:
    # {} is valid: the source labels nothing about this row (such rows are counted, not scored).
    if not isinstance(value, dict):
        raise ValueError("'labels' must be an object of category: 0 or 1")
    unknown = sorted(set(value) - LABEL_KEYS)
    if unknown:
        raise ValueError(f"unknown label categories {unknown}")
    bad = sorted(k for k, v in value.items() if v not in (0, 1) or isinstance(v, float))
    if bad:
        raise ValueError(f"labels {bad} must be 0 or 1")
    return {k: int(v) for k, v in value.items()}


def parse_row(obj: Any, source: str, base: Path) -> EvalRow:
    """An EvalRow from one decoded JSON line; ValueError says what is wrong with it."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    row_id = obj.get("id")
    if not isinstance(row_id, (str, int)) or isinstance(row_id, bool) or row_id == "":
        raise ValueError("'id' must be a non-empty string or an integer")
    text, rel_path = _optional_str(obj, "text"), _optional_str(obj, "path")
    if text is None and rel_path is None:
        raise ValueError("a row needs 'text' or 'path'")
    path = None
    if rel_path is not None:
        path = base / rel_path
        if not path.is_file():
            raise ValueError(f"'path' {rel_path!r}: no such file (paths are relative to the JSONL file)")
    return EvalRow(id=str(row_id), source=source, labels=_labels(obj.get("labels")), text=text, path=path,
                   lang=_optional_str(obj, "lang"), set=_optional_str(obj, "set"), group=_optional_str(obj, "group"))


def _read_file(path: Path, limit: int | None, problems: list[str]) -> Iterator[EvalRow]:
    taken = 0
    try:
        with _open(path) as handle:
            for number, raw in enumerate(handle, start=1):
                if limit is not None and taken >= limit:
                    return
                source = f"{path}:{number}"
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                    if not line.strip():
                        continue
                    yield parse_row(json.loads(line), source, path.parent)
                    taken += 1
                except UnicodeDecodeError as exc:
                    problems.append(f"{source}: not UTF-8 (byte {exc.start})")
                except json.JSONDecodeError as exc:
                    problems.append(f"{source}: invalid JSON: {exc.msg} (column {exc.colno})")
                except ValueError as exc:
                    problems.append(f"{source}: {exc}")
    except (OSError, EOFError, zlib.error) as exc:  # unreadable file, truncated or corrupt gzip
        problems.append(f"{path}: cannot read: {exc}")


def read_rows(files: Sequence[Path | str], limit: int | None = None) -> list[EvalRow]:
    """Every row of every file (at most `limit` per file); EvalInputError lists the bad lines."""
    problems: list[str] = []
    rows = [row for f in files for row in _read_file(Path(f), limit, problems)]
    if problems:
        raise EvalInputError(problems[:MAX_PROBLEMS], more=max(0, len(problems) - MAX_PROBLEMS))
    if not rows:
        raise EvalInputError([f"{', '.join(map(str, files))}: no rows"])
    return rows


# --- scoring -------------------------------------------------------------------------------------


def _item(index: int, row: EvalRow) -> Item:
    image = None
    if row.path is not None:
        try:
            image = decode_image(row.path.read_bytes(), field=str(row.path))
        except ProblemError as exc:
            raise EvalInputError([f"{row.source}: {exc.detail}"]) from None
        except OSError as exc:
            raise EvalInputError([f"{row.source}: cannot read {row.path}: {exc.strerror or exc}"]) from None
    # Row ids need not be unique across files: the position is.
    return Item(data_id=str(index), text=row.text, image=image)


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), disable=not enabled) as bar:
        yield bar


def score_rows(rows: Sequence[EvalRow], project: str, policy: Policy, *, batch_size: int = BATCH_SIZE,
               progress: bool = True) -> list[Judged]:
    """Judge every row under `policy`, in batches; nothing is recorded."""
    judged: list[Judged] = []
    with _progress(progress) as bar:
        task = bar.add_task("Scoring", total=len(rows))
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            items = [_item(start + i, row) for i, row in enumerate(batch)]
            judged.extend(Judged.from_result(r) for r in judge(project, policy, items).results)
            bar.advance(task, len(batch))
    return judged
