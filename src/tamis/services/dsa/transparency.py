"""The transparency report's figures for a period (DSA Art. 15 and 24): notices, actions, appeals, and
the accuracy of the automated means per category, each estimate with its sample size and a Wilson
95 % interval.

Accuracy, per tamis category:
- precision: among automated flags (`review` and `block` verdicts) that people reviewed in the
  period (review cases and sampled blocks; not notices or appeals), the share they upheld;
- miss rate: among the random sample of `pass` verdicts sent to review for quality (the policy's
  `review_sampling`, stratified by score band, else TAMIS_REVIEW_SAMPLE_RATE), the share people
  decided to block in that category, each reviewed pass weighed by 1/p, the probability it was drawn
  with, and its interval a Wilson interval on the effective sample size (services/dsa/estimates.py);
- recall: estimated true positives (flags x precision) over those plus the estimated misses
  (passes x miss rate). Its interval combines the two Wilson intervals at their worst and best
  ends: wider than a joint 95 % interval, never narrower.
An estimate from fewer than MIN_SAMPLE reviews is shown with the warning "sample too small".
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tamis.services.dsa.estimates import MIN_SAMPLE, Estimate, Stratum, proportion, stratified_rate, wilson
from tamis.store.models import Appeal, Case, CaseDecision, Decision, DecisionItem, Report, Statement
from tamis.taxonomy import CATEGORIES

__all__ = ["MIN_SAMPLE", "Estimate", "Figures", "figures", "proportion", "wilson"]

NOTICE_SOURCES = ("user_report", "appeal")  # cases people opened, not automated flags


@dataclass(frozen=True)
class Accuracy:
    category: str
    flagged: int          # automated review/block verdicts in the category
    reviewed: int         # of those, reviewed by people
    upheld: int
    precision: Estimate
    missed: int           # sampled passes people blocked in the category (not weighted)
    miss_rate: Estimate   # over every sampled pass reviewed, weighted by stratum
    recall: Estimate


@dataclass(frozen=True)
class StratumSample:
    """The sample of passes drawn in one stratum (a score band at one inclusion probability)."""

    name: str
    p: float | None  # None: drawn before strata were recorded
    drawn: int
    reviewed: int


@dataclass
class Figures:
    project: str
    start: datetime
    end: datetime
    notices_by_category: Counter[str] = field(default_factory=Counter)
    notices_by_source: Counter[str] = field(default_factory=Counter)
    notices_trusted: int = 0
    notices_decided: int = 0
    notice_median_hours: float | None = None
    notices_available: bool = True  # False where this build has no notices (their tables absent)
    actions: int = 0
    actions_by_ground: Counter[str] = field(default_factory=Counter)
    actions_by_type: Counter[str] = field(default_factory=Counter)
    actions_by_category: Counter[str] = field(default_factory=Counter)
    actions_by_automation: Counter[str] = field(default_factory=Counter)
    actions_by_source: Counter[str] = field(default_factory=Counter)
    restorations: int = 0
    appeals_received: int = 0
    appeals_decided: int = 0
    appeals_reversed: int = 0
    appeal_median_hours: float | None = None
    appeals_available: bool = True
    decisions: int = 0           # automated item verdicts in the period
    passes: int = 0
    pass_samples_reviewed: int = 0
    pass_strata: list[StratumSample] = field(default_factory=list)
    accuracy: list[Accuracy] = field(default_factory=list)

    @property
    def share_automated(self) -> float | None:
        return self.actions_by_automation["AUTOMATED_DECISION_FULLY"] / self.actions if self.actions else None


def _hours(pairs: list[tuple[datetime, datetime]]) -> float | None:
    return statistics.median((b - a).total_seconds() / 3600 for a, b in pairs) if pairs else None


def _in(column: Any, start: datetime, end: datetime) -> Any:
    return (column >= start) & (column < end)


def _actions(session: Session, figures: Figures) -> None:
    rows = session.scalars(select(Statement).where(Statement.project_id == figures.project, Statement.withdrawn_at.is_(None),
                                                   _in(Statement.created_at, figures.start, figures.end)))
    for row in rows:
        body = row.body
        if row.kind == "restore":
            figures.restorations += 1
            continue
        figures.actions += 1
        figures.actions_by_ground[body["decision_ground"]] += 1
        for value in body.get("decision_visibility", []):
            figures.actions_by_type[value] += 1
        for key in ("decision_monetary", "decision_provision", "decision_account"):
            if key in body:
                figures.actions_by_type[body[key]] += 1
        figures.actions_by_category[body["category"]] += 1
        figures.actions_by_automation[body["automated_decision"]] += 1
        figures.actions_by_source[body["source_type"]] += 1


def _notices(session: Session, figures: Figures) -> None:
    report = Report
    rows = session.execute(select(report.category, report.source, report.trusted_flagger, report.received_at, report.decided_at)
                           .where(report.project_id == figures.project, _in(report.received_at, figures.start, figures.end))).all()
    for category, source, trusted, _, _ in rows:
        figures.notices_by_category[category] += 1
        figures.notices_by_source[source] += 1
        figures.notices_trusted += bool(trusted)
    acted = [(received, decided) for *_, received, decided in rows if decided is not None]
    figures.notices_decided = len(acted)
    figures.notice_median_hours = _hours(acted)


def _appeals(session: Session, figures: Figures) -> None:
    appeal = Appeal
    figures.appeals_received = session.scalar(select(func.count()).select_from(appeal).where(
        appeal.project_id == figures.project, _in(appeal.received_at, figures.start, figures.end))) or 0
    decided = session.execute(select(appeal.received_at, appeal.decided_at, appeal.outcome).where(
        appeal.project_id == figures.project, appeal.decided_at.is_not(None), _in(appeal.decided_at, figures.start, figures.end))).all()
    figures.appeals_decided = len(decided)
    figures.appeals_reversed = sum(1 for *_, outcome in decided if outcome == "reversed")
    figures.appeal_median_hours = _hours([(r, d) for r, d, _ in decided])


def _first_decisions(session: Session, project: str, start: datetime, end: datetime) -> list[tuple[Case, CaseDecision]]:
    """People's decisions in the period on automatically opened cases (the first one per case, undone ones left out)."""
    rows = session.execute(
        select(Case, CaseDecision).join(CaseDecision, CaseDecision.case_id == Case.id)
        .where(Case.project_id == project, CaseDecision.undone_at.is_(None), Case.source.not_in(NOTICE_SOURCES),
               _in(CaseDecision.created_at, start, end))
        .order_by(CaseDecision.created_at)
    ).all()
    first: dict[str, tuple[Case, CaseDecision]] = {}
    for case, record in rows:
        first.setdefault(case.id, (case, record))
    return list(first.values())


