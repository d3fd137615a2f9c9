"""`tamis scan DIR`: moderate every image and text file under a folder, offline.

Writes `results.jsonl` (one line per file, in a stable order) and `report.html`, a self-contained
page for a trust-and-safety person: summary charts, and the flagged items with their thumbnails
blurred until clicked.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, Literal, TextIO

from jinja2 import Environment, PackageLoader, StrictUndefined
from PIL import Image
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from tamis.config import Settings, get_settings
from tamis.errors import ProblemError
from tamis.schema import VERDICT_RANK, Item, ItemResult, ListEvidence, PolicyRef, SpanEvidence
from tamis.media.images import allowed_formats, decode_image
from tamis.services.moderation import moderate

TEXT_SUFFIXES = frozenset({".txt", ".md"})
THUMBNAIL_PX = 160
# Characters of a flagged text shown in the report, around its first flagged span.
EXCERPT_CHARS = 400
# A report with thousands of base64 thumbnails gets too heavy to open; the JSONL has everything.
REPORT_MAX_ROWS = 1000
# How many categories a report row lists.
TOP_CATEGORIES = 3

Kind = Literal["image", "text"]


@dataclass
class ScanEntry:
    """One file's outcome: a moderation result, or an error saying why it could not be judged."""

    path: str
    kind: Kind
    data_id: str
    result: ItemResult | None = None
    decision_id: str | None = None
    error: str | None = None
    status: int | None = None
    # Kept only for flagged items, for the report.
    text: str | None = None
    thumbnail: str | None = None

    @property
    def flagged(self) -> bool:
        return self.result is not None and self.result.verdict != "pass"

    def to_json(self) -> dict[str, Any]:
        if self.result is None:
            return {"path": self.path, "kind": self.kind, "data_id": self.data_id,
                    "error": self.error, "status": self.status}
        dumped = self.result.model_dump(mode="json", include={"categories", "evidence"})
        return {"path": self.path, "kind": self.kind, "data_id": self.data_id, "verdict": self.result.verdict,
                "categories": dumped["categories"], "evidence": dumped["evidence"],
                "decision_id": self.decision_id}


@dataclass
class ScanSummary:
    directory: Path
    files: int
    skipped: int  # files that are neither text nor an image format we accept
    errors: int
    verdicts: dict[str, int]  # pass/review/block -> items
    categories: dict[str, int]  # category -> items flagged in it, most first
    kinds: dict[str, int]  # image/text -> items judged
    results_path: Path
    report_path: Path
    policy: PolicyRef | None = None  # None when nothing was judged
    policy_id: str = "default"
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def judged(self) -> int:
        return sum(self.verdicts.values())


# --- the scan ----------------------------------------------------------------------------------


