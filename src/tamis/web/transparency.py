"""The transparency report as files: CSV rows laid out after the harmonised templates of Implementing
Regulation (EU) 2024/2835 (section, indicator, breakdown, value), and one self-contained HTML page
with inline SVG charts (no script, no asset from anywhere). Used by `tamis dsa report` and by the
admin page of the review workspace."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from tamis.services.dsa.transparency import MIN_SAMPLE, Estimate, Figures

COLUMNS = ["section", "indicator", "breakdown", "value", "sample_size", "ci95_low", "ci95_high", "note"]
# What the templates ask for and tamis cannot know: said in the file, never left silently empty.
NOT_COVERED = [
    ("Orders of Member States' authorities (Art. 9 and 10)", "tamis receives no orders: count them outside tamis"),
    ("Out-of-court dispute settlement (Art. 21, 24(1)(a))", "outcomes of settlement bodies are not recorded by tamis"),
    ("Suspensions for misuse (Art. 23)", "account suspensions are the platform's: tamis judges content, not people"),
    ("Human resources dedicated to content moderation", "not known to tamis"),
]
S_NOTICES = "Notices submitted in accordance with Article 16"
S_OWN = "Content moderation engaged in at the providers' own initiative"
S_COMPLAINTS = "Complaints received through the internal complaint-handling system (Art. 20)"
S_AUTOMATED = "Use of automated means for content moderation"


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _estimate_row(section: str, indicator: str, breakdown: str, estimate: Estimate) -> list[str]:
    note = f"sample too small (under {MIN_SAMPLE})" if estimate.too_small else ""
    if estimate.value is None:
        note = "no sample"
    return [section, indicator, breakdown, _fmt(estimate.value), str(estimate.n), _fmt(estimate.low), _fmt(estimate.high), note]


def _counts(section: str, indicator: str, counts: Mapping[str, int]) -> Iterator[list[str]]:
    for name, n in sorted(counts.items()):
        yield [section, indicator, name, str(n), "", "", "", ""]


def rows(f: Figures) -> Iterator[list[str]]:
    period = f"{f.start.date().isoformat()} to {f.end.date().isoformat()} (end excluded)"
    yield ["Identification", "Reporting period", "", period, "", "", "", f"project {f.project}"]
    if f.notices_available:
        yield [S_NOTICES, "Number of notices", "total", str(sum(f.notices_by_category.values())), "", "", "", ""]
        yield from _counts(S_NOTICES, "Number of notices by type of alleged illegal content", f.notices_by_category)
        yield from _counts(S_NOTICES, "Number of notices by submitter", f.notices_by_source)
        yield [S_NOTICES, "Number of notices submitted by trusted flaggers", "", str(f.notices_trusted), "", "", "", ""]
        yield [S_NOTICES, "Number of notices acted upon", "", str(f.notices_decided), "", "", "", ""]
        yield [S_NOTICES, "Median time to take action (hours)", "", _fmt(f.notice_median_hours, 2), str(f.notices_decided), "", "", ""]
    else:
        yield [S_NOTICES, "Number of notices", "", "", "", "", "", "notices are not recorded by this version of tamis"]
    yield [S_OWN, "Number of restrictions (statements of reasons)", "total", str(f.actions), "", "", "", ""]
    yield from _counts(S_OWN, "Restrictions by ground", f.actions_by_ground)
    yield from _counts(S_OWN, "Restrictions by type of restriction", f.actions_by_type)
    yield from _counts(S_OWN, "Restrictions by category", f.actions_by_category)
    yield from _counts(S_OWN, "Restrictions by detection source", f.actions_by_source)
    yield from _counts(S_OWN, "Restrictions by automation of the decision", f.actions_by_automation)
    yield [S_OWN, "Restrictions lifted after human review", "", str(f.restorations), "", "", "", ""]
    if f.appeals_available:
        yield [S_COMPLAINTS, "Number of complaints received", "", str(f.appeals_received), "", "", "", ""]
        yield [S_COMPLAINTS, "Number of complaints decided", "", str(f.appeals_decided), "", "", "", ""]
        yield [S_COMPLAINTS, "Number of decisions reversed", "", str(f.appeals_reversed), "", "", "", ""]
        yield [S_COMPLAINTS, "Median time to decide (hours)", "", _fmt(f.appeal_median_hours, 2), str(f.appeals_decided), "", "", ""]
    else:
        yield [S_COMPLAINTS, "Number of complaints received", "", "", "", "", "", "appeals are not recorded by this version of tamis"]
    share = f.share_automated
    yield [S_AUTOMATED, "Share of restrictions decided by fully automated means", "", _fmt(share), str(f.actions), "", "", ""]
    yield [S_AUTOMATED, "Automated verdicts in the period", "total", str(f.decisions), "", "", "", ""]
    yield [S_AUTOMATED, "Automated verdicts in the period", "pass", str(f.passes), "", "", "", ""]
    yield [S_AUTOMATED, "Pass verdicts sampled and reviewed for quality", "", str(f.pass_samples_reviewed), "", "", "", ""]
    for stratum in f.pass_strata:
        probability = "inclusion probability not recorded" if stratum.p is None else f"inclusion probability {stratum.p:g}"
        yield [S_AUTOMATED, "Pass verdicts sampled for quality, by stratum of highest score (drawn, reviewed)", stratum.name,
               str(stratum.drawn), str(stratum.reviewed), "", "", probability]
    for a in f.accuracy:
        yield [S_AUTOMATED, "Automated flags (review or block)", a.category, str(a.flagged), "", "", "", ""]
        yield _estimate_row(S_AUTOMATED, "Precision: share of reviewed automated flags upheld by people", a.category, a.precision)
        yield _estimate_row(S_AUTOMATED, "Miss rate: share of sampled pass verdicts people restricted", a.category, a.miss_rate)
        yield _estimate_row(S_AUTOMATED, "Recall (estimated)", a.category, a.recall)
    for section, why in NOT_COVERED:
        yield [section, "", "", "", "", "", "", f"not covered: {why}"]


def to_csv(f: Figures) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(f))
    return out.getvalue()


# --- HTML ------------------------------------------------------------------------------------------

_env = Environment(loader=FileSystemLoader(str(resources.files("tamis.web") / "templates")), autoescape=select_autoescape(["html"]))


def bars(counts: Mapping[str, int], width: int = 640, row: int = 22) -> dict[str, Any]:
    """Horizontal bars for an inline SVG: label, count, bar length."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    top = max((n for _, n in items), default=0) or 1
    label_w, bar_w = 300, width - 300 - 60
    return {"width": width, "height": row * len(items) + 4, "row": row, "label_w": label_w,
            "items": [{"label": k, "n": n, "w": round(bar_w * n / top, 1), "y": i * row} for i, (k, n) in enumerate(items)]}


def intervals(f: Figures, width: int = 640, row: int = 24) -> dict[str, Any]:
    """Precision and recall per category with their intervals, on a 0..1 axis."""
    label_w, axis = 220, width - 220 - 20
    items = []
    for i, a in enumerate(f.accuracy):
        for j, (name, e) in enumerate((("precision", a.precision), ("recall", a.recall))):
            if e.value is None:
                continue
            items.append({"label": f"{a.category} {name}", "y": (len(items)) * row, "x": label_w + axis * e.value,
                          "lo": label_w + axis * (e.low or 0), "hi": label_w + axis * (e.high or 0), "small": e.too_small,
                          "kind": name})
    return {"width": width, "height": row * len(items) + 24, "row": row, "label_w": label_w, "axis": axis, "items": items}


def to_html(f: Figures, *, form: bool = False) -> str:
    """The page; `form` adds the period form and the CSV link (the review workspace's page)."""
    return _env.get_template("dsa_report.html").render(
        f=f, form=form, rows=list(rows(f)), columns=COLUMNS, min_sample=MIN_SAMPLE, share=f.share_automated,
        by_category=bars(f.actions_by_category), by_type=bars(f.actions_by_type),
        notices=bars(f.notices_by_category), chart=intervals(f),
    )
