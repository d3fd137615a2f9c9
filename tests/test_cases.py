"""Cases (services/cases.py): routing, claiming with a lease (atomic under concurrency), skip,
hold, escalation, human decisions and their webhook, on the suite's real database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import select

from review_helpers import add_reviewer
from tamis.schema import CategoryResult, DecisionDoc, Item, ItemResult, PolicyRef
from tamis.services import moderation, webhooks
from tamis.services import cases, reviewers
from tamis.store.db import transaction
from tamis.store.models import Case, DecisionItem, Delivery, new_id


def _result(data_id: str, verdict: str, category: str, score: float) -> ItemResult:
    return ItemResult(
        data_id=data_id, verdict=verdict, evidence=[], analyzers=[],
        categories=[CategoryResult(name=category, score=score, flagged=verdict != "pass", analyzers=["text-model@1"])],
    )


def record(project: str, results: list[ItemResult], *, source: str = "api", items: list[Item] | None = None, shadow: bool = False) -> str:
    """A decision stored through the pipeline's own record(): its cases open as in production."""
    doc = DecisionDoc(id=new_id("dec"), project=project, policy=PolicyRef(id="default", version=0, shadow=shadow),
                      created_at=datetime.now(UTC).isoformat(), results=results)
    with transaction() as session:
        from tamis.store import queries

        queries.ensure_project(session, project)
        moderation.record(session, doc, shadow=shadow, source=source, items=items or [])
    return doc.id


def project_cases(project: str) -> list[Case]:
    with transaction() as session:
        return list(session.scalars(select(Case).where(Case.project_id == project).order_by(Case.created_at)))


def reviewer_id(name: str) -> str:
    with transaction() as session:
        found = reviewers.by_name(session, name)
        assert found is not None
        return found.id


def default_queue(project: str) -> str:
    with transaction() as session:
        return next(q.id for q in cases.queues(session, project) if q.is_default)


def claim(project: str, queue_id: str, name: str, role: str = "reviewer", **kw: float) -> Case | None:
    with transaction() as session:
        return cases.claim_next(session, project, queue_id, reviewer_id(name), role, **kw)


def test_only_review_verdicts_of_enforced_policies_become_cases(project: str) -> None:
    record(project, [_result("a", "review", "hate", 0.6), _result("b", "pass", "hate", 0.1), _result("c", "block", "hate", 0.99)])
    record(project, [_result("d", "review", "hate", 0.6)], shadow=True)
    opened = project_cases(project)
    assert [c.data_id for c in opened] == ["a"]
    assert opened[0].status == "open" and opened[0].category == "hate" and opened[0].position == 0


def test_routing_rules_pick_the_first_matching_queue_else_default(project: str) -> None:
    with transaction() as session:
        minors = cases.create_queue(session, project, "minors", {"categories": ["sexual/minors"]}, position=1)
        likely = cases.create_queue(session, project, "likely", {"min_score": 0.8, "sources": ["api"]}, position=2)
        minors_id, likely_id = minors.id, likely.id
    record(project, [_result("m", "review", "sexual/minors", 0.3), _result("h", "review", "hate", 0.85),
                     _result("l", "review", "hate", 0.55)])
    record(project, [_result("v", "review", "hate", 0.9)], source="video")
    routed = {c.data_id: c.queue_id for c in project_cases(project)}
    assert routed == {"m": minors_id, "h": likely_id, "l": default_queue(project), "v": default_queue(project)}


@pytest.mark.parametrize("rules, field", [
    ({"colour": ["red"]}, "rules"), ({"categories": "hate"}, "rules.categories"),
    ({"min_score": 2}, "rules.min_score"), ({"min_score": 0.9, "max_score": 0.1}, "rules.min_score"),
])
def test_bad_routing_rules_are_refused_naming_the_rule(project: str, rules: dict, field: str) -> None:  # type: ignore[type-arg]
    with transaction() as session, pytest.raises(cases.CaseError) as refused:
        cases.create_queue(session, project, "q", rules)
    assert refused.value.field == field and refused.value.kind == "invalid"


def test_claims_come_by_severity_then_age_and_a_reload_keeps_the_same_case(project: str) -> None:
    record(project, [_result("old-spam", "review", "spam", 0.9)])
    record(project, [_result("threat", "review", "harassment/threatening", 0.6)])
    record(project, [_result("new-spam", "review", "spam", 0.9)])
    queue, ana, bob = default_queue(project), add_reviewer(project), add_reviewer(project)
    first = claim(project, queue, ana)
    assert first is not None and first.data_id == "threat"
    assert claim(project, queue, ana).id == first.id  # type: ignore[union-attr]  # held: not a second one
    second = claim(project, queue, bob)
    assert second is not None and second.data_id == "old-spam"