def _accuracy(session: Session, figures: Figures) -> None:
    project, start, end = figures.project, figures.start, figures.end
    verdicts = dict(session.execute(
        select(DecisionItem.verdict, func.count()).join(Decision, Decision.id == DecisionItem.decision_id)
        .where(Decision.project_id == project, Decision.shadow.is_(False), _in(Decision.created_at, start, end))
        .group_by(DecisionItem.verdict)).all())
    figures.decisions, figures.passes = sum(verdicts.values()), verdicts.get("pass", 0)
    flagged: Counter[str] = Counter()
    for (category,) in session.execute(select(Case.category).where(
            Case.project_id == project, Case.verdict == "review", Case.source.not_in(NOTICE_SOURCES), _in(Case.created_at, start, end))):
        flagged[category or "unknown"] += 1
    for (category,) in session.execute(select(Statement.category).where(
            Statement.project_id == project, Statement.kind == "automated", _in(Statement.created_at, start, end))):
        flagged[category or "unknown"] += 1
    reviewed: Counter[str] = Counter()
    upheld: Counter[str] = Counter()
    for case, record in _first_decisions(session, project, start, end):
        if case.verdict != "pass":
            reviewed[case.category or "unknown"] += 1
            upheld[case.category or "unknown"] += record.action == "uphold"
    strata, missed = _pass_samples(session, project, start, end)
    figures.pass_samples_reviewed = sum(tally["reviewed"] for tally in strata.values())
    figures.pass_strata = [StratumSample(name, p, t["drawn"], t["reviewed"])
                           for (name, p), t in sorted(strata.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0.0))]
    seen = set(flagged) | set(reviewed) | set(missed)
    for category in sorted(seen, key=lambda c: CATEGORIES.index(c) if c in CATEGORIES else len(CATEGORIES)):
        precision = proportion(upheld[category], reviewed[category])
        restricted = missed.get(category, Counter())
        tallies = [Stratum(key[1], t["drawn"], t["reviewed"], restricted[key]) for key, t in strata.items()]
        miss_rate = stratified_rate(tallies, figures.passes)
        figures.accuracy.append(Accuracy(category, flagged[category], reviewed[category], upheld[category], precision,
                                         sum(restricted.values()), miss_rate,
                                         _recall(flagged[category], figures.passes, precision, miss_rate)))


