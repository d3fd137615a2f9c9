"""Appeals (internal complaint handling, DSA Art. 20): the affected user contests a restriction, or
a reporter contests the refusal of their notice, within the project's appeal window (183 days by
default) after the decision.

An appeal becomes a case (source `appeal`) in the project's `appeals` queue, made on first need.
Its verdict is the contested one, so upholding keeps it and overturning reverses it. A person other
than the one who decided first must decide it, with a reasoned reply (`services/cases.py: decide`
and `claim_next` enforce it; bulk actions leave appeals alone). `services/redress.py` closes the
appeal and sends `appeal.decided`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tamis.services import cases, redress
from tamis.services.reports import get_report, item_text, latest_item, reports_of
from tamis.store import queries
from tamis.store.models import Appeal, Case, CaseDecision, Decision, ReviewQueue, utcnow

APPEALS_QUEUE = "appeals"
APPEAL_BOOST = 500  # within the appeals queue, severity still orders; this keeps them above sampled cases

Appellant = Literal["affected_user", "reporter"]


class AppealError(Exception):
    """`invalid` (422) or `conflict` (409), naming the field at fault."""

    def __init__(self, kind: Literal["invalid", "conflict"], detail: str, field: str) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.field = kind, detail, field


@dataclass(frozen=True)
class Contested:
    """The decision an appeal is against."""

    decision_id: str
    position: int
    verdict: str
    decided_at: datetime
    case: Case | None = None
    review: CaseDecision | None = None


def appeals_queue(session: Session, project_id: str) -> ReviewQueue:
    existing = next((q for q in cases.queues(session, project_id) if q.name == APPEALS_QUEUE), None)
    return existing or cases.create_queue(session, project_id, APPEALS_QUEUE, {"sources": ["appeal"]})


def _latest_review(session: Session, project_id: str, data_id: str) -> tuple[Case, CaseDecision] | None:
    row = session.execute(
        select(Case, CaseDecision).join(CaseDecision, CaseDecision.case_id == Case.id)
        .where(Case.project_id == project_id, Case.data_id == data_id, CaseDecision.undone_at.is_(None))
        .order_by(CaseDecision.created_at.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def _against_restriction(session: Session, project_id: str, data_id: str) -> Contested:
    """The item's latest decision, which must restrict it (a person's, else the automated one)."""
    item = latest_item(session, project_id, data_id)
    if item is None:
        raise AppealError("invalid", "this project has sent tamis no item with this data_id", "data_id")
    decision = session.get(Decision, item.decision_id)
    assert decision is not None
    contested = Contested(item.decision_id, item.position, item.verdict, decision.created_at)
    human = _latest_review(session, project_id, data_id)
    if human is not None and human[1].created_at >= decision.created_at:
        case, review = human
        if case.source == "appeal":
            raise AppealError("conflict", "this item's decision was already reviewed on appeal; out-of-court settlement "
                                          "and the courts remain open", "data_id")
        contested = Contested(case.decision_id, case.position, review.verdict, review.created_at, case, review)
    if contested.verdict == "review":
        raise AppealError("conflict", "the item is waiting for review; appeal once it is decided", "data_id")
    if contested.verdict != "block":
        raise AppealError("conflict", "the item's latest decision did not restrict it: nothing to appeal", "data_id")
    return contested


def _against_refusal(session: Session, project_id: str, report_id: str) -> tuple[Contested, str]:
    report = get_report(session, project_id, report_id)
    if report is None:
        raise AppealError("invalid", "this project has no report with this id", "report_id")
    if report.status != "decided" or report.outcome != "unfounded" or report.review_id is None or report.decided_at is None:
        raise AppealError("conflict", "only a refused (unfounded) notice can be appealed by its reporter", "report_id")
    review = session.get(CaseDecision, report.review_id)
    case = session.get(Case, report.case_id)
    assert review is not None and case is not None
    return Contested(case.decision_id, case.position, review.verdict, report.decided_at, case, review), report.data_id


def file_appeal(
    session: Session, project_id: str, *, appellant: Appellant, reason: str, data_id: str | None = None,
    report_id: str | None = None, now: datetime | None = None,
) -> Appeal:
    """Record the appeal and open its case, in the caller's transaction; refused outside the window."""
    now = now or utcnow()
    if appellant == "reporter":
        if not report_id:
            raise AppealError("invalid", "a reporter's appeal names the refused report", "report_id")
        contested, data_id = _against_refusal(session, project_id, report_id)
        duplicate = select(Appeal.id).where(Appeal.project_id == project_id, Appeal.report_id == report_id)
        field = "report_id"
    else:
        if not data_id:
            raise AppealError("invalid", "an affected user's appeal names the item", "data_id")
        contested = _against_restriction(session, project_id, data_id)
        duplicate = select(Appeal.id).where(Appeal.project_id == project_id, Appeal.data_id == data_id,
                                            Appeal.appellant == "affected_user", Appeal.status == "open")
        field = "data_id"
    window = redress.settings(session, project_id).appeal_window_days
    closed = contested.decided_at + timedelta(days=window)
    if now > closed:
        raise AppealError("invalid", f"the decision was made on {contested.decided_at.date().isoformat()}; appeals close "
                                     f"{window} days later ({closed.date().isoformat()})", field)
    if session.scalar(duplicate.limit(1)) is not None:
        raise AppealError("conflict", "an appeal against this decision is already filed", field)
    first = contested.review
    base = contested.case
    case = Case(project_id=project_id, decision_id=contested.decision_id, position=contested.position, data_id=data_id,
                author_id=base.author_id if base else latest_item(session, project_id, data_id).author_id,  # type: ignore[union-attr]
                text=item_text(session, project_id, data_id), queue_id=appeals_queue(session, project_id).id, status="open",
                verdict=contested.verdict, category=(first.category or base.category) if first and base else None,
                score=base.score if base else 0.0, source="appeal",
                priority=cases.priority(base.category if base else None, base.score if base else 0.0) + APPEAL_BOOST)
    session.add(case)
    session.flush()
    appeal = Appeal(project_id=project_id, case_id=case.id, data_id=data_id, contested_decision_id=contested.decision_id,
                    contested_case_id=base.id if base else None, contested_review_id=first.id if first else None,
                    contested_verdict=contested.verdict, report_id=report_id if appellant == "reporter" else None,
                    appellant=appellant, reason=reason, first_reviewer_id=first.reviewer_id if first else None,
                    first_actor=first.actor if first else None, status="open", received_at=now)
    session.add(appeal)
    session.flush()
    return appeal


