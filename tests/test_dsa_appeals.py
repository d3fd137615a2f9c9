"""DSA appeals (`/v1/appeals`) end to end: an affected user appeals a reviewer's block, the first
reviewer is refused at claim and at decision, another reviewer reverses it with a reasoned reply and
`appeal.decided` reaches a real receiver; a reporter appeals a refused notice; the window; API
decisions of appeals need a named person; attacker's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from conftest import assert_problem
from dsa_helpers import item, report_body
from review_helpers import add_reviewer
from test_webhooks import deliver, deliveries, other_auth, receiver, register, settle_outbox  # noqa: F401  (fixtures)
from tamis.services import appeals, cases, redress, reviewers
from tamis.store.db import transaction
from tamis.store.models import Appeal, Case, CaseDecision, Report


@pytest.fixture(autouse=True)
def _loopback(allow_loopback_webhooks: None) -> None:
    """The receiver listens on 127.0.0.1, allowed as a webhook destination for these tests only."""


def _reviewer(name: str):  # type: ignore[no-untyped-def]
    with transaction() as session:
        return reviewers.by_name(session, name)


def _claim(project: str, queue_id: str, name: str) -> str | None:
    with transaction() as session:
        case = cases.claim_next(session, project, queue_id, _reviewer(name).id, "reviewer")
        return case.id if case else None


def _decide(project: str, case_id: str, name: str, action: str, reply: str | None = None) -> CaseDecision:
    with transaction() as session:
        return cases.decide(session, project, case_id, action=action, category="harassment", reason="rule 2",  # type: ignore[arg-type]
                            note="", reviewer=reviewers.by_name(session, name), reply=reply)


def _blocked_by_a_reviewer(client, auth, project: str, first: str) -> str:  # type: ignore[no-untyped-def]
    """An item sent to review, then blocked by `first` in the browser's way (claim, decide); its case id."""
    item(project, "post-1", "review", "harassment", 0.7)
    (case,) = client.get("/v1/cases", headers=auth).json()["cases"]
    assert _claim(project, case["queue_id"], first) == case["id"]
    _decide(project, case["id"], first, "uphold")
    return case["id"]


