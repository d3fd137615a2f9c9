"""Statements of reasons end to end with notices and appeals: a trusted flagger's notice on an item the
machine passed → its case → a person restricts it → a statement (SOURCE_TRUSTED_NOTIFIER, not
automated, nothing of the reporter); an appeal of that restriction → another person reverses it → a
restoration statement; and the transparency report counts all of it."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from dsa_helpers import list_policy
from tamis.services.dsa import statements, transparency
from tamis.store.db import transaction
from tamis.store.models import Statement


def test_notice_decision_appeal_reversal_and_the_report(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    list_policy(project)
    sent = client.post("/v1/moderate", headers=auth, json={"items": [{"data_id": "post-9", "text": "an ordinary sentence",
                                                                      "author_id": "author-secret"}]})
    assert sent.json()["results"][0]["verdict"] == "pass"
    marks = {k: f"{k}MARK{secrets.token_hex(4)}" for k in ("name", "explanation")}
    email = f"mark{secrets.token_hex(4)}@example.org"
    notice = client.post("/v1/reports", headers=auth, json={
        "data_id": "post-9", "category": "harassment", "explanation": marks["explanation"],
        "location": "https://forum.example.org/t/9", "reporter_name": marks["name"], "reporter_email": email,
        "good_faith": True, "trusted_flagger": True})
    assert notice.status_code == 201, notice.text
    case_id = notice.json()["case_id"]
    decided = client.post(f"/v1/cases/{case_id}/decision", headers=auth,
                          json={"action": "overturn", "category": "harassment", "reviewer": "mod-ana"})
    assert decided.status_code == 201 and decided.json()["verdict"] == "block", decided.text
    with transaction() as session:
        [human] = session.scalars(select(Statement).where(Statement.project_id == project)).all()
        body = human.body
    assert human.kind == "human" and statements.errors(body) == []
    assert (body["source_type"], body["automated_detection"], body["automated_decision"]) == (
        "SOURCE_TRUSTED_NOTIFIER", "No", "AUTOMATED_DECISION_NOT_AUTOMATED")
    # The affected user appeals; another person reverses the restriction: a restoration is stated.
    appeal = client.post("/v1/appeals", headers=auth, json={"appellant": "affected_user", "data_id": "post-9",
                                                            "reason": "It was a quote."})
    assert appeal.status_code == 201, appeal.text
    reversed_ = client.post(f"/v1/cases/{appeal.json()['case_id']}/decision", headers=auth, json={
        "action": "overturn", "reviewer": "mod-ben", "reply": "Restored: a quote, not an insult."})
    assert reversed_.status_code == 201 and reversed_.json()["verdict"] == "pass", reversed_.text
    exported = client.get("/v1/statements", headers=auth)
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert [line["kind"] for line in lines] == ["human", "restore"]
    restore = lines[1]["statement"]
    assert statements.errors(restore) == [] and restore["source_type"] == "SOURCE_TRUSTED_NOTIFIER"
    assert "on appeal" in restore["decision_facts"]
    for secret in [*marks.values(), email, "post-9", "author-secret", "mod-ana", "mod-ben", "a quote"]:
        assert secret not in exported.text, secret
    now = datetime.now(UTC)
    with transaction() as session:
        f = transparency.figures(session, project, now - timedelta(days=1), now + timedelta(days=1))
    assert dict(f.notices_by_category) == {"harassment": 1} and f.notices_trusted == 1 and f.notices_decided == 1
    assert (f.appeals_received, f.appeals_decided, f.appeals_reversed) == (1, 1, 1)
    assert f.actions == 1 and f.restorations == 1 and dict(f.actions_by_source) == {"SOURCE_TRUSTED_NOTIFIER": 1}
    assert f.accuracy == []  # people's decisions on notices and appeals say nothing of the automated means
