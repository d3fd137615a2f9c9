"""Notices (DSA Art. 16): someone reports an item the project already sent to tamis.

A report joins the item's open case (many reports of one item make one case, with a count), or
opens a case with source `user_report`, routed by the project's queue rules like any case. The
case's priority is the usual severity-and-score one (for the reporter's category when it is a tamis
category), raised for every report and most for trusted flaggers (Art. 22), not raised by reporters
whose earlier reports were repeatedly unfounded: the rule, in numbers, is below.
When a person decides the case, `services/redress.py` closes the reports and notifies the platform.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tamis.errors import ProblemError
from tamis.media.fetch import check_url, refusal
from tamis.services import cases
from tamis.store import queries
from tamis.store.models import Case, Decision, DecisionItem, Report, utcnow
from tamis.taxonomy import CATEGORIES, is_category

# Besides tamis's categories, a reporter may say the item is illegal on another ground (the law
# they name in the explanation: Art. 16(2)(a) notices are about illegal content, and not every law
# maps to a harm category), or against the platform's own terms.
EXTRA_CATEGORIES: tuple[str, ...] = ("illegal_content", "other")
REPORT_CATEGORIES: tuple[str, ...] = CATEGORIES + EXTRA_CATEGORIES
ANONYMOUS_ALLOWED = frozenset({"sexual/minors"})  # Art. 16(2)(c): no name or email needed for child sexual abuse

REPORT_BUMP = 20  # each report raises its case's priority (up to BUMPED_REPORTS reports) ...
BUMPED_REPORTS = 10
TRUSTED_BUMP = 300  # ... a trusted flagger's most: Art. 22 asks for their notices to go first
UNFOUNDED_PENALTY = 200  # a case opened by a deprioritised reporter starts this much lower
# A reporter (by the platform's reporter_ref) is deprioritised when, over the last year, at least
# UNFOUNDED_MIN of their decided reports were unfounded and they make UNFOUNDED_SHARE of them.
UNFOUNDED_MIN = 3
UNFOUNDED_SHARE = 0.75
LOOKBACK = timedelta(days=365)


class ReportError(Exception):
    def __init__(self, detail: str, field: str) -> None:
        super().__init__(detail)
        self.detail, self.field = detail, field


@dataclass(frozen=True)
class Notice:
    """A notice as received (already validated by the caller: lengths, URL, email)."""

    data_id: str
    category: str
    explanation: str
    location: str
    source: str  # api | form
    trusted_flagger: bool = False
    reporter_name: str | None = None
    reporter_email: str | None = None
    reporter_ref: str | None = None


MAX_LOCATION = 2048
# Names that never lead to a public page: a location must be where the public sees the item.
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".lan", ".intranet")


def check_location(url: str, field: str = "location") -> str:
    """The item's exact location: an http(s) URL of a public host. Checked, never fetched (tamis
    does not visit reported pages); a private address or a local name is refused."""
    if len(url) > MAX_LOCATION:
        raise ReportError(f"at most {MAX_LOCATION} characters", field)
    try:
        target = check_url(url, field)
    except ProblemError as error:
        raise ReportError(error.detail, field) from error
    host = target.host.strip("[]").lower().rstrip(".")
    try:
        why = refusal(ipaddress.ip_address(host))
    except ValueError:
        why = "local" if host == "localhost" or "." not in host or host.endswith(LOCAL_SUFFIXES) else None
    if why:
        raise ReportError(f"the location's host is a {why} address, not a public page", field)
    return url


def check_email(address: str, field: str = "reporter_email") -> str:
    """A well-formed address (syntax only: no DNS lookup, nothing is sent to it), normalised."""
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ReportError(f"not a valid email address: {error}", field) from error


def deprioritised(session: Session, project_id: str, reporter_ref: str | None, now: datetime | None = None) -> bool:
    """Whether this reporter's earlier reports were repeatedly unfounded (the rule above)."""
    if not reporter_ref:
        return False
    since = (now or utcnow()) - LOOKBACK
    rows = dict(session.execute(
        select(Report.outcome, func.count()).where(Report.project_id == project_id, Report.reporter_ref == reporter_ref,
                                                   Report.status == "decided", Report.decided_at >= since)
        .group_by(Report.outcome)
    ).all())
    unfounded, total = rows.get("unfounded", 0), sum(rows.values())
    return unfounded >= UNFOUNDED_MIN and unfounded >= UNFOUNDED_SHARE * total


def latest_item(session: Session, project_id: str, data_id: str) -> DecisionItem | None:
    """The item's most recent enforced (not shadow) decision in this project."""
    return session.scalar(
        select(DecisionItem).join(Decision, Decision.id == DecisionItem.decision_id)
        .where(DecisionItem.project_id == project_id, DecisionItem.data_id == data_id, Decision.shadow.is_(False))
        .order_by(Decision.created_at.desc(), DecisionItem.id.desc()).limit(1)
    )


def open_case_of(session: Session, project_id: str, data_id: str) -> Case | None:
    """The item's case still waiting for a person (appeals are cases of their own)."""
    return session.scalar(
        select(Case).where(Case.project_id == project_id, Case.data_id == data_id, Case.status != "decided",
                           Case.source != "appeal").order_by(Case.created_at.desc()).limit(1)
    )


