"""What follows a human decision under the EU DSA: closing the notices (reports) on the case and
the appeal it answers, and telling the platform (webhooks `report.decided`, `appeal.decided`) with
the redress options. Also the project's DSA settings (appeal window, out-of-court settlement text,
public form).

This module knows nothing of how cases are claimed or decided: `services/cases.py` calls it in the
decision's transaction, so a decision, the reports it closes and their webhooks commit together.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from tamis.store import queries
from tamis.store.models import Appeal, Case, CaseDecision, Delivery, DsaSettings, Report, Webhook, utcnow

DEFAULT_APPEAL_WINDOW_DAYS = 183  # DSA Art. 20(1): at least six months after the decision
MAX_APPEAL_WINDOW_DAYS = 3660
MAX_OUT_OF_COURT = 5000


class RedressError(Exception):
    """A refused action: `forbidden` (the first decider deciding the appeal), `invalid` input."""

    def __init__(self, kind: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.field = kind, detail, field


# --- settings ----------------------------------------------------------------------------------------


def settings(session: Session, project_id: str) -> DsaSettings:
    """The project's DSA settings (defaults when it has no row; not added to the session)."""
    row = session.get(DsaSettings, project_id)
    if row is None:
        return DsaSettings(project_id=project_id, appeal_window_days=DEFAULT_APPEAL_WINDOW_DAYS, out_of_court_info="",
                           public_form=False)
    return row


def update_settings(
    session: Session, project_id: str, *, appeal_window_days: int | None = None, out_of_court_info: str | None = None,
    public_form: bool | None = None,
) -> DsaSettings:
    if appeal_window_days is not None and not DEFAULT_APPEAL_WINDOW_DAYS <= appeal_window_days <= MAX_APPEAL_WINDOW_DAYS:
        # Art. 20(1) asks for at least six months; shorter is refused rather than quietly allowed.
        raise RedressError("invalid", f"the appeal window is {DEFAULT_APPEAL_WINDOW_DAYS} to {MAX_APPEAL_WINDOW_DAYS} days",
                           "appeal_window_days")
    if out_of_court_info is not None and (len(out_of_court_info) > MAX_OUT_OF_COURT or "\x00" in out_of_court_info):
        raise RedressError("invalid", f"at most {MAX_OUT_OF_COURT} characters, no NUL", "out_of_court_info")
    row = session.get(DsaSettings, project_id)
    if row is None:
        queries.ensure_project(session, project_id)
        row = settings(session, project_id)
        session.add(row)
    if appeal_window_days is not None:
        row.appeal_window_days = appeal_window_days
    if out_of_court_info is not None:
        row.out_of_court_info = out_of_court_info
    if public_form is not None:
        row.public_form = public_form
    row.updated_at = utcnow()
    session.flush()
    return row


def redress(session: Session, project_id: str, decided_at: datetime | None, *, appeal_open: bool = True) -> dict[str, Any]:
    """The redress options told with a decision: until when an appeal is accepted, and the
    out-of-court settlement bodies (DSA Art. 21), in the operator's words."""
    conf = settings(session, project_id)
    until = (decided_at + timedelta(days=conf.appeal_window_days)).isoformat() if decided_at and appeal_open else None
    return {"appeal_until": until, "appeal_window_days": conf.appeal_window_days if appeal_open else None,
            "out_of_court": conf.out_of_court_info, "judicial_redress": True}


# --- documents -------------------------------------------------------------------------------------


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def report_doc(report: Report, *, personal: bool = False) -> dict[str, Any]:
    """A notice as the API shows it. The reporter's name and email only with `personal` (the
    project's own key asking for one report); never in webhooks."""
    doc: dict[str, Any] = {
        "id": report.id, "project": report.project_id, "case_id": report.case_id, "data_id": report.data_id,
        "category": report.category, "explanation": report.explanation, "location": report.location, "source": report.source,
        "trusted_flagger": report.trusted_flagger, "good_faith": report.good_faith, "reporter_ref": report.reporter_ref,
        "status": report.status, "outcome": report.outcome, "review_id": report.review_id,
        "received_at": _iso(report.received_at), "decided_at": _iso(report.decided_at),
    }
    if personal:
        doc["reporter"] = {"name": report.reporter_name, "email": report.reporter_email, "purged": report.purged_at is not None}
    return doc


def appeal_doc(appeal: Appeal) -> dict[str, Any]:
    return {
        "id": appeal.id, "project": appeal.project_id, "case_id": appeal.case_id, "data_id": appeal.data_id,
        "appellant": appeal.appellant, "report_id": appeal.report_id, "reason": appeal.reason,
        "contested": {"decision_id": appeal.contested_decision_id, "case_id": appeal.contested_case_id,
                      "review_id": appeal.contested_review_id, "verdict": appeal.contested_verdict, "by": appeal.first_actor},
        "status": appeal.status, "outcome": appeal.outcome, "reversed": appeal.outcome == "reversed" if appeal.outcome else None,
        "reply": appeal.reply, "decided_by": appeal.decided_actor, "review_id": appeal.review_id,
        "received_at": _iso(appeal.received_at), "decided_at": _iso(appeal.decided_at),
    }


