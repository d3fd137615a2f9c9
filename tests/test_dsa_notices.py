"""DSA notices (`/v1/reports`) end to end: a report on an item opens or joins its case, a person
decides, each report is closed and its `report.decided` webhook reaches a real receiver; bulk undo
reopens them; reporters whose reports were repeatedly unfounded weigh less; personal data stays out
of webhooks and logs and is purged with retention. Attacker's tests for every new endpoint."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from conftest import assert_problem
from dsa_helpers import EMAIL, NAME, item, report_body
from review_helpers import add_reviewer
from test_webhooks import deliver, deliveries, receiver, register, settle_outbox  # noqa: F401  (fixtures)
from tamis.services import cases, reports, retention, reviewers
from tamis.store import db
from tamis.store.db import transaction
from tamis.store.models import Case, ProjectLimits, Report


@pytest.fixture(autouse=True)
def _loopback(allow_loopback_webhooks: None) -> None:
    """The receiver listens on 127.0.0.1, allowed as a webhook destination for these tests only."""


def _case(case_id: str) -> Case:
    with transaction() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case


def test_reports_make_one_case_then_a_decision_notifies_each_reporter(client, auth, project, receiver, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    register(client, auth, receiver.url, verdicts=["block"])  # report.decided goes to every webhook, whatever it follows
    item(project, "post-1", "pass", "harassment", 0.3)
    assert client.get("/v1/cases", headers=auth).json()["cases"] == []  # a pass opens no case by itself
    first = client.post("/v1/reports", headers=auth, json=report_body("post-1"))
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["id"].startswith("rep_") and receipt["status"] == "open" and receipt["report_count"] == 1
    assert datetime.fromisoformat(receipt["received_at"]) <= datetime.now(UTC)
    opened = _case(receipt["case_id"])
    assert opened.source == "user_report" and opened.verdict == "pass" and opened.category == "harassment"
    single_priority = opened.priority
    more = [client.post("/v1/reports", headers=auth, json=report_body("post-1", reporter_name=None, reporter_email=None,
                                                                         reporter_ref=f"user-{i}", trusted_flagger=i == 1))
            for i in range(2)]
    assert [r.status_code for r in more] == [201, 201], [r.text for r in more]
    assert {r.json()["case_id"] for r in more} == {receipt["case_id"]}  # one case per item
    assert more[-1].json()["report_count"] == 3
    listed = client.get("/v1/cases", headers=auth).json()["cases"]
    assert [(c["id"], c["report_count"], c["source"]) for c in listed] == [(receipt["case_id"], 3, "user_report")]
    after = _case(receipt["case_id"])
    assert after.priority == single_priority + reports.REPORT_BUMP + reports.TRUSTED_BUMP

    decided = client.post(f"/v1/cases/{receipt['case_id']}/decision", headers=auth,
                          json={"action": "overturn", "category": "harassment", "reason": "insult", "reviewer": "mod-ana"})
    assert decided.status_code == 201, decided.text
    deliver()
    assert receiver.wait_for(3, 10)
    notices = [r.json() for r in receiver.requests if r.json()["type"] == "report.decided"]
    assert len(notices) == 3
    assert {n["report"]["id"] for n in notices} == {receipt["id"], *(r.json()["id"] for r in more)}
    for notice in notices:
        assert notice["report"]["outcome"] == "founded" and notice["decision"]["verdict"] == "block"
        assert notice["redress"]["out_of_court"] == "" and notice["redress"]["judicial_redress"] is True
        assert notice["redress"]["appeal_until"] is None  # a founded notice has nothing for its reporter to appeal
    raw = b"".join(r.body for r in receiver.requests)
    assert EMAIL.encode() not in raw and NAME.encode() not in raw  # personal data never in webhooks
    assert EMAIL not in caplog.text and NAME not in caplog.text  # nor in logs
    shown = client.get(f"/v1/reports/{receipt['id']}", headers=auth).json()
    assert shown["status"] == "decided" and shown["outcome"] == "founded" and shown["review_id"] == decided.json()["id"]
    assert shown["reporter"] == {"name": NAME, "email": EMAIL, "purged": False}


def test_an_unfounded_report_tells_the_reporter_how_to_appeal(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    register(client, auth, receiver.url)
    with transaction() as session:
        from tamis.services import redress

        redress.update_settings(session, project, appeal_window_days=200, out_of_court_info="ODS body: example.eu/ods")
    item(project, "post-2")
    receipt = client.post("/v1/reports", headers=auth, json=report_body("post-2")).json()
    client.post(f"/v1/cases/{receipt['case_id']}/decision", headers=auth, json={"action": "uphold", "reviewer": "mod-ana"})
    deliver()
    assert receiver.wait_for(1, 10)
    (notice,) = [r.json() for r in receiver.requests if r.json()["type"] == "report.decided"]
    assert notice["report"]["outcome"] == "unfounded"
    assert notice["redress"]["appeal_window_days"] == 200 and notice["redress"]["out_of_court"] == "ODS body: example.eu/ods"
    until = datetime.fromisoformat(notice["redress"]["appeal_until"])
    assert timedelta(days=199) < until - datetime.fromisoformat(notice["report"]["decided_at"]) <= timedelta(days=200)


def test_a_report_joins_the_open_review_case_of_the_item(client, auth, project) -> None:  # type: ignore[no-untyped-def]
    item(project, "post-3", "review", "hate", 0.7)
    (case,) = client.get("/v1/cases", headers=auth).json()["cases"]
    receipt = client.post("/v1/reports", headers=auth, json=report_body("post-3", category="hate")).json()
    assert receipt["case_id"] == case["id"] and receipt["report_count"] == 1
    assert _case(case["id"]).source == "api"  # the case keeps how it arose


def test_bulk_decision_closes_reports_and_its_undo_reopens_them(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    register(client, auth, receiver.url)
    item(project, "post-4")
    receipt = client.post("/v1/reports", headers=auth, json=report_body("post-4")).json()
    moderator = add_reviewer(project, "moderator")
    with transaction() as session:
        batch, made = cases.bulk_decide(session, project, [receipt["case_id"]], reviewers.by_name(session, moderator),  # type: ignore[arg-type]
                                        action="overturn", category=None, reason="", note="")
    assert len(made) == 1
    assert client.get(f"/v1/reports/{receipt['id']}", headers=auth).json()["outcome"] == "founded"
    pending = [d for d in deliveries(project) if '"report.decided"' in d.body]
    assert len(pending) == 1 and pending[0].status == "pending"
    with transaction() as session:
        assert cases.undo_batch(session, project, batch, reviewers.by_name(session, moderator).id) == 1  # type: ignore[union-attr]
    reopened = client.get(f"/v1/reports/{receipt['id']}", headers=auth).json()
    assert reopened["status"] == "open" and reopened["outcome"] is None and reopened["decided_at"] is None
    cancelled = [d for d in deliveries(project) if '"report.decided"' in d.body]
    assert [(d.status, d.last_error) for d in cancelled] == [("failed", "undone")]  # never leaves


def test_reporters_whose_reports_were_repeatedly_unfounded_weigh_less(client, auth, project) -> None:  # type: ignore[no-untyped-def]
    for i in range(reports.UNFOUNDED_MIN):
        item(project, f"old-{i}")
        receipt = client.post("/v1/reports", headers=auth, json=report_body(f"old-{i}", reporter_ref="noisy")).json()
        client.post(f"/v1/cases/{receipt['case_id']}/decision", headers=auth, json={"action": "uphold", "reviewer": "mod"})
    item(project, "new-a")
    item(project, "new-b")
    noisy = client.post("/v1/reports", headers=auth, json=report_body("new-a", reporter_ref="noisy")).json()
    fresh = client.post("/v1/reports", headers=auth, json=report_body("new-b", reporter_ref="someone-else")).json()
    assert _case(noisy["case_id"]).priority == _case(fresh["case_id"]).priority - reports.REPORT_BUMP - reports.UNFOUNDED_PENALTY
    # Trusted flaggers are never deprioritised.
    item(project, "new-c")
    trusted = client.post("/v1/reports", headers=auth, json=report_body("new-c", reporter_ref="noisy", trusted_flagger=True)).json()
    assert _case(trusted["case_id"]).priority > _case(fresh["case_id"]).priority


def test_a_child_sexual_abuse_report_may_be_anonymous_others_name_the_reporter(client, auth, project) -> None:  # type: ignore[no-untyped-def]
    item(project, "img-1")
    anonymous = report_body("img-1", category="sexual/minors", reporter_name=None, reporter_email=None)
    assert client.post("/v1/reports", headers=auth, json=anonymous).status_code == 201
    assert_problem(client.post("/v1/reports", headers=auth, json={**anonymous, "category": "harassment"}), 422, "reporter_email")
    for category in ("illegal_content", "other"):
        assert client.post("/v1/reports", headers=auth, json=report_body("img-1", category=category)).status_code == 201


def test_retention_purges_reporters_personal_data(client, auth, project) -> None:  # type: ignore[no-untyped-def]
    item(project, "post-5")
    receipt = client.post("/v1/reports", headers=auth, json=report_body("post-5", reporter_ref="u-5")).json()
    client.post(f"/v1/cases/{receipt['case_id']}/decision", headers=auth, json={"action": "uphold", "reviewer": "mod"})
    sessions = db.session_factory()
    assert retention.purge_reporters(sessions, 30) == 0 or _report(receipt["id"]).reporter_email == EMAIL
    assert _report(receipt["id"]).reporter_email == EMAIL  # decided just now: kept
    later = datetime.now(UTC) + timedelta(days=31)
    while retention.purge_reporters(sessions, 30, now=later):
        pass
    purged = _report(receipt["id"])
    assert purged.reporter_name is None and purged.reporter_email is None and purged.purged_at is not None
    assert purged.reporter_ref == "u-5"  # kept a year, for the deprioritising rule
    shown = client.get(f"/v1/reports/{receipt['id']}", headers=auth).json()
    assert shown["reporter"] == {"name": None, "email": None, "purged": True} and shown["explanation"]
    while retention.purge_reporters(sessions, 30, now=datetime.now(UTC) + timedelta(days=366)):
        pass
    assert _report(receipt["id"]).reporter_ref is None
    assert retention.purge_reporters(sessions, 0, now=later) == 0  # 0 keeps everything


def _report(report_id: str) -> Report:
    with transaction() as session:
        found = session.scalar(select(Report).where(Report.id == report_id))
        assert found is not None
        return found


# --- the attacker's view -------------------------------------------------------------------------------


@pytest.mark.parametrize("change, status, field", [
    ({"location": "javascript:alert(1)"}, 422, "location"),
    ({"location": "http://127.0.0.1/admin"}, 422, "location"),
    ({"location": "http://10.1.2.3/x"}, 422, "location"),
    ({"location": "http://[::1]/x"}, 422, "location"),
    ({"location": "http://169.254.169.254/latest/meta-data"}, 422, "location"),
    ({"location": "http://localhost:8000/x"}, 422, "location"),
    ({"location": "http://intranet/x"}, 422, "location"),
    ({"location": "http://printer.local/x"}, 422, "location"),
    ({"location": "file:///etc/passwd"}, 422, "location"),
    ({"location": "https://example.org/" + "a" * 2100}, 422, "location"),
    ({"location": "not a url"}, 422, "location"),
    ({"good_faith": False}, 422, "good_faith"),
    ({"good_faith": None}, 422, "good_faith"),
    ({"reporter_email": "not-an-address"}, 422, "reporter_email"),
    ({"reporter_email": "a@b@c.org"}, 422, "reporter_email"),
    ({"reporter_name": "x" * 201}, 422, "reporter_name"),
    ({"category": "politics"}, 422, "category"),
    ({"explanation": ""}, 422, "explanation"),
    ({"explanation": "   "}, 422, "explanation"),
    ({"explanation": "x" * 5001}, 422, "explanation"),
    ({"explanation": "a\u0000b"}, 422, "explanation"),
    ({"data_id": "never-sent"}, 422, "data_id"),
    ({"data_id": "x" * 257}, 422, "data_id"),
    ({"trusted_flagger": "yes"}, 422, "trusted_flagger"),
    ({"admin": True}, 422, "admin"),
])
def test_bad_reports_are_refused_naming_the_field_and_record_nothing(client, auth, project, change, status, field) -> None:  # type: ignore[no-untyped-def]
    item(project, "post-6")
    assert_problem(client.post("/v1/reports", headers=auth, json=report_body("post-6") | change), status, field)
    with transaction() as session:
        assert session.scalars(select(Report).where(Report.project_id == project)).all() == []
        assert session.scalars(select(Case).where(Case.project_id == project)).all() == []


def test_malformed_and_oversized_bodies(client, auth, project) -> None:  # type: ignore[no-untyped-def]
    assert_problem(client.post("/v1/reports", headers={**auth, "Content-Type": "application/json"}, content=b"{nope"), 400, "body")
    assert_problem(client.post("/v1/reports", headers=auth, json=[1, 2]), 422, None)
    huge = b'{"data_id": "a", "explanation": "' + b"x" * (65 * 1024 * 1024) + b'"}'
    assert_problem(client.post("/v1/reports", headers={**auth, "Content-Type": "application/json"}, content=huge), 413, "body")


def test_another_projects_items_and_reports_are_out_of_reach(client, auth, project) -> None:  # type: ignore[no-untyped-def]
    from test_webhooks import other_auth

    item(project, "mine")
    receipt = client.post("/v1/reports", headers=auth, json=report_body("mine")).json()
    other = other_auth(f"attacker-{project}")
    # Reporting the victim's data_id: the same answer as for a data_id nobody sent.
    assert_problem(client.post("/v1/reports", headers=other, json=report_body("mine")), 422, "data_id")
    assert_problem(client.get(f"/v1/reports/{receipt['id']}", headers=other), 404, None)
    assert_problem(client.get("/v1/reports/rep_nope", headers=auth), 404, None)
    assert_problem(client.get("/v1/reports/a%00b", headers=auth), 404, None)
    assert client.get(f"/v1/reports/{receipt['id']}").status_code == 401
    assert client.post("/v1/reports", json=report_body("mine")).status_code == 401
    assert client.get(f"/v1/reports/{receipt['id']}", headers=auth).json()["status"] == "open"  # untouched


def test_a_flood_of_reports_meets_the_keys_rate_limit(client, auth, project) -> None:  # type: ignore[no-untyped-def]
    item(project, "post-7")
    with transaction() as session:
        session.merge(ProjectLimits(project_id=project, requests_per_s=1.0, requests_burst=5.0))
    # (The key's limits are read on its first request: this project has made none yet.)
    answers = [client.post("/v1/reports", headers=auth, json=report_body("post-7")) for _ in range(20)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited and int(limited[0].headers["Retry-After"]) >= 1
    assert_problem(limited[0], 429, None)
    accepted = sum(a.status_code == 201 for a in answers)
    assert 1 <= accepted <= 8
    with transaction() as session:
        assert len(session.scalars(select(Report).where(Report.project_id == project)).all()) == accepted


def test_a_reported_quality_check_becomes_a_real_case(client, auth, project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tamis.config import get_settings

    monkeypatch.setenv("TAMIS_REVIEW_SAMPLE_RATE", "1")  # a sampled `pass` waits behind every real case
    get_settings.cache_clear()
    try:
        item(project, "sampled", "pass", "harassment", 0.1)
    finally:
        monkeypatch.delenv("TAMIS_REVIEW_SAMPLE_RATE")
        get_settings.cache_clear()
    (case,) = client.get("/v1/cases", headers=auth).json()["cases"]
    assert case["priority"] < 0
    receipt = client.post("/v1/reports", headers=auth, json=report_body("sampled")).json()
    assert receipt["case_id"] == case["id"]
    assert _case(case["id"]).priority == case["priority"] + cases.SAMPLED_PENALTY + reports.REPORT_BUMP > 0