def item_text(session: Session, project_id: str, data_id: str) -> str | None:
    """The item's text kept by an earlier case (decisions do not keep texts)."""
    return session.scalar(
        select(Case.text).where(Case.project_id == project_id, Case.data_id == data_id, Case.text.is_not(None))
        .order_by(Case.created_at.desc()).limit(1)
    )


def _score_of(result: dict[str, Any], category: str) -> tuple[str | None, float]:
    """The reported category and the item's score in it, else the item's top category."""
    scores = {c["name"]: float(c["score"]) for c in result.get("categories", [])}
    if is_category(category):
        return category, scores.get(category, 0.0)
    flagged = [c for c in result.get("categories", []) if c.get("flagged")] or result.get("categories", [])
    if not flagged:
        return None, 0.0
    best = max(flagged, key=lambda c: c["score"])
    return best["name"], float(best["score"])


def _open_case(session: Session, project_id: str, item: DecisionItem, notice: Notice, low: bool) -> Case:
    decision = session.get(Decision, item.decision_id)
    assert decision is not None
    result = decision.doc["results"][item.position]
    category, score = _score_of(result, notice.category)
    queue = cases.route(cases.queues(session, project_id), category=category, verdict=item.verdict, score=score,
                        source="user_report")
    bump = TRUSTED_BUMP if notice.trusted_flagger else (-UNFOUNDED_PENALTY if low else REPORT_BUMP)
    case = Case(project_id=project_id, decision_id=item.decision_id, position=item.position, data_id=item.data_id,
                author_id=item.author_id, text=item_text(session, project_id, item.data_id), queue_id=queue.id, status="open",
                verdict=item.verdict, category=category, score=score, source="user_report",
                priority=cases.priority(category, score) + bump, report_count=1)
    # Only the insert in the savepoint: on SQLite, a savepoint's earlier reads would pin a snapshot
    # that a concurrent first report's commit makes stale ("database is locked" instead of the
    # index's refusal).
    with session.begin_nested():
        session.add(case)
        session.flush()
    return case


def file_report(session: Session, project_id: str, notice: Notice) -> Report:
    """Record the notice on the item's case (opening one if none waits); in the caller's transaction."""
    item = latest_item(session, project_id, notice.data_id)
    if item is None:
        raise ReportError("this project has sent tamis no item with this data_id", "data_id")
    if notice.category not in REPORT_CATEGORIES:
        raise ReportError(f"unknown category; one of {', '.join(REPORT_CATEGORIES)}", "category")
    if notice.category not in ANONYMOUS_ALLOWED and not (notice.reporter_ref or (notice.reporter_name and notice.reporter_email)):
        # Art. 16(2)(c): a notice carries its reporter's name and email, except for child sexual abuse;
        # a platform reporting for its own signed-in user may name them by its reference instead.
        raise ReportError("name the reporter: reporter_ref, or reporter_name and reporter_email (only a "
                          "sexual/minors report may be anonymous)", "reporter_email")
    low = not notice.trusted_flagger and deprioritised(session, project_id, notice.reporter_ref)
    case = _case_for(session, project_id, item, notice, low)
    report = Report(project_id=project_id, case_id=case.id, data_id=notice.data_id, category=notice.category,
                    explanation=notice.explanation, location=notice.location, source=notice.source,
                    trusted_flagger=notice.trusted_flagger, good_faith=True, reporter_name=notice.reporter_name,
                    reporter_email=notice.reporter_email, reporter_ref=notice.reporter_ref, status="open")
    session.add(report)
    session.flush()
    return report


def _case_for(session: Session, project_id: str, item: DecisionItem, notice: Notice, low: bool) -> Case:
    """The item's waiting case, counting this report, or a new one. Two first reports arriving
    together both find none: the database's one-waiting-report-case index (ux_cases_open_report)
    refuses the second insert, which then joins the first's case."""
    case = open_case_of(session, project_id, notice.data_id)
    if case is None:
        try:
            return _open_case(session, project_id, item, notice, low)
        except IntegrityError:
            case = open_case_of(session, project_id, notice.data_id)
            if case is None:
                raise
    _join(session, case, notice, low)
    return case


def _join(session: Session, case: Case, notice: Notice, low: bool) -> None:
    bump = TRUSTED_BUMP if notice.trusted_flagger else 0 if low or case.report_count >= BUMPED_REPORTS else REPORT_BUMP
    if case.priority < 0 and not low:
        bump += cases.SAMPLED_PENALTY  # a sampled quality check someone reported is a real case now
    # One UPDATE, so concurrent reports of the same case all count.
    session.execute(update(Case).where(Case.id == case.id)
                    .values(report_count=Case.report_count + 1, priority=Case.priority + bump)
                    .execution_options(synchronize_session=False))
    session.refresh(case)


def get_report(session: Session, project_id: str, report_id: str) -> Report | None:
    return queries.owned(session, Report, project_id, report_id)


def list_reports(session: Session, project_id: str, **filters: Any) -> Sequence[Report]:
    """Newest first; filters: status, data_id, since, until, before (a report id), limit."""
    return queries.received_page(session, Report, project_id, **filters)


def reports_of(session: Session, case_id: str, limit: int = 200) -> list[Report]:
    return list(session.scalars(select(Report).where(Report.case_id == case_id).order_by(Report.received_at).limit(limit)))


def case_report_count(session: Session, case_id: str) -> int:
    return session.scalar(select(Case.report_count).where(Case.id == case_id)) or 0
