"""Cases: the items people review. Routing to queues, claiming with a lease, and human decisions.

Every item an enforced policy sends to `review` becomes a case in the first of its project's queues
whose rules match (else the project's `default` queue). A reviewer claims the next case of a queue:
a conditional UPDATE that succeeds only while the case is still free (open, or its lease ended), so
two reviewers never hold the same case; a reviewer who walks away lets it go when the lease ends.

A human decision is recorded beside the automated one (never replacing it) and announced to the
project's webhooks as `{"type": "review", ...}` through the same outbox as decisions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tamis.schema import DecisionDoc, Item, ItemResult
from tamis.services import redress, sampling
from tamis.services.dsa import statements
from tamis.services.reviewers import at_least
from tamis.store import queries
from tamis.store.models import new_id
from tamis.store.models import Appeal, Case, CaseDecision, Decision, DecisionItem, Delivery, Reviewer, ReviewQueue, Webhook, utcnow

SAMPLED_PENALTY = 10_000
LEASE_S = 600.0  # a claimed case goes back to its queue after 10 minutes without a decision
STATUSES = ("open", "claimed", "on_hold", "escalated", "decided")
Action = Literal["uphold", "overturn"]
RULE_KEYS = frozenset({"categories", "verdicts", "min_score", "max_score", "sources"})

# Severity of a category, for a case's priority: harm to a person first, nuisance last.
SEVERITY: dict[str, int] = {
    "sexual/minors": 10, "self-harm/intent": 9, "self-harm/instructions": 9, "violence/graphic": 8,
    "hate/threatening": 8, "harassment/threatening": 8, "illicit/violent": 8, "self-harm": 7, "extremism": 7,
    "violence": 6, "sexual": 5, "hate": 5, "harassment": 4, "illicit": 4, "scam": 4, "spam": 1, "profanity": 1,
}


class CaseError(Exception):
    """A refused case action: `conflict` when someone else holds or decided it, `invalid` for bad input."""

    def __init__(self, kind: Literal["conflict", "invalid", "not_found", "forbidden"], detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.field = kind, detail, field


# --- queues and routing ----------------------------------------------------------------------------


def check_rules(rules: dict[str, Any]) -> dict[str, Any]:
    """Routing rules, checked: unknown keys, wrong types and empty ranges are refused."""
    unknown = set(rules) - RULE_KEYS
    if unknown:
        raise CaseError("invalid", f"unknown rule {sorted(unknown)[0]!r}; rules are {', '.join(sorted(RULE_KEYS))}", "rules")
    for key in ("categories", "verdicts", "sources"):
        value = rules.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > 50):
            raise CaseError("invalid", f"{key} must be a list of at most 50 names", f"rules.{key}")
    for key in ("min_score", "max_score"):
        value = rules.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1):
            raise CaseError("invalid", f"{key} must be a number in [0, 1]", f"rules.{key}")
    if rules.get("min_score", 0) > rules.get("max_score", 1):
        raise CaseError("invalid", "min_score is above max_score", "rules.min_score")
    return rules


def queues(session: Session, project_id: str) -> list[ReviewQueue]:
    """The project's queues in routing order; the default queue is made on first need."""
    rows = list(session.scalars(select(ReviewQueue).where(ReviewQueue.project_id == project_id).order_by(ReviewQueue.position, ReviewQueue.created_at)))
    if not any(q.is_default for q in rows):
        try:
            with session.begin_nested():  # another process may open the project's first case at the same moment
                default = ReviewQueue(project_id=project_id, name="default", rules={}, position=1_000_000, is_default=True)
                session.add(default)
                session.flush()
            rows.append(default)
        except IntegrityError:
            return queues(session, project_id)
    return rows


