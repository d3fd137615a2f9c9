"""/review over HTTP (TestClient on https://, as the cookie is Secure): sign-in and its cookie,
CSRF, session fixation, throttling, role limits and other projects refused on the server."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from review_helpers import PASSWORD, add_reviewer, review_everything_flagged
from tamis.services import reviewers
from tamis.store.db import transaction
from tamis.store.models import Case

CSRF = re.compile(r'name="csrf" value="([^"]+)"')

# A browser session per test (argon2 sign-ins, the app's start): ~10 s in all, so outside the fast lane.
pytestmark = pytest.mark.slow


@pytest.fixture
def browser(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    form = client.get("/review/login")
    answer = client.post("/review/login", data={"username": name, "password": password, "csrf": csrf_of(form.text)},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture
def queued(client, auth, project: str) -> str:  # type: ignore[no-untyped-def]
    """A project with one case (sent to review by /v1/moderate)."""
    review_everything_flagged(project)
    sent = client.post("/v1/moderate", headers=auth, json={"items": [
        {"data_id": "post-1", "text": "well, you are a fucking idiot", "author_id": "user-9", "context": "thread about cats"}]})
    assert sent.json()["results"][0]["verdict"] == "review"
    return project


def claim(client: TestClient, project: str) -> str:
    """Claim the next case of the project's default queue from the home page; the case page's URL."""
    home = client.get("/review")
    action = re.search(rf'action="(/review/p/{re.escape(project)}/queues/[^"]+/next)"', home.text)
    assert action, home.text
    answer = client.post(action.group(1), data={"csrf": csrf_of(home.text)}, follow_redirects=False)
    assert answer.status_code == 303
    return answer.headers["location"]


def test_sign_in_sets_a_strict_session_cookie_and_sign_out_ends_it(browser: TestClient, project: str) -> None:
    name = add_reviewer(project)
    form = browser.get("/review/login")
    assert form.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in form.headers["content-security-policy"]
    answer = browser.post("/review/login", data={"username": name, "password": PASSWORD, "csrf": csrf_of(form.text)},
                          follow_redirects=False)
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("tamis_review="))
    assert {"HttpOnly", "Secure", "SameSite=strict"} <= {part.strip() for part in cookie.split(";")}
    home = browser.get("/review")
    assert home.status_code == 200 and project in home.text and name in home.text
    browser.post("/review/logout", data={"csrf": csrf_of(home.text)})
    assert browser.get("/review", follow_redirects=False).headers["location"] == "/review/login"


def test_wrong_password_and_disabled_accounts_are_refused_alike(browser: TestClient, project: str) -> None:
    name = add_reviewer(project)
    form = browser.get("/review/login")
    wrong = browser.post("/review/login", data={"username": name, "password": "nope" * 4, "csrf": csrf_of(form.text)})
    unknown = browser.post("/review/login", data={"username": "nobody-at-all", "password": PASSWORD, "csrf": csrf_of(wrong.text)})
    assert wrong.status_code == unknown.status_code == 401 and "Wrong username or password" in unknown.text
    with transaction() as session:
        reviewers.set_disabled(session, name)
    disabled = browser.post("/review/login", data={"username": name, "password": PASSWORD, "csrf": csrf_of(unknown.text)})
    assert disabled.status_code == 401


def test_sign_in_without_the_forms_token_is_refused(browser: TestClient, project: str) -> None:
    name = add_reviewer(project)
    browser.get("/review/login")
    forged = browser.post("/review/login", data={"username": name, "password": PASSWORD, "csrf": "guess"})
    assert forged.status_code == 403 and "tamis_review=" not in forged.headers.get("set-cookie", "")


def test_repeated_failures_are_throttled_even_with_the_right_password(browser: TestClient, project: str) -> None:
    name = add_reviewer(project)
    page = browser.get("/review/login")
    for _ in range(reviewers.THROTTLE_AFTER):
        page = browser.post("/review/login", data={"username": name, "password": "wrong password!", "csrf": csrf_of(page.text)})
        assert page.status_code == 401
    throttled = browser.post("/review/login", data={"username": name, "password": PASSWORD, "csrf": csrf_of(page.text)})
    assert throttled.status_code == 429 and "try again in" in throttled.text


def test_a_session_token_planted_before_sign_in_is_never_the_session(app, project: str) -> None:  # type: ignore[no-untyped-def]
    """Session fixation: the attacker's own valid token, planted in a victim's browser, is replaced
    at sign-in and stops working."""
    attacker, victim = add_reviewer(project), add_reviewer(project)
    with TestClient(app, base_url="https://testserver") as theirs, TestClient(app, base_url="https://testserver") as mine:
        sign_in(theirs, attacker)
        planted_cookie = next(c for c in theirs.cookies.jar if c.name == "tamis_review")
        planted = planted_cookie.value
        mine.cookies.jar.set_cookie(planted_cookie)
        sign_in(mine, victim)
        assert [c.value for c in mine.cookies.jar if c.name == "tamis_review"] != [planted]
        assert victim in mine.get("/review").text
        assert theirs.get("/review", follow_redirects=False).status_code == 303  # the planted token is dead


def test_every_post_needs_the_sessions_csrf_token(browser: TestClient, queued: str) -> None:
    sign_in(browser, add_reviewer(queued))
    case_url = claim(browser, queued)
    page = browser.get(case_url)
    assert page.status_code == 200
    for data in ({"action": "uphold"}, {"action": "uphold", "csrf": "forged"}):
        refused = browser.post(case_url + "/decision", data=data)
        assert refused.status_code == 403 and "CSRF" in refused.text
    cross_site = browser.post(case_url + "/decision", data={"action": "uphold", "csrf": csrf_of(page.text)},
                              headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403
    assert 'data-mine="yes"' in browser.get(case_url).text  # still undecided, still held


def test_claim_view_and_decide(browser: TestClient, queued: str) -> None:
    sign_in(browser, add_reviewer(queued))
    home = browser.get("/review")
    assert re.search(r'<td class="n open">1</td>', home.text)
    case_url = claim(browser, queued)
    page = browser.get(case_url).text
    assert "<mark" in page and "fucking" in re.search(r"<mark[^>]*>([^<]*)</mark>", page).group(1)  # type: ignore[union-attr]
    assert "thread about cats" in page and "user-9" in page and "policy default v1" in page and "text-model@" in page
    decided = browser.post(case_url + "/decision", data={"action": "overturn", "category": "harassment", "reason": "banter",
                                                        "note": "friends joking", "csrf": csrf_of(page), "next": "1"},
                           follow_redirects=False)
    assert decided.headers["location"].startswith("/review?notice=")  # nothing left to claim
    after = browser.get(case_url).text
    assert "overturn → pass" in after and "friends joking" in after and 'data-mine="no"' in after


def test_a_reviewer_cannot_do_admin_things(browser: TestClient, queued: str) -> None:
    sign_in(browser, add_reviewer(queued))
    home = browser.get("/review")
    assert f"/review/p/{queued}/admin" not in home.text
    assert browser.get(f"/review/p/{queued}/admin").status_code == 403
    refused = browser.post(f"/review/p/{queued}/admin/queues", data={"name": "mine", "rules": "{}", "csrf": csrf_of(home.text)})
    assert refused.status_code == 403 and "admin role" in refused.text
    assert "mine" not in [s for s in re.findall(r'data-queue="([^"]+)"', browser.get("/review").text)]


def test_an_admin_adds_a_queue_and_bad_rules_are_refused(browser: TestClient, queued: str) -> None:
    sign_in(browser, add_reviewer(queued, "admin"))
    page = browser.get(f"/review/p/{queued}/admin")
    assert page.status_code == 200
    bad = browser.post(f"/review/p/{queued}/admin/queues", data={"name": "x", "rules": '{"min_score": 7}', "csrf": csrf_of(page.text)})
    assert bad.status_code == 422 and "min_score" in bad.text
    good = browser.post(f"/review/p/{queued}/admin/queues", data={"name": "minors", "rules": '{"categories": ["sexual/minors"]}',
                                                                 "csrf": csrf_of(page.text)})
    assert good.status_code == 200 and "minors" in re.findall(r'data-queue="([^"]+)"', browser.get("/review").text)


def test_another_projects_reviewer_gets_nothing(app, queued: str) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver") as owner, TestClient(app, base_url="https://testserver") as stranger:
        sign_in(owner, add_reviewer(queued))
        case_url = claim(owner, queued)
        sign_in(stranger, add_reviewer(queued + "-other", "admin"))
        home = stranger.get("/review")
        assert queued + "/" not in home.text
        assert stranger.get(case_url).status_code == 404
        assert stranger.get(case_url + "/image").status_code == 404
        assert stranger.post(case_url + "/decision", data={"action": "uphold", "csrf": csrf_of(home.text)}).status_code == 404
        assert stranger.get(f"/review/p/{queued}/admin").status_code == 404
        queue_next = re.search(r'action="(/review/p/[^"]+/queues/[^"]+/next)"', owner.get("/review").text).group(1)  # type: ignore[union-attr]
        assert stranger.post(queue_next, data={"csrf": csrf_of(home.text)}).status_code == 404


def test_malformed_and_oversized_forms_are_4xx(browser: TestClient, queued: str) -> None:
    sign_in(browser, add_reviewer(queued))
    case_url = claim(browser, queued)
    token = csrf_of(browser.get(case_url).text)
    assert browser.post(case_url + "/decision", data={"action": "ban", "csrf": token}).status_code == 422
    assert browser.post(case_url + "/decision", data={"action": "uphold", "category": "politics", "csrf": token}).status_code == 422
    big = browser.post(case_url + "/decision", data={"action": "uphold", "note": "x" * 20_000, "csrf": token})
    assert big.status_code in (400, 413)
    garbage = browser.post(case_url + "/decision", content=b"--x\r\nnot a form", headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert 400 <= garbage.status_code < 500
    assert browser.get(f"/review/p/{queued}/cases", params={"status": "lost"}).status_code == 422
    assert browser.get(f"/review/p/{queued}/cases", params={"data_id": "post-1"}).status_code == 200


def test_the_audit_log_records_sign_ins_reveals_decisions_and_user_changes(app, queued: str) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from tamis.cli import app as cli

    reviewer, admin = add_reviewer(queued), add_reviewer(queued, "admin")
    assert CliRunner().invoke(cli, ["users", "grant", reviewer, "--project", queued, "--role", "reviewer"]).exit_code == 0
    with TestClient(app, base_url="https://testserver") as theirs, TestClient(app, base_url="https://testserver") as boss:
        form = theirs.get("/review/login")
        theirs.post("/review/login", data={"username": reviewer, "password": "not the password", "csrf": csrf_of(form.text)})
        sign_in(theirs, reviewer)
        case_url = claim(theirs, queued)
        token = csrf_of(theirs.get(case_url).text)
        assert theirs.post(case_url + "/reveal", data={"csrf": "forged"}).status_code == 403
        assert theirs.post(case_url + "/reveal", data={"csrf": token}).status_code == 204
        theirs.post(case_url + "/decision", data={"action": "uphold", "category": "harassment", "csrf": token})
        assert "1 media revealed, 1 cases decided" in theirs.get("/review").text
        assert theirs.get(f"/review/p/{queued}/audit").status_code == 403  # admins only
        sign_in(boss, admin)
        page = boss.get(f"/review/p/{queued}/audit")
        assert page.status_code == 200
        kinds = re.findall(r'<tr data-kind="([a-z_]+)"><td>[^<]*</td><td>([^<]*)</td>', page.text)
        assert ("sign_in_failed", reviewer) in kinds and ("sign_in", reviewer) in kinds and ("reveal", reviewer) in kinds
        assert ("decision", reviewer) in kinds and ("user_grant", "cli") in kinds
        assert kinds.index(("decision", reviewer)) < kinds.index(("reveal", reviewer))  # newest first


def test_a_break_reminder_past_the_daily_soft_limit(browser: TestClient, queued: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tamis import config

    sign_in(browser, add_reviewer(queued))
    case_url = claim(browser, queued)
    assert "break-reminder" not in browser.get(case_url).text
    monkeypatch.setenv("TAMIS_REVIEW_DAILY_SOFT_LIMIT", "1")
    config.get_settings.cache_clear()
    try:
        token = csrf_of(browser.get(case_url).text)
        browser.post(case_url + "/reveal", data={"csrf": token})
        assert "Take a break" in browser.get(case_url).text
    finally:
        monkeypatch.delenv("TAMIS_REVIEW_DAILY_SOFT_LIMIT")
        config.get_settings.cache_clear()


def test_a_moderator_bulk_overturns_with_confirmation_and_undoes_in_time(app, client, auth, queued: str) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from tamis.services import cases as case_service
    from tamis.services import webhooks
    from tamis.store.models import Delivery

    with transaction() as session:
        hook_id = webhooks.create_webhook(session, queued, "https://example.org/hook").id
    client.post("/v1/moderate", headers=auth, json={"items": [{"data_id": "post-2", "text": "you stupid idiot"}]})
    with TestClient(app, base_url="https://testserver") as mod, TestClient(app, base_url="https://testserver") as plain:
        sign_in(plain, add_reviewer(queued))
        listing = plain.get(f"/review/p/{queued}/cases")
        assert 'name="case"' not in listing.text  # no bulk selection for reviewers
        refused = plain.post(f"/review/p/{queued}/bulk", data={"csrf": csrf_of(listing.text), "action": "overturn", "case": ["x"]})
        assert refused.status_code == 403
        sign_in(mod, add_reviewer(queued, "moderator"))
        listing = mod.get(f"/review/p/{queued}/cases")
        ids = re.findall(r'name="case" value="([^"]+)"', listing.text)
        assert len(ids) == 2
        token = csrf_of(listing.text)
        confirm = mod.post(f"/review/p/{queued}/bulk", data={"csrf": token, "action": "overturn", "reason": "satire", "case": ids})
        assert "Overturn 2 cases?" in confirm.text
        assert all(c["status"] == "open" for c in client.get("/v1/cases", headers=auth).json()["cases"])  # nothing yet
        done = mod.post(f"/review/p/{queued}/bulk", data={"csrf": token, "action": "overturn", "reason": "satire", "case": ids, "confirm": "1"})
        assert "2 of 2 cases decided" in done.text
        assert {c["status"] for c in client.get("/v1/cases", headers=auth).json()["cases"]} == {"decided"}
        with transaction() as session:
            held = session.scalars(select(Delivery).where(Delivery.webhook_id == hook_id, Delivery.body.contains('"type":"review"'))).all()
            assert len(held) == 2 and all(d.next_attempt_at > time.time() + 20 for d in held)  # waiting for the undo window
        undo = re.search(r'action="([^"]+/undo)"', done.text).group(1)  # type: ignore[union-attr]
        assert mod.post(undo, data={"csrf": token}).status_code == 200
        assert {c["status"] for c in client.get("/v1/cases", headers=auth).json()["cases"]} == {"open"}
        with transaction() as session:
            held = session.scalars(select(Delivery).where(Delivery.webhook_id == hook_id, Delivery.body.contains('"type":"review"'))).all()
            assert {(d.status, d.last_error) for d in held} == {("failed", "undone")}
        assert mod.post(undo, data={"csrf": token}).status_code == 404  # once
        late = mod.post(f"/review/p/{queued}/bulk", data={"csrf": token, "action": "uphold", "case": ids, "confirm": "1"})
        batch = re.search(r"/bulk/([^/]+)/undo", late.text).group(1)  # type: ignore[union-attr]
        with transaction() as session, pytest.raises(case_service.CaseError) as too_late:
            reviewer_id = reviewers.by_name(session, re.search(r'class="who">([^<]+)<', late.text).group(1)).id  # type: ignore[union-attr]
            case_service.undo_batch(session, queued, batch, reviewer_id,
                                    now=datetime.now(UTC) + timedelta(seconds=case_service.UNDO_S + 1))
        assert too_late.value.kind == "conflict"


def test_the_audit_pages_paging_takes_any_digits(app, queued: str) -> None:  # type: ignore[no-untyped-def]
    """A `before` past PostgreSQL's INTEGER once reached the database: a 500."""
    with TestClient(app, base_url="https://testserver") as browser:
        sign_in(browser, add_reviewer(queued, "admin"))
        for before in ("2147483647", "2147483648", "99999999999999999", "-1", "x"):
            assert browser.get(f"/review/p/{queued}/audit", params={"before": before}).status_code == 200, before


def test_escalating_to_a_person_takes_only_a_member_of_the_project(app, queued: str) -> None:  # type: ignore[no-untyped-def]
    stranger, member = add_reviewer(f"{queued}-other"), add_reviewer(queued)
    with TestClient(app, base_url="https://testserver") as browser:
        sign_in(browser, add_reviewer(queued))
        url = claim(browser, queued)
        page = browser.get(url)
        assert f'<option value="{member}">' in page.text
        assert f'<option value="{stranger}">' not in page.text
        for bad in (stranger, "nobody-here", "x" * 5000, "\x00"):
            refused = browser.post(url + "/escalate", data={"csrf": csrf_of(page.text), "to": bad})
            assert refused.status_code in (400, 422), (bad, refused.status_code)
        no_csrf = browser.post(url + "/escalate", data={"to": member})
        assert no_csrf.status_code == 403
        done = browser.post(url + "/escalate", data={"csrf": csrf_of(page.text), "to": member}, follow_redirects=False)
        assert done.status_code == 303
    with transaction() as session:
        case = session.get(Case, url.rsplit("/", 1)[1])
        person = reviewers.by_name(session, member)
        assert case is not None and person is not None
        assert case.status == "escalated" and case.escalated_to == person.id