def _outbox(session: Session, case: Case, body: dict[str, Any], delay_s: float) -> list[Delivery]:
    """Every active webhook of the case's project gets these (whatever verdicts it follows: the
    platform must tell the reporter or appellant in every outcome)."""
    hooks = session.scalars(select(Webhook).where(Webhook.project_id == case.project_id, Webhook.active.is_(True))).all()
    raw = orjson.dumps(body).decode()
    deliveries = [Delivery(webhook_id=h.id, project_id=case.project_id, decision_id=case.decision_id, body=raw,
                           next_attempt_at=time.time() + delay_s) for h in hooks]
    session.add_all(deliveries)
    return deliveries


# --- after a human decision ------------------------------------------------------------------------


def check_decider(session: Session, case: Case, *, reviewer_id: str | None, actor: str) -> None:
    """An appeal is never decided by whoever decided the contested decision (DSA Art. 20(6) asks for
    a fresh human look). Called at claim time (through claim_next's filter) and again here, at decision."""
    if case.source != "appeal":
        return
    appeal = session.scalar(select(Appeal).where(Appeal.case_id == case.id))
    if appeal is None:
        return
    if (reviewer_id is not None and reviewer_id == appeal.first_reviewer_id) or (appeal.first_actor and actor == appeal.first_actor):
        raise RedressError("forbidden", f"{actor} decided the contested decision; another person must decide the appeal",
                           "reviewer")


def decided(session: Session, case: Case, record: CaseDecision, *, reply: str | None = None, delay_s: float = 0.0) -> None:
    """Close the case's open reports (founded when the item ends up blocked) and its appeal, and
    queue their webhooks (held back `delay_s`, a bulk action's undo window)."""
    founded = record.verdict == "block"
    now = record.created_at or utcnow()
    for report in session.scalars(select(Report).where(Report.case_id == case.id, Report.status == "open")).all():
        report.status, report.outcome, report.review_id, report.decided_at = "decided", "founded" if founded else "unfounded", record.id, now
        _outbox(session, case, {
            "type": "report.decided", "report": report_doc(report), "review_id": record.id,
            "decision": {"verdict": record.verdict, "category": record.category, "reason": record.reason},
            # A reporter may appeal a refused notice (Art. 20(1)); a founded one has nothing to contest.
            "redress": redress(session, case.project_id, now, appeal_open=not founded),
        }, delay_s)
    appeal = session.scalar(select(Appeal).where(Appeal.case_id == case.id, Appeal.status == "open"))
    if appeal is not None:
        appeal.status, appeal.outcome = "decided", "reversed" if record.action == "overturn" else "upheld"
        appeal.reply, appeal.review_id, appeal.decided_at = reply or record.note, record.id, now
        appeal.decided_by, appeal.decided_actor = record.reviewer_id, record.actor
        _outbox(session, case, {
            "type": "appeal.decided", "appeal": appeal_doc(appeal), "reversed": appeal.outcome == "reversed",
            "verdict": record.verdict, "review_id": record.id,
            "redress": redress(session, case.project_id, now, appeal_open=False),
        }, delay_s)
    session.flush()


def undone(session: Session, record: CaseDecision) -> None:
    """A bulk decision undone in time: its reports wait again (their webhooks never left; the
    caller cancels every pending delivery that names the decision)."""
    for report in session.scalars(select(Report).where(Report.review_id == record.id)).all():
        report.status, report.outcome, report.review_id, report.decided_at = "open", None, None, None
    for appeal in session.scalars(select(Appeal).where(Appeal.review_id == record.id)).all():
        appeal.status, appeal.outcome, appeal.reply, appeal.review_id, appeal.decided_at = "open", None, None, None, None
        appeal.decided_by = appeal.decided_actor = None
    _absorb_newer_report_case(session, record.case_id)


def _absorb_newer_report_case(session: Session, case_id: str) -> None:
    """The case about to wait again takes in the report case opened for its item since it was
    decided (reports, count), so that one waiting report case per item stays true
    (ux_cases_open_report)."""
    case = session.get(Case, case_id)
    if case is None or case.source != "user_report":
        return
    newer = session.scalar(select(Case).where(Case.project_id == case.project_id, Case.data_id == case.data_id,
                                              Case.source == "user_report", Case.status != "decided", Case.id != case.id))
    if newer is None:
        return
    for report in session.scalars(select(Report).where(Report.case_id == newer.id)).all():
        report.case_id = case.id
    case.report_count += newer.report_count
    session.flush()
    session.delete(newer)
    session.flush()  # before the caller reopens the case: the index sees one waiting case at a time