def test_an_ended_lease_lets_another_reviewer_take_the_case(project: str) -> None:
    record(project, [_result("x", "review", "hate", 0.6)])
    queue, ana, bob = default_queue(project), add_reviewer(project), add_reviewer(project)
    held = claim(project, queue, ana, lease_s=600)
    assert held is not None and claim(project, queue, bob) is None  # held, lease running
    with transaction() as session:
        session.get(Case, held.id).lease_expires_at = 0.0  # type: ignore[union-attr]
    taken = claim(project, queue, bob)
    assert taken is not None and taken.id == held.id and taken.claimed_by == reviewer_id(bob)
    with transaction() as session, pytest.raises(cases.CaseError) as late:
        ana_row = reviewers.by_name(session, ana)
        cases.decide(session, project, held.id, action="uphold", category="hate", reason="r", note="", reviewer=ana_row)
    assert late.value.kind == "conflict"


@pytest.mark.slow  # threads racing for a claim: seconds
def test_concurrent_claims_never_give_one_case_to_two_reviewers(project: str) -> None:
    """16 reviewers claim at once from a queue of 10 cases: 10 distinct cases handed out, 6 None."""
    for i in range(10):
        record(project, [_result(f"item-{i}", "review", "hate", 0.6)])
    queue = default_queue(project)
    names = [add_reviewer(project) for _ in range(16)]
    ids = {name: reviewer_id(name) for name in names}
    got: dict[str, str | None] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(names))

    def worker(name: str) -> None:
        try:
            start.wait()
            with transaction() as session:
                case = cases.claim_next(session, project, queue, ids[name], "reviewer")
                got[name] = case.id if case else None
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    handed = [c for c in got.values() if c]
    assert len(handed) == len(set(handed)) == 10
    rows = {c.id: c.claimed_by for c in project_cases(project)}
    assert all(rows[case_id] == ids[name] for name, case_id in got.items() if case_id)


def test_skip_hold_and_escalate(project: str) -> None:
    record(project, [_result("s", "review", "hate", 0.6)])
    queue, ana, bob, mod = default_queue(project), add_reviewer(project), add_reviewer(project), add_reviewer(project, "moderator")
    case = claim(project, queue, ana)
    assert case is not None
    with transaction() as session:
        cases.skip(session, project, case.id, reviewer_id(ana))
    assert claim(project, queue, ana) is None  # not offered again to who skipped it
    case = claim(project, queue, bob)
    assert case is not None
    with transaction() as session:
        escalations = cases.create_queue(session, project, "escalations", {"verdicts": ["never"]})
        cases.escalate(session, project, case.id, reviewer_id(bob), queue_id=escalations.id)
    assert claim(project, escalations.id, ana) is None  # a reviewer cannot take an escalated case
    taken = claim(project, escalations.id, mod, "moderator")
    assert taken is not None and taken.id == case.id and taken.escalated
    with transaction() as session:
        cases.hold(session, project, case.id, reviewer_id(mod))
    assert claim(project, escalations.id, mod, "moderator") is None
    with transaction() as session:
        cases.resume(session, project, case.id)
    assert claim(project, escalations.id, mod, "moderator").id == case.id  # type: ignore[union-attr]


def test_counts_and_oldest_age_per_queue(project: str) -> None:
    record(project, [_result("a", "review", "hate", 0.6), _result("b", "review", "hate", 0.6)])
    ana = add_reviewer(project)
    claim(project, default_queue(project), ana)
    with transaction() as session:
        stats = {s.queue.name: s for s in cases.queue_stats(session, project)}
    default = stats["default"]
    assert (default.open, default.claimed, default.on_hold) == (1, 1, 0)
    assert default.oldest is not None and (datetime.now(UTC) - default.oldest).total_seconds() < 600


def test_a_decision_is_recorded_beside_the_automated_one_and_fires_a_review_webhook(project: str, key: str) -> None:
    with transaction() as session:
        hook = webhooks.create_webhook(session, project, "https://example.org/hook", verdicts=["review"])
        hook_id = hook.id
    decision_id = record(project, [_result("p", "review", "hate", 0.6)], items=[Item("p", text="t", author_id="u-1", context="thread 7")])
    queue, ana = default_queue(project), add_reviewer(project)
    case = claim(project, queue, ana)
    assert case is not None
    with transaction() as session:
        row = cases.decide(session, project, case.id, action="overturn", category="hate", reason="quoting",
                           note="it quotes a slur to condemn it", reviewer=reviewers.by_name(session, ana))
        assert row.verdict == "pass" and row.actor == ana
    with transaction() as session:
        item = session.scalar(select(DecisionItem).where(DecisionItem.decision_id == decision_id))
        assert (item.author_id, item.context) == ("u-1", "thread 7")  # type: ignore[union-attr]
        sent = session.scalars(select(Delivery).where(Delivery.webhook_id == hook_id)).all()
        review = [orjson.loads(d.body) for d in sent if orjson.loads(d.body)["type"] == "review"]
        assert len(review) == 1
        assert review[0]["review"]["by"] == ana and review[0]["review"]["action"] == "overturn"
        assert review[0]["case"]["decision_id"] == decision_id and review[0]["case"]["status"] == "decided"
        with pytest.raises(cases.CaseError) as twice:
            cases.decide(session, project, case.id, action="uphold", category=None, reason="", note="", actor="x")
        assert twice.value.kind == "conflict"


