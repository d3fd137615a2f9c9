"""Statements of reasons (DSA Art. 17): one per restricting decision, automated or human, valid under
the Transparency Database schema, stored with the decision, with no personal data; their settings and
their export through `/v1/statements`."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from conftest import assert_problem, unlimited_key
from dsa_helpers import BLOCK_WORD, REVIEW_WORD, list_policy
from tamis.services import cases
from tamis.services.dsa import settings as dsa_settings
from tamis.services.dsa import statements
from tamis.store.db import transaction
from tamis.store.models import Statement


@pytest.fixture(autouse=True)
def public_example_org(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """No network here: example.org resolves to a public address, as it does in the world."""
    from test_webhook_hardening import resolver
    from tamis.media import fetch

    monkeypatch.setattr(fetch, "resolve", resolver({"example.org": ["93.184.215.14"]}))


def moderate(client, auth, items):  # type: ignore[no-untyped-def]
    sent = client.post("/v1/moderate", headers=auth, json={"items": items})
    assert sent.status_code == 200, sent.text
    return sent.json()


def stored(project: str) -> list[Statement]:
    with transaction() as session:
        rows = list(session.scalars(select(Statement).where(Statement.project_id == project).order_by(Statement.id)))
        session.expunge_all()
    return rows


def lines(response) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in response.text.splitlines() if line]


def test_an_automated_block_has_a_valid_statement_and_a_pass_or_review_none(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    list_policy(project)
    doc = moderate(client, auth, [{"data_id": "a", "text": f"you {BLOCK_WORD}"}, {"data_id": "b", "text": "a lovely garden"},
                                  {"data_id": "c", "text": f"so {REVIEW_WORD}"}])
    assert [r["verdict"] for r in doc["results"]] == ["block", "pass", "review"]
    [row] = stored(project)
    body = row.body
    assert statements.errors(body) == []
    assert (row.kind, row.decision_id, row.position, row.case_id) == ("automated", doc["id"], 0, None)
    assert body["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert body["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT" and body["incompatible_content_ground"]
    assert body["category"] == dsa_settings.DEFAULT_MAPPING["harassment"][0]
    assert body["category_specification"] == dsa_settings.DEFAULT_MAPPING["harassment"][1]
    assert body["content_type"] == ["CONTENT_TYPE_TEXT"]
    assert (body["source_type"], body["automated_detection"], body["automated_decision"]) == (
        "SOURCE_VOLUNTARY", "Yes", "AUTOMATED_DECISION_FULLY")
    assert body["territorial_scope"] == list(dsa_settings.EEA)
    assert body["application_date"] == body["content_date"] == doc["created_at"][:10]
    assert "harassment" in body["decision_facts"] and "No person reviewed" in body["decision_facts"]
    assert body["puid"].startswith("tamis-") and len(body["puid"]) == 6 + 32


def test_human_decisions_restrict_or_restore_and_upholding_a_block_states_nothing_new(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    list_policy(project)
    moderate(client, auth, [{"data_id": "r1", "text": f"so {REVIEW_WORD}"}, {"data_id": "r2", "text": f"so {REVIEW_WORD}"}])
    review = {c["data_id"]: c["id"] for c in client.get("/v1/cases", headers=auth).json()["cases"]}
    assert client.post(f"/v1/cases/{review['r1']}/decision", headers=auth, json={"action": "uphold", "category": "hate"}).status_code == 201
    assert client.post(f"/v1/cases/{review['r2']}/decision", headers=auth, json={"action": "overturn"}).status_code == 201
    [human] = stored(project)
    assert (human.kind, human.case_id) == ("human", review["r1"]) and human.review_id
    assert statements.errors(human.body) == []
    assert human.body["automated_decision"] == "AUTOMATED_DECISION_PARTIALLY" and human.body["automated_detection"] == "Yes"
    assert human.body["category"] == dsa_settings.DEFAULT_MAPPING["hate"][0]
    assert "A person reviewed" in human.body["decision_facts"]


def test_quality_samples_overturned_restore_or_restrict(client, auth, project: str, sample_everything) -> None:  # type: ignore[no-untyped-def]
    """Sampled automated verdicts (quality checks): overturning a block restores (a statement), upholding
    it states nothing new, overturning a pass restricts (a statement)."""
    list_policy(project)
    moderate(client, auth, [{"data_id": "b1", "text": f"you {BLOCK_WORD}"}, {"data_id": "b2", "text": f"you {BLOCK_WORD}"},
                            {"data_id": "p1", "text": "a nice garden"}])
    sampled = {c["data_id"]: c["id"] for c in client.get("/v1/cases", headers=auth).json()["cases"]}
    assert set(sampled) == {"b1", "b2", "p1"}
    for data_id, action in (("b1", "overturn"), ("b2", "uphold"), ("p1", "overturn")):
        assert client.post(f"/v1/cases/{sampled[data_id]}/decision", headers=auth, json={"action": action, "category": "spam"}).status_code == 201
    rows = stored(project)
    assert sorted(r.kind for r in rows) == ["automated", "automated", "human", "restore"]
    restore = next(r for r in rows if r.kind == "restore")
    assert restore.case_id == sampled["b1"] and restore.body["decision_visibility"] == ["DECISION_VISIBILITY_OTHER"]
    human = next(r for r in rows if r.kind == "human")
    assert human.case_id == sampled["p1"] and human.body["category"] == dsa_settings.DEFAULT_MAPPING["spam"][0]
    assert (human.body["automated_detection"], human.body["automated_decision"]) == ("No", "AUTOMATED_DECISION_NOT_AUTOMATED")
    assert all(statements.errors(r.body) == [] for r in rows)


def test_no_personal_data_in_any_statement_or_export(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    list_policy(project)
    marks = {k: f"{k}MARK{secrets.token_hex(6)}" for k in ("text", "author", "data", "context")}
    moderate(client, auth, [
        {"data_id": marks["data"], "text": f"{marks['text']} {BLOCK_WORD}", "author_id": marks["author"], "context": marks["context"]},
        {"data_id": marks["data"] + "2", "text": f"{marks['text']} {REVIEW_WORD}", "author_id": marks["author"], "context": marks["context"]},
    ])
    [case] = client.get("/v1/cases", headers=auth).json()["cases"]
    reviewer = f"reviewerMARK{secrets.token_hex(6)}"
    note = f"noteMARK{secrets.token_hex(6)}"
    assert client.post(f"/v1/cases/{case['id']}/decision", headers=auth,
                       json={"action": "uphold", "reason": note, "note": note, "reviewer": reviewer}).status_code == 201
    exported = client.get("/v1/statements", headers=auth)
    assert exported.status_code == 200 and len(lines(exported)) == 2
    everything = exported.text + json.dumps([r.body for r in stored(project)])
    for mark in [*marks.values(), reviewer, note, BLOCK_WORD, REVIEW_WORD]:
        assert mark not in everything, mark


def test_statements_keep_the_settings_they_were_made_under(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    list_policy(project)
    moderate(client, auth, [{"data_id": "a", "text": BLOCK_WORD}])
    put = client.put("/v1/dsa/settings", headers=auth, json={
        "categories": {"harassment": {"category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "specification": ["KEYWORD_DEFAMATION"]}},
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT", "illegal_content_legal_ground": "Criminal Code s. 185",
        "territorial_scope": ["DE", "AT"],
        "restrict": {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"], "decision_account": "DECISION_ACCOUNT_SUSPENDED"},
    })
    assert put.status_code == 200, put.text
    moderate(client, auth, [{"data_id": "b", "text": BLOCK_WORD}])
    first, second = (r.body for r in stored(project))
    assert first["category"] == "STATEMENT_CATEGORY_CYBER_VIOLENCE" and first["territorial_scope"] == list(dsa_settings.EEA)
    assert second["category"] == "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH" and second["category_specification"] == ["KEYWORD_DEFAMATION"]
    assert second["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT" and "Criminal Code" in second["illegal_content_legal_ground"]
    assert second["territorial_scope"] == ["DE", "AT"] and second["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert statements.errors(second) == []
    # The settings read back; categories not sent keep the shipped mapping.
    got = client.get("/v1/dsa/settings", headers=auth).json()
    assert got["categories"]["sexual"]["category"] == dsa_settings.DEFAULT_MAPPING["sexual"][0]
    assert got["submission"] == {"enabled": False, "url": None, "token_set": False}
    assert (got["appeal_window_days"], got["out_of_court_info"]) == (183, "")
    # The appeal window and out-of-court text (the appeals' settings, same row) are set here too, or kept.
    both = client.put("/v1/dsa/settings", headers=auth, json={"appeal_window_days": 365, "out_of_court_info": "ADR body X, adr.example"})
    assert both.status_code == 200 and both.json()["appeal_window_days"] == 365
    kept = client.put("/v1/dsa/settings", headers=auth, json={"territorial_scope": ["DE"]}).json()
    assert (kept["appeal_window_days"], kept["out_of_court_info"]) == (365, "ADR body X, adr.example")


def test_the_schema_refuses_what_the_database_would(client) -> None:  # type: ignore[no-untyped-def]
    good = statements.build(dsa_settings.StatementSettings(), result={"categories": [], "evidence": []}, policy="p version 1",
                            source="api", decided_at=datetime.now(UTC), content_seen_at=datetime.now(UTC), categories=["spam"],
                            restriction=dsa_settings.StatementSettings().restrict, automated_detection=True,
                            automated_decision="AUTOMATED_DECISION_FULLY", source_type="SOURCE_VOLUNTARY", has_text=True, has_image=False)
    assert statements.errors(good) == []
    from jsonschema import Draft202012Validator

    whole = Draft202012Validator(dsa_settings.sor_schema())  # the schema file as written, validated whole
    for broken in ({"decision_visibility": ["DECISION_VISIBILITY_OTHER"]}, {"category": "STATEMENT_CATEGORY_POLITICS"},
                   {"territorial_scope": ["US"]}, {"territorial_scope": ["AT\n"]}, {"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"},
                   {"author_id": "x"}, {"puid": ""}, {"puid": "a b"}, {"content_date": "yesterday"}, {"decision_facts": "x" * 5001},
                   {"content_type": ["CONTENT_TYPE_OTHER"]}, {"automated_decision": "AUTOMATED_DECISION_MOSTLY"}):
        assert statements.errors({**good, **broken}), broken
        assert not whole.is_valid({**good, **broken}), broken  # the fast check says what the whole schema says
    assert whole.is_valid(good)
    for field in ("decision_visibility", "puid", "decision_facts", "category"):
        without = {k: v for k, v in good.items() if k != field}
        assert statements.errors(without) and not whole.is_valid(without), field


# --- the export --------------------------------------------------------------------------------------


def test_export_pages_by_cursor_filters_by_time_and_sees_only_its_project(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    list_policy(project)
    moderate(client, auth, [{"data_id": f"p{i}", "text": BLOCK_WORD} for i in range(7)])
    seen, cursor, pages = [], None, 0
    while True:
        page = client.get("/v1/statements", headers=auth, params={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200 and page.headers["content-type"].startswith("application/jsonl")
        seen += lines(page)
        pages += 1
        cursor = page.headers.get("Tamis-Next-Cursor")
        if not cursor:
            break
    assert pages == 3 and len(seen) == 7 and len({s["id"] for s in seen}) == 7
    assert sorted(s["position"] for s in seen) == list(range(7))
    assert all(statements.errors(s["statement"]) == [] for s in seen)
    now = datetime.now(UTC)
    assert len(lines(client.get("/v1/statements", headers=auth, params={"since": (now - timedelta(hours=1)).isoformat()}))) == 7
    assert lines(client.get("/v1/statements", headers=auth, params={"since": (now + timedelta(hours=1)).isoformat()})) == []
    assert lines(client.get("/v1/statements", headers=auth, params={"until": (now - timedelta(hours=1)).isoformat()})) == []
    assert len(lines(client.get("/v1/statements", headers=auth, params={"since": now.date().isoformat()}))) == 7
    other = {"Authorization": f"Bearer {unlimited_key('other-' + project)}"}
    assert client.get("/v1/statements", headers=other).text == ""
    assert client.get("/v1/statements", headers=other, params={"cursor": seen[0]["id"]}).text == ""


def test_batches_hold_one_to_a_hundred() -> None:
    bodies = [{"puid": f"p{i}"} for i in range(250)]
    shaped = statements.batches(bodies)
    assert [len(b["statements"]) for b in shaped] == [100, 100, 50]
    assert [s["puid"] for b in shaped for s in b["statements"]] == [b["puid"] for b in bodies]
    assert statements.batches([]) == [] and [len(b["statements"]) for b in statements.batches(bodies[:5], size=500)] == [5]


# --- attackers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("params, field", [
    ({"since": "not a date"}, "since"), ({"cursor": "'; drop table"}, "cursor"), ({"limit": 0}, "limit"),
    ({"limit": 100000}, "limit"), ({"since": "2026-12-02", "until": "2026-12-01"}, "since"), ({"cursor": "sor_" + "0" * 31 + "\x00"}, "cursor"),
])
def test_export_refuses_malformed_queries(client, auth, params, field) -> None:  # type: ignore[no-untyped-def]
    assert_problem(client.get("/v1/statements", headers=auth, params=params), 422, field)


@pytest.mark.parametrize("body, status, field", [
    (b"{not json", 400, "body"),
    (b'{"categories": {"politics": {"category": "STATEMENT_CATEGORY_VIOLENCE"}}}', 422, "categories"),
    (b'{"categories": {"hate": {"category": "STATEMENT_CATEGORY_MADE_UP"}}}', 422, "categories.hate.category"),
    (b'{"categories": {"hate": {"category": "STATEMENT_CATEGORY_VIOLENCE", "specification": ["hate"]}}}', 422, "categories.hate.specification"),
    (b'{"territorial_scope": ["US"]}', 422, "territorial_scope"),
    (b'{"territorial_scope": []}', 422, "territorial_scope"),
    (b'{"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"}', 422, None),
    (b'{"restrict": {"decision_visibility": []}}', 422, "restrict"),
    (b'{"restrict": {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]}}', 422, "restrict"),
    (b'{"incompatible_content_ground": "a\\u0000b"}', 422, "incompatible_content_ground"),
    (b'{"unknown": 1}', 422, "unknown"),
    (b'{"appeal_window_days": 30}', 422, "appeal_window_days"),
    (b'{"out_of_court_info": "a\\u0000b"}', 422, "out_of_court_info"),
    (b'{"decision_ground_reference_url": "javascript:alert(1)"}', 422, "decision_ground_reference_url"),
    (b'{"submission": {"enabled": true}}', 422, "submission.url"),
    (b'{"submission": {"enabled": true, "url": "http://127.0.0.1:9/x"}, "submission_token": "tok-12345678"}', 422, "submission.url"),
    (b'{"submission": {"url": "http://169.254.169.254/latest/meta-data"}}', 422, "submission.url"),
    (b'{"submission": {"url": "file:///etc/passwd"}}', 422, "submission.url"),
    (b'{"submission": {"enabled": true, "url": "https://example.org/api"}}', 422, "submission_token"),
    (b'{"incompatible_content_ground": "' + b"x" * 300_000 + b'"}', 413, "body"),
])
def test_settings_refuse_bad_input_and_keep_the_old(client, auth, project, body, status, field) -> None:  # type: ignore[no-untyped-def]
    before = client.get("/v1/dsa/settings", headers=auth).json()
    answer = client.put("/v1/dsa/settings", headers={**auth, "Content-Type": "application/json"}, content=body)
    problem = assert_problem(answer, status, field) if field else assert_problem(answer, status, None)
    assert problem
    assert client.get("/v1/dsa/settings", headers=auth).json() == before


def test_the_token_is_never_read_back_and_settings_are_per_project(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    token = "secret-" + secrets.token_hex(12)
    put = client.put("/v1/dsa/settings", headers=auth, json={
        "submission": {"enabled": False, "url": "https://example.org/api/v1/statements"}, "submission_token": token,
        "territorial_scope": ["FR"]})
    assert put.status_code == 200, put.text
    assert token not in put.text and put.json()["submission"]["token_set"] is True
    got = client.get("/v1/dsa/settings", headers=auth)
    assert token not in got.text and got.json()["submission"]["token_set"] is True
    # A later PUT without the token keeps it; clear_submission_token removes it.
    assert client.put("/v1/dsa/settings", headers=auth, json={"territorial_scope": ["FR", "BE"]}).json()["submission"]["token_set"]
    assert client.put("/v1/dsa/settings", headers=auth, json={"clear_submission_token": True, "territorial_scope": ["FR", "BE"]}).json()["submission"]["token_set"] is False
    # Another project's key reads and writes only its own settings.
    other = {"Authorization": f"Bearer {unlimited_key('other-' + project)}"}
    theirs = client.get("/v1/dsa/settings", headers=other).json()
    assert theirs["territorial_scope"] == list(dsa_settings.EEA) and theirs["submission"]["token_set"] is False
    assert client.put("/v1/dsa/settings", headers=other, json={"territorial_scope": ["IE"]}).status_code == 200
    assert client.get("/v1/dsa/settings", headers=auth).json()["territorial_scope"] == ["FR", "BE"]
    assert_problem(client.get("/v1/dsa/settings"), 401, "Authorization")


def test_a_decision_on_a_notice_states_its_source_and_nothing_of_the_reporter(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    """A case opened by notices (rows as the notice service writes them), one from a trusted flagger:
    the statement says SOURCE_TRUSTED_NOTIFIER, not automated, and holds no reporter data."""
    from tamis.store.models import Case, Report

    list_policy(project)
    doc = moderate(client, auth, [{"data_id": "n1", "text": "a plain sentence"}])
    marks = {k: f"{k}MARK{secrets.token_hex(5)}" for k in ("name", "email", "ref", "explanation")}
    with transaction() as session:
        queue = cases.queues(session, project)[-1]
        case = Case(project_id=project, decision_id=doc["id"], position=0, data_id="n1", text="a plain sentence", queue_id=queue.id,
                    status="open", verdict="review", category="hate", score=0.0, source="user_report")
        session.add(case)
        session.flush()
        for trusted in (False, True):
            session.add(Report(project_id=project, case_id=case.id, data_id="n1", category="hate", explanation=marks["explanation"],
                               location="https://example.org/n1", source="api", trusted_flagger=trusted, reporter_name=marks["name"],
                               reporter_email=marks["email"] + "@example.org", reporter_ref=marks["ref"]))
        case_id = case.id
    assert client.post(f"/v1/cases/{case_id}/decision", headers=auth, json={"action": "uphold", "category": "hate"}).status_code == 201
    [row] = stored(project)
    assert (row.kind, row.case_id) == ("human", case_id) and statements.errors(row.body) == []
    assert (row.body["source_type"], row.body["automated_detection"], row.body["automated_decision"]) == (
        "SOURCE_TRUSTED_NOTIFIER", "No", "AUTOMATED_DECISION_NOT_AUTOMATED")
    assert "after a notice" in row.body["decision_facts"]
    exported = client.get("/v1/statements", headers=auth).text
    for mark in marks.values():
        assert mark not in exported and mark not in json.dumps(row.body)


def test_cli_settings_show_write_and_hide_the_token(client, auth, project: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from tamis.cli import app

    runner = CliRunner()
    shown = runner.invoke(app, ["dsa", "settings", "--project", project])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    wanted = tmp_path / "settings.json"
    wanted.write_text(json.dumps({"territorial_scope": ["NL"], "incompatible_content_ground": "Terms, section 3",
                                  "submission": {"enabled": True, "url": "https://example.org/api/v1/statements"}}))
    token = "tok-" + secrets.token_hex(10)
    done = runner.invoke(app, ["dsa", "settings", "--project", project, "--set", str(wanted), "--token-stdin"], input=token + "\n")
    assert done.exit_code == 0, done.output
    assert token not in done.output and json.loads(done.stdout)["submission"]["token_set"] is True
    got = client.get("/v1/dsa/settings", headers=auth).json()
    assert got["territorial_scope"] == ["NL"] and got["incompatible_content_ground"] == "Terms, section 3"
    wanted.write_text(json.dumps({"territorial_scope": ["XX"]}))
    bad = runner.invoke(app, ["dsa", "settings", "--project", project, "--set", str(wanted)])
    assert bad.exit_code == 2 and "territorial_scope" in bad.output
    wanted.write_text(json.dumps({"submission": {"url": "http://10.0.0.1/x"}}))
    bad = runner.invoke(app, ["dsa", "settings", "--project", project, "--set", str(wanted)])
    assert bad.exit_code == 2 and "refused" in bad.output
    assert client.get("/v1/dsa/settings", headers=auth).json()["territorial_scope"] == ["NL"]


@pytest.mark.parametrize("source, evidence, has_text, has_image, expected", [
    ("video", [], False, False, ["CONTENT_TYPE_VIDEO"]),
    ("retro", [{"type": "bank_match", "bank": "b", "signal": "vpdq"}], False, False, ["CONTENT_TYPE_VIDEO"]),
    ("retro", [{"type": "bank_match", "bank": "b", "signal": "pdq"}], False, False, ["CONTENT_TYPE_IMAGE"]),
    ("api", [{"type": "url", "source": "text"}], False, False, ["CONTENT_TYPE_TEXT"]),
    ("api", [], True, True, ["CONTENT_TYPE_TEXT", "CONTENT_TYPE_IMAGE"]),
    ("api", [{"type": "bbox"}], False, False, ["CONTENT_TYPE_IMAGE"]),
    ("api", [], False, False, ["CONTENT_TYPE_OTHER"]),
])
def test_content_type_follows_the_media(source, evidence, has_text, has_image, expected) -> None:  # type: ignore[no-untyped-def]
    assert statements.content_types(source, {"evidence": evidence}, has_text=has_text, has_image=has_image) == expected


def test_language_and_categories_come_from_the_result_only() -> None:
    result = {"language": {"code": "de", "confidence": 0.9}, "categories": [
        {"name": "hate", "score": 0.7, "flagged": True}, {"name": "violence", "score": 0.95, "flagged": True},
        {"name": "spam", "score": 0.99, "flagged": False}],
        "evidence": [{"type": "list", "list": "l", "entry": "SECRETWORD", "category": "scam"},
                     {"type": "bank_match", "bank": "known", "entry": "e", "signal": "pdq", "distance": 0, "category": "extremism",
                      "negative": True}]}
    assert statements.language(result) == "DE" and statements.language({"language": {"code": "und"}}) is None
    assert statements.flagged_categories(result) == ["violence", "hate", "scam"]  # a negative bank's category is no reason
    body = statements.build(dsa_settings.StatementSettings(), result=result, policy="p version 2", source="api",
                            decided_at=datetime.now(UTC), content_seen_at=datetime.now(UTC),
                            categories=statements.flagged_categories(result), restriction=dsa_settings.StatementSettings().restrict,
                            automated_detection=True, automated_decision="AUTOMATED_DECISION_FULLY", source_type="SOURCE_VOLUNTARY",
                            has_text=True, has_image=False)
    assert body["content_language"] == "DE" and body["category"] == "STATEMENT_CATEGORY_VIOLENCE"
    assert body["category_addition"] == ["STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"]
    assert "SECRETWORD" not in json.dumps(body) and "terms of the platform's block lists (scam)" in body["decision_facts"]


def test_statements_commit_with_their_decision_or_not_at_all(project: str) -> None:
    """Stored in the decision's transaction: a crash before the commit leaves neither. A shadow
    policy's blocks are never enforced, so they state nothing."""
    from tamis.schema import Item
    from tamis.services import moderation
    from tamis.store.models import Decision

    list_policy(project)
    enforced, _ = moderation.active_policies(project, "default")
    items = [Item(data_id="x", text=BLOCK_WORD)]
    doc = moderation.judge(project, enforced, items)
    assert doc.results[0].verdict == "block"
    with pytest.raises(RuntimeError, match="crash"):
        with transaction() as session:
            moderation.record(session, doc, shadow=False, source="test", items=items)
            session.flush()
            assert len(session.scalars(select(Statement).where(Statement.decision_id == doc.id)).all()) == 1
            raise RuntimeError("crash between the decision and the commit")
    with transaction() as session:
        assert session.get(Decision, doc.id) is None
    assert stored(project) == []
    with transaction() as session:
        moderation.record(session, moderation.judge(project, enforced, items), shadow=True, source="test", items=items)
    assert stored(project) == []


