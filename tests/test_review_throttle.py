"""Sign-in throttling per client address and per username without an account (beyond each
account's own), kept in the database and audited; the names typed are never written down."""

from __future__ import annotations

import secrets
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from review_helpers import PASSWORD, add_reviewer
from test_review_web import csrf_of
from tamis.services import reviewers, throttle
from tamis.store.db import transaction
from tamis.store.models import ReviewEvent

pytestmark = pytest.mark.slow


def _address() -> str:
    """A client address of this test only (the suite's other sign-ins come from 'testclient')."""
    return f"2001:db8:{secrets.randbelow(65535):x}::{secrets.randbelow(65535):x}"


def _try(client: TestClient, name: str, password: str = "wrong password!!") -> int:
    form = client.get("/review/login")
    return client.post("/review/login", data={"username": name, "password": password, "csrf": csrf_of(form.text)},
                       follow_redirects=False).status_code


def _events(**detail: str) -> list[ReviewEvent]:
    with transaction() as session:
        rows = session.scalars(select(ReviewEvent).where(ReviewEvent.kind.in_(("sign_in_failed", "sign_in_throttled")))
                               .order_by(ReviewEvent.id)).all()
    return [r for r in rows if all(r.detail.get(k) == v for k, v in detail.items())]


def test_a_username_without_an_account_is_throttled_and_never_written_down(app) -> None:  # type: ignore[no-untyped-def]
    address = _address()
    ghost = f"ghost-{secrets.token_hex(4)}"
    with TestClient(app, base_url="https://testserver", client=(address, 4000)) as client:
        assert [_try(client, ghost) for _ in range(throttle.NAME_AFTER)] == [401] * throttle.NAME_AFTER
        assert _try(client, ghost) == 429  # the name waits now...
        assert _try(client, f"other-{secrets.token_hex(4)}") == 401  # ...another name does not
    ip = throttle.ip_key(address).removeprefix("ip:")
    failed = [e for e in _events(ip=ip) if e.kind == "sign_in_failed"]
    assert len(failed) == throttle.NAME_AFTER + 1 and {(e.actor, e.detail.get("unknown_user")) for e in failed} == {("anonymous", True)}
    assert [e.detail["scope"] for e in _events(ip=ip) if e.kind == "sign_in_throttled"] == ["name"]
    with transaction() as session:
        everything = [(e.actor, str(e.detail)) for e in session.scalars(select(ReviewEvent))]
    assert not any(ghost in actor or ghost in detail for actor, detail in everything)


def test_one_address_is_throttled_after_many_failures_even_with_the_right_password(app, project: str) -> None:  # type: ignore[no-untyped-def]
    name = add_reviewer(project)
    address, elsewhere = _address(), _address()
    with TestClient(app, base_url="https://testserver", client=(address, 4000)) as client, \
            TestClient(app, base_url="https://testserver", client=(elsewhere, 4000)) as other:
        # Many names, each under its own limit: the address's limit catches the guessing.
        answers = [_try(client, f"guess-{n}-{secrets.token_hex(2)}") for n in range(throttle.IP_AFTER)]
        assert answers == [401] * throttle.IP_AFTER
        assert _try(client, name, PASSWORD) == 429  # even the right password waits, from there
        assert _try(other, name, PASSWORD) == 303  # from elsewhere the account signs in
    ip = throttle.ip_key(address).removeprefix("ip:")
    assert [e.detail["scope"] for e in _events(ip=ip) if e.kind == "sign_in_throttled"] == ["address"]


def test_signing_in_to_ones_own_account_does_not_wipe_the_guesses_at_others(app, project: str) -> None:  # type: ignore[no-untyped-def]
    """Someone holding one account guessed at other names from one address, signing in to their own
    between runs of guesses: the address's count must keep the guesses (it was reset to zero)."""
    name = add_reviewer(project)
    with TestClient(app, base_url="https://testserver", client=(_address(), 4000)) as client:
        assert {_try(client, f"x-{n}-{secrets.token_hex(2)}") for n in range(throttle.IP_AFTER - 1)} == {401}
        assert _try(client, name, PASSWORD) == 303
        assert _try(client, f"y-{secrets.token_hex(2)}") == 401  # the address's IP_AFTER-th failure: it waits now
        assert _try(client, name, PASSWORD) == 429