def create_queue(session: Session, project_id: str, name: str, rules: dict[str, Any], position: int = 0) -> ReviewQueue:
    if not name or len(name) > 64:
        raise CaseError("invalid", "a queue name has 1-64 characters", "name")
    queries.ensure_project(session, project_id)
    existing = queues(session, project_id)
    if any(q.name == name for q in existing):
        raise CaseError("conflict", f"queue {name!r} exists", "name")
    queue = ReviewQueue(project_id=project_id, name=name, rules=check_rules(rules), position=position)
    session.add(queue)
    session.flush()
    return queue


def get_queue(session: Session, project_id: str, queue_id: str) -> ReviewQueue | None:
    queue = session.get(ReviewQueue, queue_id)
    return queue if queue is not None and queue.project_id == project_id else None


def matches(rules: dict[str, Any], *, category: str | None, verdict: str, score: float, source: str) -> bool:
    if rules.get("categories") and category not in rules["categories"]:
        return False
    if rules.get("verdicts") and verdict not in rules["verdicts"]:
        return False
    if rules.get("sources") and source not in rules["sources"]:
        return False
    return rules.get("min_score", 0.0) <= score <= rules.get("max_score", 1.0)


def route(candidates: Sequence[ReviewQueue], **case: Any) -> ReviewQueue:
    """The first non-default queue whose rules match, else the default queue."""
    for queue in candidates:
        if not queue.is_default and matches(queue.rules, **case):
            return queue
    return next(q for q in candidates if q.is_default)


# --- opening cases -------------------------------------------------------------------------------


def top_category(result: ItemResult) -> tuple[str | None, float]:
    """The category that weighs most on the verdict: the highest flagged one, else the highest."""
    flagged = [c for c in result.categories if c.flagged] or list(result.categories)
    if not flagged:
        return None, 0.0
    best = max(flagged, key=lambda c: c.score)
    return best.name, best.score


def priority(category: str | None, score: float) -> int:
    """Severity first, then score; cases of equal priority are taken oldest first."""
    return SEVERITY.get(category or "", 2) * 100 + round(score * 99)


def open_cases(session: Session, doc: DecisionDoc, *, source: str, items: Sequence[Item] = ()) -> list[Case]:
    """A case for every item the decision sends to review, and for a sample of the others (the
    policy's review_sampling, else TAMIS_REVIEW_SAMPLE_RATE, recording each sample's stratum and
    inclusion probability), in the caller's transaction."""
    plan = sampling.plan(session, doc)
    review: list[tuple[int, ItemResult, tuple[str, float] | None]] = []
    for i, result in enumerate(doc.results):
        drawn = plan.draw(result.verdict, top_category(result)[1]) if plan is not None else None
        if result.verdict == "review" or drawn is not None:
            review.append((i, result, drawn))
    if not review:
        return []
    candidates = queues(session, doc.project)
    given = dict(enumerate(items))
    cases = []
    for position, result, drawn in review:
        category, score = top_category(result)
        queue = route(candidates, category=category, verdict=result.verdict, score=score, source=source)
        cases.append(
            Case(project_id=doc.project, decision_id=doc.id, position=position, data_id=result.data_id,
                 author_id=given[position].author_id if position in given else None,
                 text=given[position].text if position in given else None, queue_id=queue.id, status="open", verdict=result.verdict,
                 category=category, score=score, source=source, stratum=drawn[0] if drawn else None,
                 inclusion_p=drawn[1] if drawn else None,
                 # A sampled pass/block (a quality check) waits behind every real review case.
                 priority=priority(category, score) - (SAMPLED_PENALTY if result.verdict != "review" else 0))
        )
    session.add_all(cases)
    session.flush()
    return cases


# --- claiming ------------------------------------------------------------------------------------


def _free(now: float) -> Any:
    return or_(Case.status == "open", and_(Case.status == "claimed", Case.lease_expires_at < now))