def get_appeal(session: Session, project_id: str, appeal_id: str) -> Appeal | None:
    return queries.owned(session, Appeal, project_id, appeal_id)


def list_appeals(session: Session, project_id: str, **filters: Any) -> Sequence[Appeal]:
    """Newest first; filters: status, data_id, since, until, before (an appeal id), limit."""
    return queries.received_page(session, Appeal, project_id, **filters)


def appeal_of_case(session: Session, case_id: str) -> Appeal | None:
    return session.scalar(select(Appeal).where(Appeal.case_id == case_id))


def case_context(session: Session, case: Case, *, personal: bool) -> dict[str, Any] | None:
    """What the review screen shows of notices and appeals on a case: its reports (with the
    reporters' identity only when `personal`), and for an appeal's case the contested decision,
    who made it, and the appeal's text. None when the case has neither."""
    from_reports = reports_of(session, case.id)
    appeal = appeal_of_case(session, case.id) if case.source == "appeal" else None
    if not from_reports and appeal is None:
        return None
    context: dict[str, Any] = {"report_count": case.report_count, "appeal": None,
                               "reports": [redress.report_doc(r, personal=personal) for r in from_reports]}
    if appeal is not None:
        first = session.get(CaseDecision, appeal.contested_review_id) if appeal.contested_review_id else None
        refused = get_report(session, case.project_id, appeal.report_id) if appeal.report_id else None
        context["appeal"] = {
            **redress.appeal_doc(appeal),
            "first": {"by": first.actor, "action": first.action, "verdict": first.verdict, "category": first.category,
                      "reason": first.reason, "note": first.note, "at": first.created_at.isoformat()} if first else None,
            "refused_report": redress.report_doc(refused, personal=personal) if refused else None,
        }
    return context
