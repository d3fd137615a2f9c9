"""The DSA pages over HTTP (TestClient on https://, the cookies are Secure): the admins' settings
page (role limits, CSRF), and the public report form: off by default, CSRF-protected, refusing bad
input naming the field, rate-limited per client address."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dsa_helpers import EMAIL, item
from review_helpers import add_reviewer
from test_review_web import csrf_of, sign_in
from tamis.services import redress
from tamis.services.dsa import settings as dsa_settings
from tamis.store.db import transaction
from tamis.store.models import Report, ReviewEvent
from tamis.web import dsa as dsa_web

pytestmark = pytest.mark.slow  # argon2 sign-ins


@pytest.fixture
def browser(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def _stored(project: str) -> list[Report]:
    with transaction() as session:
        return list(session.scalars(select(Report).where(Report.project_id == project)))


def test_admins_set_the_appeal_window_out_of_court_text_and_the_public_form(browser: TestClient, project: str) -> None:
    admin, moderator = add_reviewer(project, "admin"), add_reviewer(project, "moderator")
    sign_in(browser, moderator)
    assert browser.get(f"/review/p/{project}/dsa").status_code == 403
    home = browser.get("/review")
    assert browser.post(f"/review/p/{project}/dsa", data={"csrf": csrf_of(home.text), "appeal_window_days": "400"}).status_code == 403
    browser.cookies.clear()
    sign_in(browser, admin)
    page = browser.get(f"/review/p/{project}/dsa")
    assert page.status_code == 200 and 'value="183"' in page.text
    assert browser.post(f"/review/p/{project}/dsa", data={"csrf": "forged", "appeal_window_days": "400"}).status_code == 403
    short = browser.post(f"/review/p/{project}/dsa", data={"csrf": csrf_of(page.text), "appeal_window_days": "30"})
    assert short.status_code == 422
    saved = browser.post(f"/review/p/{project}/dsa", data={"csrf": csrf_of(page.text), "appeal_window_days": "400",
                                                           "out_of_court_info": "ODS: example body", "public_form": "on"})
    assert saved.status_code == 200 and "Saved." in saved.text
    with transaction() as session:
        conf = redress.settings(session, project)
        assert (conf.appeal_window_days, conf.out_of_court_info, conf.public_form) == (400, "ODS: example body", True)
        assert session.scalar(select(ReviewEvent.kind).where(ReviewEvent.project_id == project, ReviewEvent.kind == "dsa_settings"))


def _open_form(project: str) -> None:
    with transaction() as session:
        redress.update_settings(session, project, public_form=True)


def _send(browser: TestClient, project: str, **fields: str):  # type: ignore[no-untyped-def]
    form = browser.get(f"/report/{project}", params={"data_id": "post-1", "location": "https://forum.example.org/t/1"})
    assert form.status_code == 200
    data = {"csrf": csrf_of(form.text), "data_id": "post-1", "location": "https://forum.example.org/t/1",
            "category": "harassment", "explanation": "It threatens my sister.", "name": "Rita", "email": EMAIL,
            "good_faith": "on"}
    data.update(fields)
    return browser.post(f"/report/{project}", data={k: v for k, v in data.items() if v is not None})


def test_the_public_form_is_off_by_default_then_takes_a_notice(browser: TestClient, project: str) -> None:
    item(project, "post-1")
    assert browser.get(f"/report/{project}").status_code == 404
    assert browser.get("/report/no-such-project").status_code == 404  # the same answer
    _open_form(project)
    form = browser.get(f"/report/{project}", params={"data_id": "post-1", "location": "https://forum.example.org/t/1"})
    assert 'value="post-1"' in form.text and form.headers["x-frame-options"] == "DENY"
    cookie = next(c for c in form.headers.get_list("set-cookie") if c.startswith(dsa_web.FORM_COOKIE + "="))
    assert {"HttpOnly", "Secure", "SameSite=strict"} <= {part.strip() for part in cookie.split(";")}
    sent = _send(browser, project)
    assert sent.status_code == 201 and "Report received" in sent.text
    receipt = re.search(r'id="receipt-id">(rep_[0-9a-f]+)<', sent.text)
    (stored,) = _stored(project)
    assert receipt and stored.id == receipt.group(1)
    assert (stored.source, stored.reporter_email, stored.category) == ("form", EMAIL, "harassment")


@pytest.mark.parametrize("fields, status, says", [
    ({"location": "javascript:alert(1)"}, 422, "location"),
    ({"location": "http://192.168.1.1/"}, 422, "location"),
    ({"email": "nope"}, 422, "email"),
    ({"email": "", "name": ""}, 422, "reporter_email"),
    ({"good_faith": None}, 422, "good faith"),
    ({"explanation": " "}, 422, "explanation"),
    ({"data_id": "never-sent"}, 422, "data_id"),
    ({"category": "politics"}, 422, "category"),
    ({"explanation": "x" * 5001}, 422, "explanation"),
    ({"csrf": "forged"}, 403, "expired"),
])
def test_the_public_form_refuses_bad_input_and_records_nothing(browser: TestClient, project: str, fields, status, says) -> None:  # type: ignore[no-untyped-def]
    item(project, "post-1")
    _open_form(project)
    refused = _send(browser, project, **fields)
    assert refused.status_code == status and says in refused.text
    assert _stored(project) == []


def test_the_public_form_refuses_other_sites_and_floods(browser: TestClient, project: str) -> None:
    item(project, "post-1")
    _open_form(project)
    form = browser.get(f"/report/{project}")
    forged = browser.post(f"/report/{project}", headers={"Origin": "https://evil.example"},
                          data={"csrf": csrf_of(form.text), "data_id": "post-1"})
    assert forged.status_code == 403
    answers = [_send(browser, project).status_code for _ in range(int(dsa_web.FORM_BURST) + 3)]
    assert answers[: int(dsa_web.FORM_BURST)] == [201] * int(dsa_web.FORM_BURST)
    assert set(answers[int(dsa_web.FORM_BURST):]) == {429}
    assert len(_stored(project)) == int(dsa_web.FORM_BURST)
    assert dsa_web.limiter.take("another", "1.2.3.4")  # one address's flood does not close the form to others


def _statement_form(page: str, **over: str) -> dict[str, str]:
    """The statement settings form as the page fills it, with some fields changed."""
    data = {"csrf": csrf_of(page), "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "incompatible_content_ground": "Forum rules, section 3", "territorial_scope": "FR, be,DE"}
    data.update(over)
    return data


def test_admins_edit_the_statement_mapping_ground_and_scope_others_are_refused(browser: TestClient, project: str) -> None:
    admin, moderator = add_reviewer(project, "admin"), add_reviewer(project, "moderator")
    sign_in(browser, moderator)
    home = browser.get("/review")
    refused = browser.post(f"/review/p/{project}/dsa/statements", data=_statement_form(home.text))
    assert refused.status_code == 403
    browser.cookies.clear()
    sign_in(browser, admin)
    page = browser.get(f"/review/p/{project}/dsa").text
    assert 'name="map.harassment"' in page and "STATEMENT_CATEGORY_CYBER_VIOLENCE\" selected" in page
    assert browser.post(f"/review/p/{project}/dsa/statements", data=_statement_form(page, csrf="forged")).status_code == 403
    bad = [({"map.hate": "STATEMENT_CATEGORY_NOPE"}, "categories.hate.category"),
           ({"kw.spam": "KEYWORD_OK, not a keyword"}, "categories.spam.specification"),
           ({"territorial_scope": "FR, XX"}, "territorial_scope"), ({"territorial_scope": ""}, "territorial_scope"),
           ({"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"}, "illegal_content_legal_ground"),
           ({"decision_ground_reference_url": "javascript:alert(1)"}, "decision_ground_reference_url"),
           ({"incompatible_content_ground": ""}, "incompatible_content_ground")]
    for fields, named in bad:
        answer = browser.post(f"/review/p/{project}/dsa/statements", data=_statement_form(page, **fields))
        assert answer.status_code == 422 and named in answer.text, (fields, answer.text[:300])
    with transaction() as session:
        assert dsa_settings.load(session, project)[1] is None  # nothing written by the refusals
    saved = browser.post(f"/review/p/{project}/dsa/statements", data=_statement_form(
        page, **{"map.spam": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "kw.spam": "KEYWORD_PHISHING",
                 "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT", "illegal_content_legal_ground": "Loi n° 2004-575, art. 6"}))
    assert saved.status_code == 200 and "Statement settings saved." in saved.text
    with transaction() as session:
        stored, _ = dsa_settings.load(session, project)
        event = session.scalar(select(ReviewEvent).where(ReviewEvent.project_id == project, ReviewEvent.kind == "dsa_settings"))
    assert stored.categories["spam"].category == "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    assert stored.categories["spam"].specification == ["KEYWORD_PHISHING"]
    assert stored.categories["hate"].category == "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"  # left as it was
    assert stored.territorial_scope == ["FR", "BE", "DE"] and stored.decision_ground == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert event is not None and event.actor == admin and event.detail["part"] == "statements"
    assert event.detail["categories_changed"] == ["spam"]