def run_scan(
    directory: Path,
    out: Path,
    *,
    project: str = "default",
    policy_id: str = "default",
    store: bool = True,
    batch_size: int = 16,
    progress: bool = True,
) -> ScanSummary:
    """Moderate every image and .txt/.md file under `directory`; write results.jsonl and report.html to `out`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise NotADirectoryError(directory)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results_path, report_path = out / "results.jsonl", out / "report.html"
    files = list(walk(directory))
    entries: list[ScanEntry] = []
    policy: PolicyRef | None = None
    skipped = 0
    with results_path.open("w", encoding="utf-8") as sink, _progress(progress) as bar:
        task = bar.add_task("Scanning", total=len(files))
        batch: list[tuple[Item, ScanEntry]] = []
        written = 0
        for path in files:
            entry, item = _prepare(directory, path)
            if entry is None:
                skipped += 1
            else:
                entries.append(entry)
            if item is not None and entry is not None:
                batch.append((item, entry))
            else:
                bar.advance(task)
            if len(batch) >= batch_size:
                policy = _judge(project, policy_id, store, batch)
                bar.advance(task, len(batch))
                batch = []
                written = _flush(sink, entries, written)
        if batch:
            policy = _judge(project, policy_id, store, batch)
            bar.advance(task, len(batch))
        _flush(sink, entries, written)
    summary = summarize(entries, directory=directory, results_path=results_path, report_path=report_path,
                        files=len(files), skipped=skipped, policy=policy, policy_id=policy_id)
    render_report(entries, summary, report_path)
    return summary


def walk(directory: Path) -> Iterator[Path]:
    """Regular files under `directory`, sorted by relative path (directory symlinks are not followed)."""
    found: list[Path] = []
    for root, _dirs, names in os.walk(directory):
        found.extend(Path(root) / name for name in names)
    yield from sorted((p for p in found if p.is_file()), key=lambda p: p.relative_to(directory).parts)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), disable=not enabled,
    )


def _prepare(directory: Path, path: Path) -> tuple[ScanEntry | None, Item | None]:
    """An entry and the item to judge; an entry alone for an error; (None, None) for a skipped file."""
    data_id = path.relative_to(directory).as_posix()
    kind: Kind = "text" if path.suffix.lower() in TEXT_SUFFIXES else "image"
    entry = ScanEntry(path=str(path), kind=kind, data_id=data_id)
    try:
        item = _read_text(path, data_id) if kind == "text" else _read_image(path, data_id)
    except ProblemError as e:
        if e.status == 415:  # not an image format we accept: not ours to judge
            return None, None
        entry.error, entry.status = e.detail, e.status
        return entry, None
    except OSError as e:
        entry.error, entry.status = f"could not read file: {e.strerror or e}", None
        return entry, None
    if item is None:
        return None, None
    return entry, item


def _read_text(path: Path, data_id: str, settings: Settings | None = None) -> Item | None:
    """One item per file, None for an empty one. Offsets in the evidence are offsets in the file's text."""
    settings = settings or get_settings()
    limit = settings.max_text_chars
    if path.stat().st_size > 4 * limit:  # more bytes than `limit` characters can take in UTF-8
        raise ProblemError(413, "Content too large", f"text is {path.stat().st_size} bytes, the limit is {limit} characters",
                           field=data_id, kind="too-large")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ProblemError(422, "Invalid input", f"text is not UTF-8: {e.reason} at byte {e.start}",
                           field=data_id, kind="invalid-input") from None
    if not text.strip():
        return None
    if len(text) > limit:
        raise ProblemError(413, "Content too large", f"text is {len(text)} characters, the limit is {limit}",
                           field=data_id, kind="too-large")
    return Item(data_id=data_id, text=text)


def _read_image(path: Path, data_id: str, settings: Settings | None = None) -> Item | None:
    """The bytes decide whether a file is an image, never its name."""
    settings = settings or get_settings()
    size = path.stat().st_size
    if size == 0:
        return None
    if size > settings.max_image_bytes:
        # Too big to read whole: it is an error only if its header says it is an image of ours.
        if not _looks_like_image(path):
            return None
        raise ProblemError(413, "Content too large", f"image is {size} bytes, the limit is {settings.max_image_bytes}",
                           field=data_id, kind="too-large")
    return Item(data_id=data_id, image=decode_image(path.read_bytes(), field=data_id, settings=settings))


def _looks_like_image(path: Path) -> bool:
    try:
        with Image.open(path, formats=allowed_formats()):
            return True
    except Exception:  # Pillow raises many types on unknown data
        return False


def _judge(project: str, policy_id: str, store: bool, batch: Sequence[tuple[Item, ScanEntry]]) -> PolicyRef:
    doc = moderate(project, [item for item, _ in batch], policy_id=policy_id, source="scan", store=store)
    for (item, entry), result in zip(batch, doc.results, strict=True):
        entry.result, entry.decision_id = result, doc.id
        if entry.flagged:  # keep what the report shows, and only for what it shows
            if item.image is not None:
                entry.thumbnail = thumbnail_data_uri(item.image.image)
            entry.text = item.text
    return doc.policy


def _flush(sink: TextIO, entries: Sequence[ScanEntry], written: int) -> int:
    """Write the entries not yet written (all judged by now), so the file grows as the scan goes."""
    for entry in entries[written:]:
        sink.write(json.dumps(entry.to_json(), ensure_ascii=False) + "\n")
    sink.flush()
    return len(entries)


def summarize(
    entries: Sequence[ScanEntry],
    *,
    directory: Path,
    results_path: Path,
    report_path: Path,
    files: int | None = None,
    skipped: int = 0,
    policy: PolicyRef | None = None,
    policy_id: str = "default",
) -> ScanSummary:
    results = [e.result for e in entries if e.result is not None]
    verdicts = {v: 0 for v in VERDICT_RANK} | Counter(r.verdict for r in results)
    flagged = Counter(c.name for r in results for c in r.categories if c.flagged)
    return ScanSummary(
        directory=directory,
        files=len(entries) + skipped if files is None else files,
        skipped=skipped,
        errors=sum(e.error is not None for e in entries),
        verdicts=dict(verdicts),
        categories=dict(sorted(flagged.items(), key=lambda kv: (-kv[1], kv[0]))),
        kinds=dict(Counter(e.kind for e in entries if e.result is not None)),
        results_path=results_path,
        report_path=report_path,
        policy=policy,
        policy_id=policy.id if policy else policy_id,
    )