def test_a_success_forgives_the_address_that_names_own_mistakes(app, project: str) -> None:  # type: ignore[no-untyped-def]
    """An office behind one address: a colleague's typos, forgiven when they sign in, do not count
    towards the address's limit."""
    name = add_reviewer(project)
    typos = reviewers.THROTTLE_AFTER - 1
    with TestClient(app, base_url="https://testserver", client=(_address(), 4000)) as client:
        assert [_try(client, name) for _ in range(typos)] == [401] * typos
        assert _try(client, name, PASSWORD) == 303
        assert {_try(client, f"x-{n}-{secrets.token_hex(2)}") for n in range(throttle.IP_AFTER - 1)} == {401}
        assert _try(client, name, PASSWORD) == 303


def test_waits_double_and_end(database: str) -> None:
    key, now = f"ip:{_address()}", time.time()
    with transaction() as session:
        started = [throttle.failed(session, key, 3, now=now) for _ in range(4)]
        assert started == [False, False, True, True]
        assert throttle.wait_s(session, [key], now=now) == pytest.approx(60.0)  # 30 s, doubled by the 4th failure
        assert throttle.wait_s(session, [key], now=now + 61) == 0.0
        throttle.succeeded(session, key, "ana")  # no failures under that name from there: nothing forgiven
        assert throttle.wait_s(session, [key], now=now) == pytest.approx(60.0)


def test_a_success_forgives_only_its_own_names_failures(database: str) -> None:
    address, now = f"ip:{_address()}", time.time()
    with transaction() as session:
        for name in ["ana"] * 3 + ["bo"] * (throttle.IP_AFTER - 3):
            throttle.failed_from(session, address, name, now=now)
        assert throttle.wait_s(session, [address], now=now) > 0
        throttle.succeeded(session, address, "ana")
        assert throttle.wait_s(session, [address], now=now) == 0.0  # below the limit again: bo's 17 remain
        assert not throttle.failed_from(session, address, "cy", now=now) and not throttle.failed_from(session, address, "cy", now=now)
        assert throttle.failed_from(session, address, "cy", now=now)  # 17 + 3 = IP_AFTER


def test_addresses_are_grouped_sensibly() -> None:
    assert throttle.ip_key("192.0.2.7") == "ip:192.0.2.7"
    assert throttle.ip_key("2001:db8:1:2:aaaa::1") == throttle.ip_key("2001:db8:1:2:bbbb::9") == "ip:2001:db8:1:2::/64"
    assert throttle.ip_key("2001:db8:1:3::1") != throttle.ip_key("2001:db8:1:2::1")
    assert throttle.ip_key("testclient") == "ip:testclient" and len(throttle.ip_key("x" * 500)) < 80
    assert throttle.name_key("ana") != throttle.name_key("Ana") and "ana" not in throttle.name_key("ana")


def test_names_and_projects_no_account_can_have_are_refused_not_errors(app, project: str) -> None:  # type: ignore[no-untyped-def]
    """NUL in a name or a project's path once reached PostgreSQL, which refuses it: a 500."""
    with TestClient(app, base_url="https://testserver", client=(_address(), 4000)) as client:
        assert _try(client, "ana\x00") == 401 and _try(client, "x" * 300) == 401
        form = client.get("/review/login")
        assert client.post("/review/login", data={"username": add_reviewer(project), "password": PASSWORD,
                                                  "csrf": csrf_of(form.text)}, follow_redirects=False).status_code == 303
        for path in ("/review/p/a%00b/cases", "/review/p/a%00b/wellness", "/review/p/a%00b/admin", f"/review/p/{'p' * 100}/cases"):
            assert client.get(path).status_code == 404, path
