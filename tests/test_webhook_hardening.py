"""Webhooks under attack (issue 10, items 3 and 4): destinations checked like image URLs at
registration and at every attempt (pinned, so DNS rebinding changes nothing), errors shown to
projects without internal detail, one slow receiver unable to stall anybody else's deliveries,
and a deleted or disabled webhook's pending deliveries stopped.

Receivers are real servers on 127.0.0.1; loopback is allowed explicitly where a test delivers.
DNS cannot be reached from the tests, so the tests that need a host name answering with chosen
addresses replace the resolver `tamis.media.fetch.resolve` (the one function that asks DNS).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from conftest import assert_problem
from tamis.services import delivery as sender
from tamis.services import destinations as webhook_destinations, webhooks
from tamis.media import fetch
from tamis.store import db
from tamis.store.db import transaction
from tamis.store.models import Delivery, Webhook
from test_webhooks import (  # noqa: F401 - fixtures are used by name
    PROFANE,
    LoopbackOnly,
    Receiver,
    deliveries,
    deliver,
    moderate,
    other_auth,
    receiver,
    register,
    settings,
    settle_outbox,
)

# --- a receiver that drips its answer one byte at a time, forever ---------------------------------


class Dripper:
    """Accepts connections, reads the request, then sends a status line and headers one byte every
    0.2 s and never finishes: per-read timeouts never fire, only a total deadline cuts it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/slow"
        self.connections = 0
        self.closed_after: list[float] = []  # seconds each connection lasted before tamis dropped it
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        start = time.monotonic()
        conn.settimeout(5)
        try:
            conn.recv(65536)
            answer = b"HTTP/1.1 200 OK\r\n" + b"X-Drip: " + b"a" * 10_000
            for byte in answer:
                if self.stop.is_set():
                    return
                conn.sendall(bytes([byte]))
                time.sleep(0.2)
        except OSError:
            self.closed_after.append(time.monotonic() - start)
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def dripper() -> Iterator[Dripper]:
    server = Dripper()
    yield server
    server.close()