def test_an_appeal_goes_to_another_reviewer_who_reverses_it_and_the_platform_is_told(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    register(client, auth, receiver.url)
    first, second = add_reviewer(project), add_reviewer(project)
    contested_case = _blocked_by_a_reviewer(client, auth, project, first)
    filed = client.post("/v1/appeals", headers=auth, json={"appellant": "affected_user", "data_id": "post-1",
                                                            "reason": "It was a quote from the film, not an insult."})
    assert filed.status_code == 201, filed.text
    appeal = filed.json()
    assert appeal["status"] == "open" and appeal["contested"]["verdict"] == "block"
    assert appeal["contested"]["case_id"] == contested_case and appeal["contested"]["by"] == first
    with transaction() as session:
        queue = appeals.appeals_queue(session, project)
        appeal_case = session.get(Case, appeal["case_id"])
        assert appeal_case is not None and appeal_case.queue_id == queue.id and appeal_case.source == "appeal"
        queue_id = queue.id
    # The first reviewer is never offered the appeal, and cannot decide it.
    assert _claim(project, queue_id, first) is None
    with pytest.raises(cases.CaseError) as refused:
        _decide(project, appeal["case_id"], first, "overturn", reply="ok")
    assert refused.value.kind == "forbidden"
    # Nor through the API under the first reviewer's name, nor as the anonymous platform.
    assert_problem(client.post(f"/v1/cases/{appeal['case_id']}/decision", headers=auth,
                               json={"action": "overturn", "reply": "fine"}), 422, "reviewer")
    # Another reviewer takes it; no reply, no decision.
    assert _claim(project, queue_id, second) == appeal["case_id"]
    with pytest.raises(cases.CaseError) as no_reply:
        _decide(project, appeal["case_id"], second, "overturn")
    assert no_reply.value.field == "reply"
    _decide(project, appeal["case_id"], second, "overturn", reply="On a second look it quotes a film; restored.")
    shown = client.get(f"/v1/appeals/{appeal['id']}", headers=auth).json()
    assert shown["status"] == "decided" and shown["outcome"] == "reversed" and shown["reversed"] is True
    assert shown["decided_by"] == second and shown["reply"].startswith("On a second look")
    deliver()
    assert receiver.wait_for(2, 10)
    (told,) = [r.json() for r in receiver.requests if r.json()["type"] == "appeal.decided"]
    assert told["reversed"] is True and told["verdict"] == "pass" and told["appeal"]["id"] == appeal["id"]
    assert told["appeal"]["reply"].startswith("On a second look") and "out_of_court" in told["redress"]
    # Decided on appeal: no second appeal of the same item.
    assert_problem(client.post("/v1/appeals", headers=auth, json={"appellant": "affected_user", "data_id": "post-1",
                                                                  "reason": "again"}), 409, "data_id")


def test_an_upheld_appeal_is_announced_too(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    register(client, auth, receiver.url)
    item(project, "auto-1", "block", "hate", 0.99)  # blocked by the machine alone: anyone may decide the appeal
    appeal = client.post("/v1/appeals", headers=auth, json={"appellant": "affected_user", "data_id": "auto-1",
                                                            "reason": "not hate"}).json()
    assert appeal["contested"]["by"] is None and appeal["contested"]["case_id"] is None
    decided = client.post(f"/v1/cases/{appeal['case_id']}/decision", headers=auth,
                          json={"action": "uphold", "reviewer": "moderator-jo", "reply": "The slur is used as an attack."})
    assert decided.status_code == 201, decided.text
    deliver()
    assert receiver.wait_for(1, 10)
    (told,) = [r.json() for r in receiver.requests if r.json()["type"] == "appeal.decided"]
    assert told["reversed"] is False and told["verdict"] == "block" and told["appeal"]["decided_by"] == "api:moderator-jo"


def test_an_appeal_decided_first_through_the_api_refuses_the_same_person(client, auth, project) -> None:  # type: ignore[no-untyped-def]
    item(project, "post-2", "review", "harassment", 0.7)
    (case,) = client.get("/v1/cases", headers=auth).json()["cases"]
    client.post(f"/v1/cases/{case['id']}/decision", headers=auth, json={"action": "uphold", "reviewer": "ana"})
    appeal = client.post("/v1/appeals", headers=auth, json={"appellant": "affected_user", "data_id": "post-2",
                                                            "reason": "mistake"}).json()
    assert appeal["contested"]["by"] == "api:ana"
    assert_problem(client.post(f"/v1/cases/{appeal['case_id']}/decision", headers=auth,
                               json={"action": "overturn", "reviewer": "ana", "reply": "fine"}), 403, "reviewer")
    assert client.post(f"/v1/cases/{appeal['case_id']}/decision", headers=auth,
                       json={"action": "overturn", "reviewer": "ben", "reply": "fine"}).status_code == 201


def test_a_reporter_appeals_a_refused_notice(client, auth, project) -> None:  # type: ignore[no-untyped-def]
    item(project, "post-3")
    receipt = client.post("/v1/reports", headers=auth, json=report_body("post-3")).json()
    assert_problem(client.post("/v1/appeals", headers=auth, json={"appellant": "reporter", "report_id": receipt["id"],
                                                                  "reason": "still waiting"}), 409, "report_id")
    client.post(f"/v1/cases/{receipt['case_id']}/decision", headers=auth, json={"action": "uphold", "reviewer": "ana"})
    filed = client.post("/v1/appeals", headers=auth, json={"appellant": "reporter", "report_id": receipt["id"],
                                                           "reason": "It names and insults my neighbour."})
    assert filed.status_code == 201, filed.text
    appeal = filed.json()
    assert appeal["contested"]["verdict"] == "pass" and appeal["report_id"] == receipt["id"]
    assert_problem(client.post("/v1/appeals", headers=auth, json={"appellant": "reporter", "report_id": receipt["id"],
                                                                  "reason": "twice"}), 409, "report_id")
    client.post(f"/v1/cases/{appeal['case_id']}/decision", headers=auth,
                json={"action": "overturn", "reviewer": "ben", "reply": "You are right: removed."})
    shown = client.get(f"/v1/appeals/{appeal['id']}", headers=auth).json()
    assert shown["outcome"] == "reversed"
    with transaction() as session:
        review = session.scalar(select(CaseDecision).where(CaseDecision.case_id == appeal["case_id"]))
        assert review is not None and review.verdict == "block"  # reversing a refusal restricts the item


def test_appeals_outside_the_window_are_refused_naming_the_field(client, auth, project) -> None:  # type: ignore[no-untyped-def]
    item(project, "post-4")
    receipt = client.post("/v1/reports", headers=auth, json=report_body("post-4")).json()
    client.post(f"/v1/cases/{receipt['case_id']}/decision", headers=auth, json={"action": "uphold", "reviewer": "ana"})
    with transaction() as session:
        session.get(Report, receipt["id"]).decided_at = datetime.now(UTC) - timedelta(days=184)  # type: ignore[union-attr]
    late = assert_problem(client.post("/v1/appeals", headers=auth, json={"appellant": "reporter", "report_id": receipt["id"],
                                                                         "reason": "late"}), 422, "report_id")
    assert "183 days" in late["detail"]
    with transaction() as session:
        redress.update_settings(session, project, appeal_window_days=365)
    assert client.post("/v1/appeals", headers=auth, json={"appellant": "reporter", "report_id": receipt["id"],
                                                          "reason": "in time now"}).status_code == 201
    item(project, "auto-2", "block", "hate", 0.99)
    with transaction() as session:
        filed = appeals.file_appeal(session, project, appellant="affected_user", data_id="auto-2", reason="x",
                                    now=datetime.now(UTC) + timedelta(days=364))
        assert filed.status == "open"
    item(project, "auto-3", "block", "hate", 0.99)
    with transaction() as session, pytest.raises(appeals.AppealError) as closed:
        appeals.file_appeal(session, project, appellant="affected_user", data_id="auto-3", reason="x",
                            now=datetime.now(UTC) + timedelta(days=366))
    assert closed.value.field == "data_id"
    with transaction() as session, pytest.raises(redress.RedressError) as short:
        redress.update_settings(session, project, appeal_window_days=30)  # Art. 20(1): at least six months
    assert short.value.field == "appeal_window_days"


def test_appeals_are_left_out_of_bulk_actions(client, auth, project) -> None:  # type: ignore[no-untyped-def]
    item(project, "auto-4", "block", "hate", 0.99)
    appeal = client.post("/v1/appeals", headers=auth, json={"appellant": "affected_user", "data_id": "auto-4",
                                                            "reason": "x"}).json()
    moderator = add_reviewer(project, "moderator")
    with transaction() as session:
        _, made = cases.bulk_decide(session, project, [appeal["case_id"]], reviewers.by_name(session, moderator),  # type: ignore[arg-type]
                                    action="overturn", category=None, reason="", note="")
    assert made == []
    assert client.get(f"/v1/appeals/{appeal['id']}", headers=auth).json()["status"] == "open"


# --- the attacker's view -------------------------------------------------------------------------------


@pytest.mark.parametrize("body, status, field", [
    (b"{nope", 400, "body"),
    (b'{"appellant": "judge", "data_id": "p", "reason": "x"}', 422, "appellant"),
    (b'{"appellant": "affected_user", "reason": "x"}', 422, "data_id"),
    (b'{"appellant": "reporter", "reason": "x"}', 422, "report_id"),
    (b'{"appellant": "affected_user", "data_id": "never-sent", "reason": "x"}', 422, "data_id"),
    (b'{"appellant": "reporter", "report_id": "rep_nope", "reason": "x"}', 422, "report_id"),
    (b'{"appellant": "affected_user", "data_id": "auto", "reason": ""}', 422, "reason"),
    (b'{"appellant": "affected_user", "data_id": "auto", "reason": "' + b"x" * 5001 + b'"}', 422, "reason"),
    (b'{"appellant": "affected_user", "data_id": "a\\u0000b", "reason": "x"}', 422, "data_id"),
    (b'{"appellant": "affected_user", "data_id": "auto", "reason": "x", "extra": 1}', 422, "extra"),
    (b'{"appellant": "affected_user", "data_id": "clean", "reason": "x"}', 409, "data_id"),
])
def test_bad_appeals_are_refused_naming_the_field(client, auth, project, body, status, field) -> None:  # type: ignore[no-untyped-def]
    item(project, "auto", "block", "hate", 0.99)
    item(project, "clean", "pass")
    assert_problem(client.post("/v1/appeals", headers={**auth, "Content-Type": "application/json"}, content=body), status, field)
    with transaction() as session:
        assert session.scalars(select(Appeal).where(Appeal.project_id == project)).all() == []


def test_another_projects_reports_items_and_appeals_are_out_of_reach(client, auth, project) -> None:  # type: ignore[no-untyped-def]
    item(project, "post-5")
    receipt = client.post("/v1/reports", headers=auth, json=report_body("post-5")).json()
    client.post(f"/v1/cases/{receipt['case_id']}/decision", headers=auth, json={"action": "uphold", "reviewer": "ana"})
    item(project, "auto-5", "block", "hate", 0.99)
    appeal = client.post("/v1/appeals", headers=auth, json={"appellant": "affected_user", "data_id": "auto-5", "reason": "x"}).json()
    other = other_auth(f"attacker-{project}")
    assert_problem(client.post("/v1/appeals", headers=other, json={"appellant": "reporter", "report_id": receipt["id"],
                                                                   "reason": "x"}), 422, "report_id")
    assert_problem(client.post("/v1/appeals", headers=other, json={"appellant": "affected_user", "data_id": "auto-5",
                                                                   "reason": "x"}), 422, "data_id")
    assert_problem(client.get(f"/v1/appeals/{appeal['id']}", headers=other), 404, None)
    assert_problem(client.post(f"/v1/cases/{appeal['case_id']}/decision", headers=other,
                               json={"action": "overturn", "reviewer": "eve", "reply": "x"}), 404, None)
    assert_problem(client.get("/v1/appeals/apl_nope", headers=auth), 404, None)
    assert client.get(f"/v1/appeals/{appeal['id']}").status_code == 401
    assert client.get(f"/v1/appeals/{appeal['id']}", headers=auth).json()["status"] == "open"


def test_oversized_appeals_and_a_flood_of_them(client, auth, project) -> None:  # type: ignore[no-untyped-def]
    huge = b'{"appellant": "affected_user", "data_id": "a", "reason": "' + b"x" * (65 * 1024 * 1024) + b'"}'
    assert_problem(client.post("/v1/appeals", headers={**auth, "Content-Type": "application/json"}, content=huge), 413, "body")
    from tamis.store.models import ProjectLimits

    fresh = f"{project}-flood"
    with transaction() as session:
        from tamis.store import queries

        _, key = queries.create_key(session, fresh)
        session.merge(ProjectLimits(project_id=fresh, requests_per_s=1.0, requests_burst=5.0))
    flood = {"Authorization": f"Bearer {key}"}
    answers = [client.post("/v1/appeals", headers=flood, json={"appellant": "affected_user", "data_id": "x", "reason": "x"})
               for _ in range(20)]
    assert {a.status_code for a in answers} == {422, 429}
    limited = next(a for a in answers if a.status_code == 429)
    assert_problem(limited, 429, None)
    assert int(limited.headers["Retry-After"]) >= 1