def _claimable(reviewer_id: str, role: str | None, now: float) -> Any:
    """Cases this reviewer may take: open ones they did not skip, expired claims, and escalated
    ones if they are a moderator (or the person it was escalated to)."""
    may_escalated = True if at_least(role, "moderator") else Case.escalated_to == reviewer_id
    # An appeal is never offered to whoever decided the contested decision (DSA Art. 20).
    not_first = or_(Case.source != "appeal", Case.id.not_in(select(Appeal.case_id).where(Appeal.first_reviewer_id == reviewer_id)))
    not_skipped = or_(Case.skipped_by.is_(None), Case.skipped_by != reviewer_id)
    return and_(or_(
        and_(_free(now), Case.escalated.is_(False), not_skipped),
        and_(or_(_free(now), Case.status == "escalated"), Case.escalated.is_(True), may_escalated, not_skipped),
    ), not_first)


def _candidates(session: Session, project_id: str, queue_id: str, reviewer_id: str, role: str | None, now: float, n: int = 8) -> list[str]:
    """The n most urgent cases this reviewer may take. One query per status, each a walk of
    ix_cases_next in its order (an OR across statuses would sort the whole queue), merged here."""
    rows: list[Any] = []
    for status in ("open", "claimed", "escalated"):
        query = (
            select(Case.id, Case.priority, Case.created_at)
            .where(Case.queue_id == queue_id, Case.status == status, Case.project_id == project_id,
                   _claimable(reviewer_id, role, now))
            .order_by(Case.priority.desc(), Case.created_at).limit(n)
        )
        rows += session.execute(query).all()
    rows.sort(key=lambda r: (-r.priority, r.created_at, r.id))
    return [r.id for r in rows[:n]]


def held_by(session: Session, project_id: str, queue_id: str, reviewer_id: str, now: float) -> Case | None:
    """The case this reviewer already holds in the queue (a reload must not claim a second one)."""
    return session.scalar(
        select(Case).where(Case.project_id == project_id, Case.queue_id == queue_id, Case.status == "claimed",
                           Case.claimed_by == reviewer_id, Case.lease_expires_at >= now)
        .order_by(Case.created_at).limit(1)
    )