def test_history_shows_earlier_decisions_on_the_data_id_and_the_author(project: str) -> None:
    record(project, [_result("same", "pass", "hate", 0.1)])
    record(project, [_result("other", "review", "hate", 0.6)], items=[Item("other", text="t", author_id="au")])
    record(project, [_result("same", "review", "hate", 0.6)], items=[Item("same", text="t", author_id="au")])
    case = next(c for c in project_cases(project) if c.data_id == "same")
    with transaction() as session:
        seen = cases.history(session, case)
    assert [h["verdict"] for h in seen["data_id"]] == ["pass"]
    assert [h["data_id"] for h in seen["author"]] == ["other"]


@pytest.mark.parametrize("verdict, action, expected", [
    ("review", "uphold", "block"), ("review", "overturn", "pass"), ("block", "overturn", "pass"), ("pass", "overturn", "block"),
])
def test_human_verdicts(verdict: str, action: str, expected: str) -> None:
    assert cases.human_verdict(verdict, action) == expected  # type: ignore[arg-type]


def test_agreement_counts_upheld_and_overturned_per_queue_and_category(project: str) -> None:
    record(project, [_result("a", "review", "hate", 0.6), _result("b", "review", "hate", 0.6), _result("c", "review", "spam", 0.6)])
    ana = add_reviewer(project)
    queue = default_queue(project)
    for action in ("overturn", "overturn", "uphold"):
        case = claim(project, queue, ana)
        assert case is not None
        with transaction() as session:
            cases.decide(session, project, case.id, action=action, category=None, reason="", note="",  # type: ignore[arg-type]
                         reviewer=reviewers.by_name(session, ana))
    with transaction() as session:
        rows = {(a.queue, a.category): (a.upheld, a.overturned) for a in cases.agreement(session, project)}
    assert sum(rows.values(), ()) and sum(u + o for u, o in rows.values()) == 3
    hate, spam = rows[("default", "hate")], rows[("default", "spam")]
    assert hate[0] + hate[1] == 2 and spam[0] + spam[1] == 1
    assert cases.Agreement("q", "hate", 1, 3).overturn_rate == 0.75


def test_retention_empties_the_text_of_old_cases(project: str) -> None:
    from datetime import timedelta

    from tamis.services.retention import purge_case_texts
    from tamis.store.db import session_factory

    record(project, [_result("old", "review", "hate", 0.6)], items=[Item("old", text="a hurtful text")])
    assert project_cases(project)[0].text == "a hurtful text"
    while purge_case_texts(session_factory(), 30, now=datetime.now(UTC) + timedelta(days=31)):
        pass
    assert project_cases(project)[0].text is None


def test_a_sample_of_pass_and_block_items_become_quality_cases_after_the_real_ones(project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tamis import config

    monkeypatch.setenv("TAMIS_REVIEW_SAMPLE_RATE", "1")
    config.get_settings.cache_clear()
    try:
        record(project, [_result("ok", "pass", "hate", 0.1), _result("bad", "block", "hate", 0.99)])
        record(project, [_result("unsure", "review", "spam", 0.5)])
    finally:
        monkeypatch.delenv("TAMIS_REVIEW_SAMPLE_RATE")
        config.get_settings.cache_clear()
    opened = {c.data_id: c for c in project_cases(project)}
    assert set(opened) == {"ok", "bad", "unsure"} and opened["bad"].verdict == "block"
    ana = add_reviewer(project)
    first = claim(project, default_queue(project), ana)
    assert first is not None and first.data_id == "unsure"  # real review cases come first
    assert cases.human_verdict("pass", "uphold") == "pass"


def test_a_moderator_who_skips_an_escalated_case_is_not_offered_it_again(project: str) -> None:
    record(project, [_result("esc", "review", "hate", 0.6)])
    queue, ana, mod = default_queue(project), add_reviewer(project), add_reviewer(project, "moderator")
    case = claim(project, queue, ana)
    assert case is not None
    with transaction() as session:
        cases.escalate(session, project, case.id, reviewer_id(ana))
    assert claim(project, queue, mod, "moderator").id == case.id  # type: ignore[union-attr]
    with transaction() as session:
        cases.skip(session, project, case.id, reviewer_id(mod))
    assert claim(project, queue, mod, "moderator") is None  # skipped: someone else's now
    assert claim(project, queue, add_reviewer(project, "moderator"), "moderator").id == case.id  # type: ignore[union-attr]


def test_a_case_escalated_to_one_person_goes_to_them_and_moderators_only(project: str) -> None:
    record(project, [_result("named", "review", "hate", 0.6)])
    queue, ana, bob, cat = default_queue(project), add_reviewer(project), add_reviewer(project), add_reviewer(project)
    case = claim(project, queue, ana)
    assert case is not None
    with transaction() as session:
        cases.escalate(session, project, case.id, reviewer_id(ana), to_reviewer=reviewer_id(bob))
    assert claim(project, queue, cat) is None
    assert claim(project, queue, bob).id == case.id  # type: ignore[union-attr]