def resolver(answers: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """A stand-in for DNS: names in `answers` resolve to those addresses, others as before."""
    real = fetch.resolve

    def resolve(host: str, port: int) -> list[fetch.IPAddress]:
        if host in answers:
            return [fetch.ipaddress.ip_address(a) for a in answers[host]]
        return real(host, port)

    return resolve


def listed(client, auth: dict[str, str], hook_id: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    response = client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["deliveries"]


# --- item 3: registration ------------------------------------------------------------------------


REFUSED_URLS = [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://[fd00:ec2::254]/latest/meta-data/",  # AWS metadata over IPv6 (unique local)
    "http://100.100.100.200/latest/meta-data/",  # Alibaba metadata (shared address space)
    "http://10.0.0.1:6379/",  # private: redis
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://127.0.0.1:8000/v1/moderate",  # loopback: tamis itself
    "http://localhost:5432/",  # a name for loopback
    "http://[::1]:8000/",
    "http://0.0.0.0:8000/",
    "http://[::ffff:10.0.0.1]/",  # IPv4-mapped private
    "http://224.0.0.1/",  # multicast
    "http://240.0.0.1/",  # reserved
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://nonexistent.invalid/hook",  # does not resolve: cannot be checked
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_registration_refuses_non_public_destinations(client, auth, url) -> None:  # type: ignore[no-untyped-def]
    body = assert_problem(client.post("/v1/webhooks", json={"url": url}, headers=auth), 422, "url")
    # The project learns that it was refused, not why (what a name resolves to inside the network,
    # or whether it resolves at all): the same words for every refusal.
    assert body["detail"] == webhook_destinations.REFUSED_DETAIL
    assert "TAMIS_WEBHOOK_ALLOW_NETWORKS" in body["detail"]
    assert client.get("/v1/webhooks", headers=auth).json()["webhooks"] == []


def test_public_destinations_and_allowed_networks_are_registered(client, auth, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/v1/webhooks", json={"url": "http://93.184.216.34/hook"}, headers=auth).status_code == 201
    from tamis import config

    monkeypatch.setenv("TAMIS_WEBHOOK_ALLOW_NETWORKS", "10.20.0.0/16, 127.0.0.1/32")
    config.get_settings.cache_clear()
    try:
        assert client.post("/v1/webhooks", json={"url": "http://10.20.3.4:9000/h"}, headers=auth).status_code == 201
        assert client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=auth).status_code == 201
        # Only the networks listed: the rest of 10/8 and of loopback stay refused.
        assert client.post("/v1/webhooks", json={"url": "http://10.21.0.1/h"}, headers=auth).status_code == 422
        assert client.post("/v1/webhooks", json={"url": "http://127.0.0.2/h"}, headers=auth).status_code == 422
    finally:
        monkeypatch.delenv("TAMIS_WEBHOOK_ALLOW_NETWORKS")
        config.get_settings.cache_clear()
    assert len(client.get("/v1/webhooks", headers=auth).json()["webhooks"]) == 3


def test_a_bad_allow_list_is_refused_at_start() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="webhook_allow_networks"):
        settings(webhook_allow_networks="10.0.0.0/8,not-a-network")


@pytest.mark.models
def test_tamis_own_port_is_refused_even_on_an_allowed_network(client, auth, project, receiver, allow_loopback_webhooks) -> None:  # type: ignore[no-untyped-def]
    hook = register(client, auth, receiver.url)  # registered before tamis listened on that port
    moderate(client, auth, PROFANE)
    port = int(receiver.url.split(":")[2].split("/")[0])
    webhook_destinations.LISTENING_PORTS.add(port)
    try:
        response = client.post("/v1/webhooks", json={"url": receiver.url}, headers=auth)
        assert response.status_code == 422 and response.json()["field"] == "url"
        deliver()
    finally:
        webhook_destinations.LISTENING_PORTS.discard(port)
    assert receiver.seen == 0
    assert [d["last_error"] for d in listed(client, auth, hook["id"])] == ["refused destination"]


# --- item 3: every delivery, after DNS, pinned ---------------------------------------------------


@pytest.mark.models
def test_each_attempt_checks_the_destination_again(client, auth, project, receiver, allow_loopback_webhooks) -> None:  # type: ignore[no-untyped-def]
    """Registered while loopback was allowed; the operator then withdrew it: nothing is sent."""
    hook = register(client, auth, receiver.url)
    moderate(client, auth, PROFANE)
    deliver(settings(webhook_allow_networks=""))
    assert receiver.seen == 0
    [row] = listed(client, auth, hook["id"])
    assert (row["status"], row["attempts"], row["last_error"], row["last_status_code"]) == ("pending", 1, "refused destination", None)


@pytest.mark.models
def test_dns_rebinding_after_registration_is_refused(client, auth, project, receiver, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    port = receiver.url.split(":")[2].split("/")[0]
    url = f"http://rebind.example:{port}/hooks/tamis"
    monkeypatch.setattr(fetch, "resolve", resolver({"rebind.example": ["93.184.216.34"]}))
    hook = register(client, auth, url)  # public when registered
    moderate(client, auth, PROFANE)
    # Now the name answers with loopback (the receiver's address), alone or next to a public one.
    for answer in (["127.0.0.1"], ["93.184.216.34", "127.0.0.1"]):
        monkeypatch.setattr(fetch, "resolve", resolver({"rebind.example": answer}))
        for row in deliveries(project):
            with transaction() as session:
                session.get(Delivery, row.id).next_attempt_at = time.time()  # type: ignore[union-attr]
        deliver(settings(webhook_allow_networks=""))
    assert receiver.seen == 0
    [row] = listed(client, auth, hook["id"])
    assert row["attempts"] == 2 and row["last_error"] == "refused destination"


@pytest.mark.models
def test_the_connection_goes_to_the_checked_address(client, auth, project, receiver, monkeypatch, allow_loopback_webhooks) -> None:  # type: ignore[no-untyped-def]
    """The sender connects to the address it checked, with the URL's host name in Host: a second
    lookup (which could answer differently) never happens. Here the name exists only in the
    checked lookup: without pinning the connection could not even be made."""
    port = receiver.url.split(":")[2].split("/")[0]
    monkeypatch.setattr(fetch, "resolve", resolver({"hooks.example": ["127.0.0.1"]}))
    hook = register(client, auth, f"http://hooks.example:{port}/hooks/tamis")
    doc = moderate(client, auth, PROFANE)
    deliver()
    [got] = receiver.requests
    assert got.headers["host"] == f"hooks.example:{port}"
    assert got.json()["decision"]["id"] == doc["id"]
    assert webhooks.verify(hook["secret"], got.body.decode(), got.headers["tamis-signature"])


@pytest.mark.models
def test_errors_shown_to_projects_carry_no_internal_detail(client, auth, project, receiver, allow_loopback_webhooks) -> None:  # type: ignore[no-untyped-def]
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: the connection is refused
    down = register(client, auth, f"http://127.0.0.1:{closed_port}/x")
    failing = register(client, auth, receiver.url)
    receiver.fail_first = 10**6
    moderate(client, auth, PROFANE)
    deliver()
    [refused] = listed(client, auth, down["id"])
    [http_error] = listed(client, auth, failing["id"])
    assert refused["last_error"] == "connection failed" and refused["last_status_code"] is None
    assert http_error["last_error"] == "HTTP 500" and http_error["last_status_code"] == 500
    text = client.get(f"/v1/webhooks/{down['id']}/deliveries", headers=auth).text
    for detail in ("127.0.0.1", "Errno", "ConnectError", "Connection refused"):
        assert detail not in text


# --- item 4: one slow receiver, everybody else's deliveries ---------------------------------------


@pytest.mark.models
def test_a_dripping_receiver_does_not_stall_other_projects(client, auth, project, receiver, dripper, allow_loopback_webhooks) -> None:  # type: ignore[no-untyped-def]
    cfg = settings(
        webhook_timeout_s=6.0,
        webhook_poll_s=0.05,
        webhook_concurrency=8,
        webhook_endpoint_concurrency=2,
        webhook_project_concurrency=4,
    )
    # Project A: three webhooks on a receiver that drips its headers, nine deliveries due.
    slow_hooks = [register(client, auth, dripper.url + f"?hook={i}") for i in range(3)]
    for i in range(3):
        moderate(client, auth, PROFANE, data_id=f"a-{i}")
    # Project B: one healthy receiver.
    other = f"{project}-b"
    b_auth = other_auth(other)
    register(client, b_auth, receiver.url)

    loop = sender.DeliveryLoop(db.session_factory(), cfg, transport=LoopbackOnly())
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while dripper.connections < 4 and time.monotonic() < deadline:  # A holds its slots
            time.sleep(0.05)
        assert dripper.connections == 4  # its project's limit, not more
        start = time.monotonic()
        for i in range(3):
            moderate(client, b_auth, PROFANE, data_id=f"b-{i}")
        assert receiver.wait_for(3, timeout=cfg.webhook_timeout_s), "B's deliveries waited behind A's receiver"
        b_latency = time.monotonic() - start
        # A's attempts are cut at the deadline, though its receiver never stops sending.
        time.sleep(cfg.webhook_timeout_s + 1.5)
    finally:
        loop.stop()
        with transaction() as session:  # B's rows: leave nothing due for other tests
            for row in session.scalars(select(Delivery).where(Delivery.project_id == other, Delivery.status == "pending")):
                row.status = "failed"
    assert b_latency < cfg.webhook_timeout_s - 1.0, b_latency
    assert sorted(r.json()["decision"]["results"][0]["data_id"] for r in receiver.requests) == ["b-0", "b-1", "b-2"]
    errors = [d["last_error"] for h in slow_hooks for d in listed(client, auth, h["id"]) if d["attempts"]]
    assert errors and set(errors) == {"timeout"}
    assert dripper.closed_after and max(dripper.closed_after) < cfg.webhook_timeout_s + 1.5, dripper.closed_after


@pytest.mark.models
def test_one_attempt_has_one_deadline_for_headers(client, auth, project, dripper, allow_loopback_webhooks) -> None:  # type: ignore[no-untyped-def]
    hook = register(client, auth, dripper.url)
    moderate(client, auth, PROFANE)
    start = time.monotonic()
    assert sender.deliver_due(db.session_factory(), settings(webhook_timeout_s=1.5), transport=LoopbackOnly()) >= 1
    assert time.monotonic() - start < 4.0  # the receiver would drip for over half an hour
    [row] = listed(client, auth, hook["id"])
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 1, "timeout")


@pytest.mark.models
def test_claims_are_fair_across_projects_and_webhooks(client, auth, project, receiver, allow_loopback_webhooks) -> None:  # type: ignore[no-untyped-def]
    busy_hook = register(client, auth, receiver.url + "?hook=busy")
    moderate(client, auth, PROFANE)
    [first] = deliveries(project)
    with transaction() as session:  # a backlog of 40 older deliveries on one webhook of project A
        for i in range(40):
            session.add(Delivery(webhook_id=busy_hook["id"], project_id=project, decision_id=first.decision_id,
                                 body=first.body, next_attempt_at=time.time() - 1000 + i))
    quiet_hook = register(client, auth, receiver.url + "?hook=quiet")
    b_auth = other_auth(f"{project}-b")
    b_hook = register(client, b_auth, receiver.url + "?hook=b")
    moderate(client, auth, PROFANE, data_id="a-2")
    moderate(client, b_auth, PROFANE, data_id="b-1")
    mine = {busy_hook["id"], quiet_hook["id"], b_hook["id"]}

    def claim(**limits: Any) -> list[str]:
        """The webhooks of this test's claims (rows of other tests may be due too); rolled back."""
        with db.session_factory()() as session:
            claims = webhooks.claim_due(session, 40, **limits)
            session.rollback()
        return [c.webhook_id for c in claims if c.webhook_id in mine]

    try:
        fair = claim(per_webhook=2, per_project=4)
        assert fair.count(busy_hook["id"]) == 2  # the backlog gets its share, not the whole window
        assert fair.count(quiet_hook["id"]) == 1 and fair.count(b_hook["id"]) == 1
        assert len(claim(per_webhook=10, per_project=5)) == 5 + 1  # A's project limit, and B's one
        # What the caller has in flight counts against the limits.
        assert claim(busy={("project", project): 8}) == [b_hook["id"]]
        assert sorted(claim(busy={("webhook", busy_hook["id"]): 2})) == sorted([quiet_hook["id"], b_hook["id"]])
    finally:
        with transaction() as session:
            for row in session.scalars(select(Delivery).where(Delivery.project_id.in_([project, f"{project}-b"]))):
                row.status = "failed"


# --- item 4: deleted and disabled webhooks --------------------------------------------------------


@pytest.mark.models
def test_delete_stops_pending_deliveries(client, auth, project, receiver, allow_loopback_webhooks) -> None:  # type: ignore[no-untyped-def]
    hook = register(client, auth, receiver.url)
    receiver.fail_first = 1
    for i in range(3):
        moderate(client, auth, PROFANE, data_id=f"post-{i}")
    deliver()  # one attempt failed (HTTP 500), two delivered
    assert receiver.seen == 3 and len(receiver.requests) == 2
    [retry] = [d for d in listed(client, auth, hook["id"]) if d["status"] == "pending"]
    moderate(client, auth, PROFANE, data_id="post-3")  # and one not yet attempted
    with transaction() as session:
        session.get(Delivery, retry["id"]).next_attempt_at = time.time()  # type: ignore[union-attr]

    assert client.delete(f"/v1/webhooks/{hook['id']}", headers=auth).status_code == 204
    deliver()
    assert receiver.seen == 3  # nothing more was sent
    rows = listed(client, auth, hook["id"])
    assert sorted(d["status"] for d in rows) == ["delivered", "delivered", "failed", "failed"]
    assert {d["last_error"] for d in rows if d["status"] == "failed"} == {"webhook deleted"}
    # Replaying them would queue deliveries nobody sends: refused, and nothing changes.
    for path in (f"/v1/webhooks/{hook['id']}/replay?status=all", f"/v1/deliveries/{rows[0]['id']}/replay"):
        assert_problem(client.post(path, headers=auth), 409, None)
    assert listed(client, auth, hook["id"]) == rows
    from typer.testing import CliRunner

    from tamis.cli import app as cli

    for args in (["webhooks", "replay", rows[0]["id"]], ["webhooks", "replay", "--webhook", hook["id"], "--status", "all"]):
        result = CliRunner().invoke(cli, [*args, "--project", project])
        assert result.exit_code == 2 and "deleted" in result.stderr, result.output
    assert listed(client, auth, hook["id"]) == rows


@pytest.mark.models
def test_a_disabled_webhook_is_never_claimed(client, auth, project, receiver, allow_loopback_webhooks) -> None:  # type: ignore[no-untyped-def]
    hook = register(client, auth, receiver.url)
    moderate(client, auth, PROFANE)
    with transaction() as session:  # disabled behind the API's back: its rows stay pending
        session.get(Webhook, hook["id"]).active = False  # type: ignore[union-attr]
    deliver()
    assert receiver.seen == 0
    assert [d["status"] for d in listed(client, auth, hook["id"])] == ["pending"]
    with transaction() as session:
        session.get(Webhook, hook["id"]).active = True  # type: ignore[union-attr]
    deliver()
    assert len(receiver.requests) == 1


# --- several senders on PostgreSQL ------------------------------------------------------------------


@pytest.mark.postgresql_only  # several senders share the outbox on PostgreSQL (SKIP LOCKED); SQLite has one
def test_concurrent_senders_deliver_each_once(client, auth, project, receiver, allow_loopback_webhooks) -> None:  # type: ignore[no-untyped-def]
    assert db.get_engine().dialect.name == "postgresql"
    hooks = [register(client, auth, receiver.url + f"?hook={i}") for i in range(6)]
    for i in range(4):
        moderate(client, auth, PROFANE, data_id=f"post-{i}")
    cfg = settings(webhook_project_concurrency=24, webhook_endpoint_concurrency=4)
    threads = [threading.Thread(target=deliver, args=(cfg,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = [r.headers["tamis-delivery"] for r in receiver.requests]
    assert len(ids) == 24 == len(set(ids))
    assert {d["status"] for h in hooks for d in listed(client, auth, h["id"])} == {"delivered"}


def test_a_name_whose_dns_never_answers_is_refused_in_bounded_time(client, auth, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    answer = threading.Event()
    real = fetch.resolve

    def hanging(host: str, port: int) -> list[fetch.IPAddress]:
        if host == "hangs.example":
            answer.wait(30)  # a resolver that never answers (released at the end of the test)
        return real(host, port)

    monkeypatch.setattr(fetch, "resolve", hanging)
    monkeypatch.setattr(webhook_destinations, "REGISTRATION_LOOKUP_S", 0.5)
    try:
        start = time.monotonic()
        assert_problem(client.post("/v1/webhooks", json={"url": "http://hangs.example/h"}, headers=auth), 422, "url")
        assert time.monotonic() - start < 3.0
    finally:
        answer.set()


def test_active_webhooks_per_project_are_capped(client, auth, project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each decision fans out to every webhook of its project: their number is bounded."""
    from tamis import config

    monkeypatch.setenv("TAMIS_WEBHOOK_MAX_PER_PROJECT", "3")
    config.get_settings.cache_clear()
    try:
        hooks = [register(client, auth, f"http://93.184.216.34/hook{i}") for i in range(3)]
        assert_problem(client.post("/v1/webhooks", json={"url": "http://93.184.216.34/more"}, headers=auth), 409, None)
        assert client.post("/v1/webhooks", json={"url": "http://93.184.216.34/b"}, headers=other_auth(f"{project}-b")).status_code == 201
        assert client.delete(f"/v1/webhooks/{hooks[0]['id']}", headers=auth).status_code == 204
        assert client.post("/v1/webhooks", json={"url": "http://93.184.216.34/more"}, headers=auth).status_code == 201
    finally:
        monkeypatch.delenv("TAMIS_WEBHOOK_MAX_PER_PROJECT")
        config.get_settings.cache_clear()


@pytest.mark.models
def test_workers_claiming_together_never_lease_one_delivery_twice(client, auth, project, receiver, allow_loopback_webhooks) -> None:  # type: ignore[no-untyped-def]
    """Several workers (or API processes) claiming from one outbox at the same moment: every due
    delivery goes to one of them only. On SQLite the claim reads outside the write lock, so the lease
    is a compare-and-set."""
    hook = register(client, auth, receiver.url + "?hook=race")
    moderate(client, auth, PROFANE)
    [first] = deliveries(project)
    with transaction() as session:
        for i in range(30):
            session.add(Delivery(webhook_id=hook["id"], project_id=project, decision_id=first.decision_id,
                                 body=first.body, next_attempt_at=time.time() - 500 + i))
    claimed: list[str] = []
    go = threading.Barrier(4)

    def worker() -> None:
        go.wait()
        with db.session_factory()() as session:
            claims = webhooks.claim_due(session, 40, per_webhook=40, per_project=40)
            session.commit()
        claimed.extend(c.id for c in claims if c.webhook_id == hook["id"])

    try:
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(claimed) == len(set(claimed)) == 31
    finally:
        with transaction() as session:  # leave nothing due for other tests
            for row in session.scalars(select(Delivery).where(Delivery.webhook_id == hook["id"])):
                row.status = "failed"