def claim_next(
    session: Session, project_id: str, queue_id: str, reviewer_id: str, role: str | None, *, lease_s: float = LEASE_S, now: float | None = None
) -> Case | None:
    """Lease the most urgent free case of the queue to the reviewer; None when nothing is free.

    Candidates are read without locks, then each is taken by an UPDATE whose WHERE repeats the
    "still free" test: the database applies it atomically (PostgreSQL re-checks it after waiting on
    a concurrent claimer's row lock; SQLite runs one writer at a time), so a rowcount of 1 means this
    reviewer, and nobody else, holds the case.
    """
    now = time.time() if now is None else now
    mine = held_by(session, project_id, queue_id, reviewer_id, now)
    if mine is not None:
        return mine
    claimable = _claimable(reviewer_id, role, now)
    for _ in range(5):  # each round tries a few candidates; others may take them first
        ids = _candidates(session, project_id, queue_id, reviewer_id, role, now)
        if not ids:
            return None
        for case_id in ids:
            taken = session.execute(
                update(Case).where(Case.id == case_id, claimable)
                .values(status="claimed", claimed_by=reviewer_id, lease_expires_at=now + lease_s)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:
                case = session.get(Case, case_id, populate_existing=True)
                return case
    return None


def _resting(case: Case) -> str:
    return "escalated" if case.escalated else "open"


def _held(session: Session, project_id: str, case_id: str, reviewer_id: str) -> Case:
    case = get_case(session, project_id, case_id)
    if case is None:
        raise CaseError("not_found", f"case {case_id}")
    if case.status != "claimed" or case.claimed_by != reviewer_id:
        raise CaseError("conflict", "this case is not claimed by you (its lease may have ended and someone else taken it)")
    return case


def skip(session: Session, project_id: str, case_id: str, reviewer_id: str) -> Case:
    """Back to the queue for someone else: not offered again to this reviewer."""
    case = _held(session, project_id, case_id, reviewer_id)
    case.status, case.claimed_by, case.lease_expires_at, case.skipped_by = _resting(case), None, None, reviewer_id
    return case


def hold(session: Session, project_id: str, case_id: str, reviewer_id: str) -> Case:
    """Set aside (waiting for information); a moderator puts it back with `resume`."""
    case = _held(session, project_id, case_id, reviewer_id)
    case.status, case.claimed_by, case.lease_expires_at = "on_hold", None, None
    return case


def resume(session: Session, project_id: str, case_id: str) -> Case:
    case = get_case(session, project_id, case_id)
    if case is None:
        raise CaseError("not_found", f"case {case_id}")
    if case.status != "on_hold":
        raise CaseError("conflict", "only a case on hold can be resumed")
    case.status = _resting(case)
    return case


def escalate(
    session: Session, project_id: str, case_id: str, reviewer_id: str, *, queue_id: str | None = None, to_reviewer: str | None = None
) -> Case:
    """To moderators (of another queue, or of this one), or to one person."""
    case = _held(session, project_id, case_id, reviewer_id)
    if queue_id is not None:
        if get_queue(session, project_id, queue_id) is None:
            raise CaseError("invalid", f"queue {queue_id} does not exist in this project", "queue")
        case.queue_id = queue_id
    case.escalated, case.escalated_to = True, to_reviewer
    case.status, case.claimed_by, case.lease_expires_at = "escalated", None, None
    return case


def release_expired(session: Session, project_id: str, now: float | None = None) -> int:
    """Claims whose lease ended go back to their queue (claim_next takes them anyway; this keeps
    the counts and the case list true)."""
    now = time.time() if now is None else now
    freed = 0
    for resting, escalated in (("open", False), ("escalated", True)):
        freed += session.execute(
            update(Case).where(Case.project_id == project_id, Case.status == "claimed", Case.lease_expires_at < now,
                               Case.escalated.is_(escalated))
            .values(status=resting, claimed_by=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
    return freed


# --- reading -------------------------------------------------------------------------------------


def get_case(session: Session, project_id: str, case_id: str) -> Case | None:
    case = session.get(Case, case_id) if "\x00" not in case_id else None
    return case if case is not None and case.project_id == project_id else None


def list_cases(
    session: Session, project_id: str, *, queue_id: str | None = None, status: str | None = None,
    data_id: str | None = None, before: str | None = None, limit: int = 50,
) -> Sequence[Case]:
    """Newest first; `before` is a case id (ids sort by time) for paging."""
    query = select(Case).where(Case.project_id == project_id)
    if queue_id is not None:
        query = query.where(Case.queue_id == queue_id)
    if status is not None:
        query = query.where(Case.status == status)
    if data_id is not None:
        query = query.where(Case.data_id == data_id)
    if before is not None:
        query = query.where(Case.id < before)
    return session.scalars(query.order_by(Case.id.desc()).limit(limit)).all()


@dataclass(frozen=True)
class QueueStats:
    queue: ReviewQueue
    open: int
    claimed: int
    on_hold: int
    escalated: int
    oldest: datetime | None  # the oldest case waiting (open or escalated)


def queue_stats(session: Session, project_id: str) -> list[QueueStats]:
    release_expired(session, project_id)
    counts = session.execute(
        select(Case.queue_id, Case.status, func.count(), func.min(Case.created_at))
        .where(Case.project_id == project_id, Case.status != "decided")
        .group_by(Case.queue_id, Case.status)
    ).all()
    by_queue: dict[str, dict[str, tuple[int, datetime | None]]] = {}
    for queue_id, status, n, oldest in counts:
        by_queue.setdefault(queue_id, {})[status] = (n, oldest)
    stats = []
    for queue in queues(session, project_id):
        seen = by_queue.get(queue.id, {})
        waiting = [seen[s][1] for s in ("open", "escalated") if s in seen and seen[s][1] is not None]
        stats.append(QueueStats(queue, *(seen.get(s, (0, None))[0] for s in ("open", "claimed", "on_hold", "escalated")),
                                min(waiting) if waiting else None))
    return stats


@dataclass(frozen=True)
class Agreement:
    """People against the automated verdicts of one queue and category: where thresholds should move."""

    queue: str
    category: str | None
    upheld: int
    overturned: int

    @property
    def overturn_rate(self) -> float:
        return self.overturned / (self.upheld + self.overturned) if self.upheld + self.overturned else 0.0


def agreement(session: Session, project_id: str) -> list[Agreement]:
    """Upheld and overturned decisions per queue and category (the case's top category)."""
    rows = session.execute(
        select(ReviewQueue.name, Case.category, CaseDecision.action, func.count())
        .join(Case, Case.id == CaseDecision.case_id).join(ReviewQueue, ReviewQueue.id == Case.queue_id)
        .where(CaseDecision.project_id == project_id, CaseDecision.undone_at.is_(None))
        .group_by(ReviewQueue.name, Case.category, CaseDecision.action)
    ).all()
    counts: dict[tuple[str, str | None], dict[str, int]] = {}
    for queue, category, action, n in rows:
        counts.setdefault((queue, category), {})[action] = n
    return [Agreement(q, c, n.get("uphold", 0), n.get("overturn", 0)) for (q, c), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))]


def automated(session: Session, case: Case) -> tuple[Decision, dict[str, Any]]:
    """The automated decision and the case's item result in it."""
    decision = session.get(Decision, case.decision_id)
    assert decision is not None  # a case's decision is never deleted (decisions are append-only)
    return decision, decision.doc["results"][case.position]


def item_meta(session: Session, case: Case) -> DecisionItem | None:
    return session.scalar(
        select(DecisionItem).where(DecisionItem.decision_id == case.decision_id, DecisionItem.position == case.position)
    )


def human_decisions(session: Session, case_ids: Sequence[str]) -> dict[str, list[CaseDecision]]:
    rows = session.scalars(select(CaseDecision).where(CaseDecision.case_id.in_(case_ids)).order_by(CaseDecision.created_at)).all() if case_ids else []
    out: dict[str, list[CaseDecision]] = {}
    for row in rows:
        out.setdefault(row.case_id, []).append(row)
    return out


def history(session: Session, case: Case, limit: int = 20) -> dict[str, list[dict[str, Any]]]:
    """Earlier decisions on the same data_id (automated ones, and people's on their cases), and
    earlier cases of the same author where the platform sent an author_id."""
    same_item = session.execute(
        select(DecisionItem.decision_id, DecisionItem.verdict, Decision.created_at, Decision.policy_version)
        .join(Decision, Decision.id == DecisionItem.decision_id)
        .where(DecisionItem.project_id == case.project_id, DecisionItem.data_id == case.data_id,
               DecisionItem.decision_id != case.decision_id, Decision.shadow.is_(False))
        .order_by(Decision.created_at.desc()).limit(limit)
    ).all()
    by_author: Sequence[Case] = []
    if case.author_id:
        by_author = session.scalars(
            select(Case).where(Case.project_id == case.project_id, Case.author_id == case.author_id, Case.id != case.id)
            .order_by(Case.created_at.desc()).limit(limit)
        ).all()
    people = human_decisions(session, [c.id for c in by_author])
    return {
        "data_id": [{"decision_id": d, "verdict": v, "at": at.isoformat(), "policy_version": pv} for d, v, at, pv in same_item],
        "author": [
            {"case_id": c.id, "data_id": c.data_id, "verdict": c.verdict, "status": c.status, "at": c.created_at.isoformat(),
             "human": [h.verdict for h in people.get(c.id, [])]}
            for c in by_author
        ],
    }


# --- deciding ------------------------------------------------------------------------------------


def human_verdict(automated_verdict: str, action: Action) -> str:
    """Upholding a `review` confirms the harm (block); overturning it clears the item (pass).
    On sampled pass/block cases, upholding keeps the verdict and overturning flips it."""
    if automated_verdict == "review":
        return "block" if action == "uphold" else "pass"
    if action == "uphold":
        return automated_verdict
    return "pass" if automated_verdict == "block" else "block"


def decide(
    session: Session, project_id: str, case_id: str, *, action: Action, category: str | None, reason: str, note: str,
    reviewer: Reviewer | None = None, actor: str | None = None, reply: str | None = None,
) -> CaseDecision:
    """Record a person's decision. From the browser (`reviewer`), only the reviewer holding the case
    may decide it; through the API (`actor`, the platform's own moderator), any undecided case.
    The case's state changes by a conditional UPDATE, so two decisions never both land.
    An appeal's case also needs a `reply` and a person other than the first decider."""
    case = get_case(session, project_id, case_id)
    if case is None:
        raise CaseError("not_found", f"case {case_id}")
    if case.source == "appeal":
        _appeal_decider(session, case, reviewer, actor, reply)
    guard = [Case.id == case.id, Case.status != "decided"]
    if reviewer is not None:
        guard += [Case.status == "claimed", Case.claimed_by == reviewer.id]
    done = session.execute(
        update(Case).where(*guard).values(status="decided", decided_at=utcnow(), lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise CaseError("conflict", "this case is decided already, or held by someone else")
    session.refresh(case)
    record = CaseDecision(
        case_id=case.id, project_id=project_id, reviewer_id=reviewer.id if reviewer else None,
        actor=reviewer.username if reviewer else f"api:{actor or 'platform'}", action=action,
        verdict=human_verdict(case.verdict, action), category=category, reason=reason, note=note,
    )
    session.add(record)
    session.flush()
    statements.record_human(session, case, record)
    announce(session, case, record)
    redress.decided(session, case, record, reply=reply)
    return record


def _appeal_decider(session: Session, case: Case, reviewer: Reviewer | None, actor: str | None, reply: str | None) -> None:
    """Appeals are decided by a named person, not the first decider, with a reasoned reply. Through
    the API the platform must name its human moderator (`reviewer`), never the default `platform`."""
    if reviewer is None and (actor is None or actor == "platform"):
        raise CaseError("invalid", "an appeal is decided by a person: name them in `reviewer`", "reviewer")
    if not (reply or "").strip():
        raise CaseError("invalid", "an appeal's decision needs a reasoned reply to the appellant", "reply")
    try:
        redress.check_decider(session, case, reviewer_id=reviewer.id if reviewer else None,
                              actor=reviewer.username if reviewer else f"api:{actor}")
    except redress.RedressError as error:
        raise CaseError("forbidden", error.detail, error.field) from error


def case_doc(session: Session, case: Case, people: Sequence[CaseDecision] | None = None) -> dict[str, Any]:
    """A case as the API shows it, with the human decisions on it."""
    if people is None:
        people = human_decisions(session, [case.id]).get(case.id, [])
    return {
        "id": case.id, "project": case.project_id, "decision_id": case.decision_id, "data_id": case.data_id,
        "author_id": case.author_id, "queue_id": case.queue_id, "status": case.status, "verdict": case.verdict,
        "category": case.category, "score": case.score, "source": case.source, "priority": case.priority,
        "report_count": case.report_count, "escalated": case.escalated, "created_at": case.created_at.isoformat(),
        "decided_at": case.decided_at.isoformat() if case.decided_at else None,
        "reviews": [review_doc(p) for p in people],
    }


def review_doc(record: CaseDecision) -> dict[str, Any]:
    return {"id": record.id, "by": record.actor, "action": record.action, "verdict": record.verdict,
            "category": record.category, "reason": record.reason, "note": record.note, "at": record.created_at.isoformat(),
            "undone_at": record.undone_at.isoformat() if record.undone_at else None}


def announce(session: Session, case: Case, record: CaseDecision, delay_s: float = 0.0) -> list[Delivery]:
    """Outbox rows `{"type": "review"}` for the project's active webhooks that follow the case's
    automated verdict; `delay_s` holds them back (a bulk action's undo window)."""
    hooks = session.scalars(select(Webhook).where(Webhook.project_id == case.project_id, Webhook.active.is_(True))).all()
    body = orjson.dumps({"type": "review", "case": case_doc(session, case, [record]), "review": review_doc(record)}).decode()
    deliveries = [
        Delivery(webhook_id=hook.id, project_id=case.project_id, decision_id=case.decision_id, body=body,
                 next_attempt_at=time.time() + delay_s)
        for hook in hooks if case.verdict in hook.verdicts
    ]
    session.add_all(deliveries)
    return deliveries


# --- bulk actions ----------------------------------------------------------------------------------

UNDO_S = 30.0  # a bulk action can be undone this long; its webhooks wait until the window closes
BULK_MAX = 200


def bulk_decide(
    session: Session, project_id: str, case_ids: Sequence[str], reviewer: Reviewer, *, action: Action,
    category: str | None, reason: str, note: str,
) -> tuple[str, list[CaseDecision]]:
    """Decide many waiting cases at once (moderators): each case still waiting is decided by the same
    conditional UPDATE as one decision; cases held by someone else or decided meanwhile are left
    alone. Returns the batch id (for undo) and the decisions made."""
    if not case_ids or len(case_ids) > BULK_MAX:
        raise CaseError("invalid", f"choose 1 to {BULK_MAX} cases", "cases")
    batch, now, made = new_id("bat"), time.time(), []
    waiting = or_(Case.status.in_(("open", "escalated")), and_(Case.status == "claimed", Case.lease_expires_at < now))
    for case_id in dict.fromkeys(case_ids):
        case = get_case(session, project_id, case_id)
        if case is None or case.source == "appeal":  # an appeal gets its own reasoned reply, never a bulk one
            continue
        done = session.execute(
            update(Case).where(Case.id == case.id, waiting).values(status="decided", decided_at=utcnow(), claimed_by=None,
                                                                   lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:
            continue
        session.refresh(case)
        record = CaseDecision(case_id=case.id, project_id=project_id, reviewer_id=reviewer.id, actor=reviewer.username,
                              action=action, verdict=human_verdict(case.verdict, action), category=category, reason=reason,
                              note=note, batch_id=batch)
        session.add(record)
        session.flush()
        statements.record_human(session, case, record)
        announce(session, case, record, delay_s=UNDO_S + 1)
        redress.decided(session, case, record, delay_s=UNDO_S + 1)
        made.append(record)
    return batch, made


def undo_batch(session: Session, project_id: str, batch_id: str, reviewer_id: str, *, now: datetime | None = None) -> int:
    """Undo a bulk action of this reviewer within UNDO_S: its cases wait again, its decisions are
    marked undone (kept, for the record) and its webhooks never leave. Returns the cases reopened."""
    now = now or utcnow()
    records = session.scalars(
        select(CaseDecision).where(CaseDecision.project_id == project_id, CaseDecision.batch_id == batch_id,
                                   CaseDecision.reviewer_id == reviewer_id, CaseDecision.undone_at.is_(None))
    ).all()
    if not records:
        raise CaseError("not_found", f"bulk action {batch_id}")
    if any((now - r.created_at).total_seconds() > UNDO_S for r in records):
        raise CaseError("conflict", f"the undo window ({UNDO_S:.0f} s) has passed")
    for record in records:
        record.undone_at = now
        redress.undone(session, record)
        case = session.get(Case, record.case_id)
        assert case is not None
        case.status, case.decided_at = _resting(case), None
        for delivery in session.scalars(select(Delivery).where(Delivery.decision_id == case.decision_id,
                                                               Delivery.status == "pending", Delivery.body.contains(record.id))):
            delivery.status, delivery.last_error = "failed", "undone"
    statements.withdraw(session, [r.id for r in records])
    return len(records)