def test_a_retroactive_bank_match_states_an_image_first_seen_earlier(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    """An image passed, then a bank gains its hash: the retroactive block gets a statement dated to the
    first decision, typed as an image, with the bank named (its entry never)."""
    from test_hash_matching import CAT, add, make_bank
    from tamis.hashing.digests import md5_hex
    from tamis.services.jobs import run_due
    from tamis.store.db import session_factory
    from tamis.store.models import Decision

    list_policy(project)
    first = client.post("/v1/moderate", headers=auth, files={"file": ("a.jpg", CAT, "image/jpeg")}, data={"data_id": "img-1"}).json()
    assert first["results"][0]["verdict"] == "pass" and stored(project) == []
    make_bank(client, auth, "known", category="extremism", action="block")
    add(client, auth, "known", {"signal": "md5", "value": md5_hex(CAT), "label": "entryLABELsecret"})
    run_due(session_factory())
    [row] = stored(project)
    with transaction() as session:
        retro = session.get(Decision, row.decision_id)
        assert retro is not None and retro.source == "retro" and retro.doc["follows"] == first["id"]
        retro_day = retro.created_at.date().isoformat()
    body = row.body
    assert statements.errors(body) == [] and body["content_type"] == ["CONTENT_TYPE_IMAGE"]
    assert body["content_date"] == first["created_at"][:10] and body["application_date"] == retro_day
    assert body["category"] == dsa_settings.DEFAULT_MAPPING["extremism"][0] and "hash bank(s) known" in body["decision_facts"]
    assert "entryLABELsecret" not in json.dumps(body) and "img-1" not in json.dumps(body)


def test_a_person_restricting_an_image_states_an_image(client, auth, project: str, sample_everything) -> None:  # type: ignore[no-untyped-def]
    from test_hash_matching import CAT

    list_policy(project)
    sent = client.post("/v1/moderate", headers=auth, files={"file": ("a.jpg", CAT, "image/jpeg")}, data={"data_id": "img-2"})
    assert sent.json()["results"][0]["verdict"] == "pass"
    [case] = client.get("/v1/cases", headers=auth).json()["cases"]
    assert client.post(f"/v1/cases/{case['id']}/decision", headers=auth, json={"action": "overturn", "category": "sexual"}).status_code == 201
    [row] = stored(project)
    assert row.body["content_type"] == ["CONTENT_TYPE_IMAGE"] and row.body["category"] == dsa_settings.DEFAULT_MAPPING["sexual"][0]
    assert "in a random quality check" in row.body["decision_facts"] and statements.errors(row.body) == []