StratumKey = tuple[str, float | None]


def _pass_samples(session: Session, project: str, start: datetime, end: datetime
                  ) -> tuple[dict[StratumKey, Counter[str]], dict[str, Counter[StratumKey]]]:
    """The period's sampled passes by stratum (its name and probability: rates may change within a
    period): drawn and reviewed counts, and per category the reviewed ones people restricted."""
    cases = session.execute(select(Case.id, Case.stratum, Case.inclusion_p).where(
        Case.project_id == project, Case.verdict == "pass", Case.source.not_in(NOTICE_SOURCES), _in(Case.created_at, start, end)
    )).all()
    people = session.execute(
        select(CaseDecision.case_id, CaseDecision.verdict, CaseDecision.category, Case.category)
        .join(Case, Case.id == CaseDecision.case_id)
        .where(Case.project_id == project, Case.verdict == "pass", Case.source.not_in(NOTICE_SOURCES),
               _in(Case.created_at, start, end), CaseDecision.undone_at.is_(None))
        .order_by(CaseDecision.created_at)
    ).all()
    first: dict[str, tuple[str, str]] = {}
    for case_id, verdict, category, case_category in people:
        first.setdefault(case_id, (verdict, category or case_category or "unknown"))
    strata: dict[StratumKey, Counter[str]] = {}
    missed: dict[str, Counter[StratumKey]] = {}
    for case_id, stratum, p in cases:
        key = (stratum or "unrecorded", p)
        tally = strata.setdefault(key, Counter())
        tally["drawn"] += 1
        if case_id in first:
            tally["reviewed"] += 1
            verdict, category = first[case_id]
            if verdict == "block":
                missed.setdefault(category, Counter())[key] += 1
    return strata, missed


def _recall(flagged: int, passes: int, precision: Estimate, miss_rate: Estimate) -> Estimate:
    if precision.value is None or miss_rate.value is None:
        return Estimate(None, None, None, min(precision.n, miss_rate.n))

    def ratio(p: float, m: float) -> float | None:
        true, missed = flagged * p, passes * m
        return true / (true + missed) if true + missed > 0 else None

    value = ratio(precision.value, miss_rate.value)
    low = ratio(precision.low or 0.0, miss_rate.high or 0.0)
    high = ratio(precision.high or 0.0, miss_rate.low or 0.0)
    return Estimate(value, low if low is not None else 0.0, high if high is not None else 1.0, min(precision.n, miss_rate.n))


def figures(session: Session, project: str, start: datetime, end: datetime) -> Figures:
    """Every figure of the report for [start, end)."""
    result = Figures(project, start, end)
    _notices(session, result)
    _actions(session, result)
    _appeals(session, result)
    _accuracy(session, result)
    return result