# --- the report --------------------------------------------------------------------------------


def thumbnail_data_uri(image: Image.Image, size: int = THUMBNAIL_PX) -> str:
    """A small JPEG of the image as a data: URI, so the report needs no other file."""
    thumb = image.convert("RGB")
    thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    thumb.save(buffer, "JPEG", quality=70, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def highlight(text: str, spans: Sequence[tuple[int, int]], width: int = EXCERPT_CHARS) -> list[tuple[str, bool]]:
    """An excerpt of `text` around its first span, as (segment, flagged) pairs; the template escapes them."""
    merged = _merge(spans, len(text))
    start = max(0, merged[0][0] - width // 4) if merged else 0
    end = min(len(text), start + width)
    segments: list[tuple[str, bool]] = [("…", False)] if start else []
    cursor = start
    for s, e in merged:
        s, e = max(s, cursor), min(e, end)
        if s >= e:
            continue
        segments += [(text[cursor:s], False), (text[s:e], True)]
        cursor = e
    segments.append((text[cursor:end], False))
    if end < len(text):
        segments.append(("…", False))
    return [seg for seg in segments if seg[0]]


def _merge(spans: Sequence[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted((max(0, s), min(length, e)) for s, e in spans):
        if s >= e:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def _spans(result: ItemResult) -> list[tuple[int, int]]:
    return [
        (ev.start, ev.end)
        for ev in result.evidence
        if isinstance(ev, (SpanEvidence, ListEvidence)) and ev.start is not None and ev.end is not None
    ]


def _row(entry: ScanEntry) -> dict[str, Any]:
    assert entry.result is not None
    categories = sorted(entry.result.categories, key=lambda c: (not c.flagged, -c.score))[:TOP_CATEGORIES]
    excerpt = highlight(entry.text, _spans(entry.result)) if entry.text is not None else None
    return {"entry": entry, "result": entry.result, "categories": categories, "excerpt": excerpt}


def _bars(counts: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Bar rows: each label's total and its segments as percentages of the largest total."""
    top = max((sum(c.values()) for c in counts.values()), default=0) or 1
    return [
        {"label": label, "total": sum(c.values()),
         "segments": [{"verdict": v, "count": n, "pct": round(100 * n / top, 2)} for v, n in c.items() if n]}
        for label, c in counts.items()
    ]


def _charts(entries: Sequence[ScanEntry], summary: ScanSummary) -> dict[str, list[dict[str, Any]]]:
    by_category: dict[str, dict[str, int]] = {name: {"review": 0, "block": 0} for name in summary.categories}
    for entry in entries:
        if entry.result is None:
            continue
        for c in entry.result.categories:
            if c.flagged and c.name in by_category and entry.result.verdict in by_category[c.name]:
                by_category[c.name][entry.result.verdict] += 1
    return {
        "verdicts": _bars({v: {v: n} for v, n in summary.verdicts.items()}),
        "categories": _bars(by_category),
    }


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("tamis.web", "templates"), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )


def render_report(entries: Sequence[ScanEntry], summary: ScanSummary, out_path: Path) -> Path:
    """Write the self-contained HTML report; flagged items worst first, errors listed after."""
    flagged = sorted((e for e in entries if e.flagged),
                     key=lambda e: (-VERDICT_RANK[e.result.verdict], e.data_id))  # type: ignore[union-attr]
    html = _environment().get_template("scan_report.html").render(
        summary=summary,
        charts=_charts(entries, summary),
        rows=[_row(e) for e in flagged[:REPORT_MAX_ROWS]],
        hidden_rows=max(0, len(flagged) - REPORT_MAX_ROWS),
        flagged_total=len(flagged),
        errors=[e for e in entries if e.error is not None],
        tamis_version=package_version("tamis"),
    )
    out_path = Path(out_path)
    out_path.write_text(html, encoding="utf-8")
    return out_path
