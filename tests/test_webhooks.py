"""Webhooks end to end: registration, the outbox, signing, delivery, retries, leases and replay.

Deliveries go to a real HTTP receiver on 127.0.0.1 (a threaded http.server) that records what it
gets and can be told to fail. Loopback is no webhook destination unless the operator allows it, so
these tests allow 127.0.0.0/8 explicitly (TAMIS_WEBHOOK_ALLOW_NETWORKS for registration, the
senders' settings for delivery). Every sender in this file also goes through a transport that
refuses any host but loopback: the outbox is shared by the whole test database, so a pass may also
pick up rows other tests left behind, and those must never leave the machine.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tamis.services import delivery as sender
from tamis.services import moderation as pipeline, webhooks
from tamis.config import Settings
from tamis.schema import Item
from tamis.engine.policy import Policy, default_body
from tamis.store import db, queries
from tamis.store.db import transaction
from tamis.store.models import Decision, Delivery, Webhook

PROFANE = "you are a fucking idiot"
CLEAN = "hello friend, have a lovely day in the garden"


# --- a real receiver -----------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the handler does is set here: `fail_first` answers 500 that many times; `mode` is
    "ok", "hang" (hold the request until released) or "close" (drop the connection, no answer)."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    fail_first: int = 0
    mode: str = "ok"
    seen: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, n: int, timeout: float) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.requests) >= n, timeout)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.lock:
                receiver.seen += 1
                nth = receiver.seen
            if receiver.mode == "hang":
                receiver.release.wait(30)
                self.close_connection = True
                return
            if receiver.mode == "close":
                self.close_connection = True
                return  # no status line at all: the sender sees the connection drop
            status = 500 if nth <= receiver.fail_first else 200
            if status == 200:
                with receiver.arrived:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    receiver.arrived.notify_all()
            payload = b'{"ok": true}' if status == 200 else b"boom"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # deliveries arrive many at once


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    server = _Server(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/tamis"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


# --- senders that only talk to loopback ---------------------------------------------------------


class LoopbackOnly(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host not in ("127.0.0.1", "localhost", "::1"):
            raise httpx.ConnectError(f"tests only reach loopback, not {request.url.host}", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture(autouse=True)
def _loopback_receivers(allow_loopback_webhooks: None) -> None:
    """Registration through the API and the CLI reads TAMIS_WEBHOOK_ALLOW_NETWORKS (conftest)."""


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_allow_networks": "127.0.0.0/8",
        "webhook_timeout_s": 2.0,
        "webhook_backoff_base_s": 10.0,
        "webhook_backoff_max_s": 3600.0,
        "webhook_max_attempts": 12,
        "webhook_poll_s": 0.5,
    }
    values.update(overrides)
    return Settings(**values)


def deliver(cfg: Settings | None = None) -> int:
    """Passes over the outbox until nothing is due (rows other tests left may come first)."""
    cfg = cfg or settings()
    total = 0
    for _ in range(100):
        n = sender.deliver_due(db.session_factory(), cfg, transport=LoopbackOnly())
        if not n:
            break
        total += n
    return total


# --- database helpers ----------------------------------------------------------------------------


def deliveries(project: str) -> list[Delivery]:
    with transaction() as session:
        return list(session.scalars(select(Delivery).where(Delivery.project_id == project).order_by(Delivery.id)))


def delivery(delivery_id: str) -> Delivery:
    with transaction() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        return row


def set_next_attempt(delivery_id: str, at: float) -> None:
    with transaction() as session:
        session.get(Delivery, delivery_id).next_attempt_at = at  # type: ignore[union-attr]


@pytest.fixture(autouse=True)
def settle_outbox(project: str) -> Iterator[None]:
    """Leave none of this test's deliveries due, so later passes elsewhere never send them."""
    yield
    with transaction() as session:
        for row in session.scalars(select(Delivery).where(Delivery.project_id == project, Delivery.status == "pending")):
            row.status = "failed"
            row.last_error = "settled at test teardown"


# --- API helpers ---------------------------------------------------------------------------------


def register(client, auth: dict[str, str], url: str, **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.post("/v1/webhooks", json={"url": url, **extra}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def moderate(client, auth: dict[str, str], text: str, data_id: str = "post-1") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.post("/v1/moderate", json={"items": [{"data_id": data_id, "text": text}]}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def other_auth(name: str) -> dict[str, str]:
    with transaction() as session:
        _, plaintext = queries.create_key(session, name)
    return {"Authorization": f"Bearer {plaintext}"}


# --- registration, outbox, signed delivery --------------------------------------------------------


@pytest.mark.models
def test_register_then_review_decision_is_delivered_signed(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    hook = register(client, auth, receiver.url)
    assert hook["id"].startswith("wh_")
    assert hook["url"] == receiver.url
    assert hook["verdicts"] == ["review", "block"]
    assert hook["include_shadow"] is False and hook["active"] is True
    secret = hook["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30

    listed = client.get("/v1/webhooks", headers=auth)
    assert listed.status_code == 200
    assert [h["id"] for h in listed.json()["webhooks"]] == [hook["id"]]
    assert "secret" not in listed.json()["webhooks"][0]
    assert secret not in listed.text

    doc = moderate(client, auth, PROFANE)
    assert doc["results"][0]["verdict"] == "block"

    # The outbox row was committed with the decision, and is due now.
    [row] = deliveries(project)
    assert row.decision_id == doc["id"]
    assert row.webhook_id == hook["id"]
    assert row.status == "pending" and row.attempts == 0
    assert row.next_attempt_at <= time.time()
    with transaction() as session:
        assert session.get(Decision, doc["id"]) is not None
    assert receiver.requests == []  # nothing is sent by the request itself

    listed = client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth).json()["deliveries"]
    assert [(d["id"], d["status"], d["attempts"]) for d in listed] == [(row.id, "pending", 0)]

    assert sender.deliver_due(db.session_factory(), settings(), transport=LoopbackOnly()) >= 1
    deliver()

    [got] = receiver.requests
    assert got.path == "/hooks/tamis"
    payload = got.json()
    assert payload["type"] == "decision"
    assert payload["shadow"] is False
    assert payload["decision"]["id"] == doc["id"]
    assert payload["decision"] == doc
    assert got.headers["content-type"] == "application/json"
    assert got.headers["tamis-delivery"] == row.id
    signature = got.headers["tamis-signature"]
    assert signature.startswith("t=") and ",v1=" in signature
    assert abs(int(signature.split(",")[0][2:]) - time.time()) < 60

    body = got.body.decode()
    assert webhooks.verify(secret, body, signature) is True
    assert webhooks.verify(secret, body.replace('"block"', '"pass"'), signature) is False
    assert webhooks.verify(secret, body + " ", signature) is False
    assert webhooks.verify("whsec_not-the-secret", body, signature) is False
    assert webhooks.verify(secret, body, "garbage") is False
    assert webhooks.verify(secret, body, signature.split(",")[0]) is False  # no v1
    stale = int(time.time()) - 301
    assert webhooks.verify(secret, body, webhooks.sign(secret, body, stale)) is False
    assert webhooks.verify(secret, body, webhooks.sign(secret, body, int(time.time()) - 200)) is True
    # A receiver checking later than 5 minutes after the send refuses it too.
    assert webhooks.verify(secret, body, signature, now=time.time() + 301) is False

    done = delivery(row.id)
    assert done.status == "delivered" and done.attempts == 1
    assert done.last_status_code == 200 and done.last_error is None
    assert done.delivered_at is not None
    # Delivered once: another pass sends nothing more.
    deliver()
    assert len(receiver.requests) == 1
    listed = client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth).json()["deliveries"]
    assert listed[0]["status"] == "delivered" and listed[0]["next_attempt_at"] is None
    assert listed[0]["delivered_at"] is not None


@pytest.mark.models
def test_pass_is_sent_only_to_webhooks_that_ask_for_it(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    default = register(client, auth, receiver.url + "?hook=default")
    everything = register(client, auth, receiver.url + "?hook=all", verdicts=["pass", "review", "block"])
    assert everything["verdicts"] == ["pass", "review", "block"]

    doc = moderate(client, auth, CLEAN)
    assert doc["results"][0]["verdict"] == "pass"
    [row] = deliveries(project)
    assert row.webhook_id == everything["id"] and row.decision_id == doc["id"]

    deliver()
    [got] = receiver.requests
    assert got.path == "/hooks/tamis?hook=all"
    assert got.json()["decision"]["id"] == doc["id"]
    assert got.json()["decision"]["results"][0]["verdict"] == "pass"
    assert webhooks.verify(everything["secret"], got.body.decode(), got.headers["tamis-signature"])
    assert not webhooks.verify(default["secret"], got.body.decode(), got.headers["tamis-signature"])

    # A review goes to both.
    review = moderate(client, auth, PROFANE)
    deliver()
    assert sorted(r.path for r in receiver.requests[1:]) == ["/hooks/tamis?hook=all", "/hooks/tamis?hook=default"]
    assert {r.json()["decision"]["id"] for r in receiver.requests[1:]} == {review["id"]}


@pytest.mark.models
def test_deleted_webhook_gets_nothing_new(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    hook = register(client, auth, receiver.url)
    assert client.delete(f"/v1/webhooks/{hook['id']}", headers=auth).status_code == 204
    assert client.get("/v1/webhooks", headers=auth).json()["webhooks"][0]["active"] is False
    moderate(client, auth, PROFANE)
    assert deliveries(project) == []


# --- retries -------------------------------------------------------------------------------------


@pytest.mark.models
def test_retries_with_exponential_backoff_until_delivered(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    cfg = settings(webhook_backoff_base_s=10.0)
    register(client, auth, receiver.url)
    receiver.fail_first = 2
    doc = moderate(client, auth, PROFANE)
    [row] = deliveries(project)

    before = time.time()
    deliver(cfg)
    after = time.time()
    first = delivery(row.id)
    assert first.status == "pending"
    assert first.attempts == 1
    assert first.last_status_code == 500 and first.last_error == "HTTP 500"
    # ceiling = base * 2**0 = 10 s; full jitter in [ceiling / 2, ceiling]
    assert before + 5.0 <= first.next_attempt_at <= after + 10.0
    assert receiver.seen == 1 and receiver.requests == []

    deliver(cfg)  # not due yet: nothing is sent
    assert receiver.seen == 1 and delivery(row.id).attempts == 1

    set_next_attempt(row.id, time.time())
    before = time.time()
    deliver(cfg)
    after = time.time()
    second = delivery(row.id)
    assert second.status == "pending" and second.attempts == 2
    assert before + 10.0 <= second.next_attempt_at <= after + 20.0  # the ceiling doubled
    assert receiver.seen == 2

    set_next_attempt(row.id, time.time())
    deliver(cfg)
    third = delivery(row.id)
    assert third.status == "delivered" and third.attempts == 3
    assert third.last_status_code == 200 and third.last_error is None
    [got] = receiver.requests
    assert got.json()["decision"]["id"] == doc["id"]
    assert got.headers["tamis-delivery"] == row.id


def test_backoff_doubles_and_is_capped() -> None:
    cfg = settings(webhook_backoff_base_s=2.0, webhook_backoff_max_s=60.0)
    ceilings = {1: 2.0, 2: 4.0, 3: 8.0, 4: 16.0, 5: 32.0, 6: 60.0, 7: 60.0, 12: 60.0}
    for attempts, ceiling in ceilings.items():
        samples = [webhooks.backoff(attempts, cfg) for _ in range(400)]
        assert all(ceiling / 2 <= s <= ceiling for s in samples), (attempts, min(samples), max(samples))
        assert max(samples) > 0.9 * ceiling and min(samples) < 0.6 * ceiling  # jittered over the range
    means = [sum(webhooks.backoff(n, cfg) for _ in range(400)) / 400 for n in range(1, 6)]
    assert all(b > 1.6 * a for a, b in zip(means, means[1:])), means


@pytest.mark.models
@pytest.mark.parametrize("mode", ["hang", "close"])
def test_receiver_that_hangs_or_drops_the_connection_is_retried(client, auth, project, receiver, mode) -> None:  # type: ignore[no-untyped-def]
    cfg = settings(webhook_timeout_s=1.0)
    register(client, auth, receiver.url)
    receiver.mode = mode
    moderate(client, auth, PROFANE)
    [row] = deliveries(project)

    start = time.time()
    deliver(cfg)
    assert time.time() - start < 8  # the timeout bounds a hanging receiver
    failed = delivery(row.id)
    assert failed.status == "pending" and failed.attempts == 1
    assert failed.last_status_code is None
    # Fixed words only: no exception text reaches the project.
    assert failed.last_error == ("timeout" if mode == "hang" else "connection failed")
    assert failed.next_attempt_at > time.time()

    receiver.mode = "ok"
    receiver.release.set()
    set_next_attempt(row.id, time.time())
    deliver(cfg)
    assert delivery(row.id).status == "delivered"
    assert [r.headers["tamis-delivery"] for r in receiver.requests] == [row.id]


# --- giving up and replay --------------------------------------------------------------------------


def _fail_until_given_up(row_id: str, cfg: Settings) -> Delivery:
    for _ in range(cfg.webhook_max_attempts):
        set_next_attempt(row_id, time.time())
        deliver(cfg)
    return delivery(row_id)


@pytest.mark.models
def test_gives_up_after_max_attempts_then_replay_one(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    cfg = settings(webhook_max_attempts=3)
    hook = register(client, auth, receiver.url)
    receiver.fail_first = 10**6
    doc = moderate(client, auth, PROFANE)
    [row] = deliveries(project)

    gone = _fail_until_given_up(row.id, cfg)
    assert gone.status == "failed" and gone.attempts == 3
    assert gone.last_status_code == 500 and gone.delivered_at is None
    assert receiver.seen == 3
    set_next_attempt(row.id, time.time())
    deliver(cfg)
    assert receiver.seen == 3  # failed rows are never retried on their own

    listed = client.get(f"/v1/webhooks/{hook['id']}/deliveries?status=failed", headers=auth).json()["deliveries"]
    assert [(d["id"], d["attempts"], d["next_attempt_at"]) for d in listed] == [(row.id, 3, None)]
    assert client.get(f"/v1/webhooks/{hook['id']}/deliveries?status=pending", headers=auth).json()["deliveries"] == []

    receiver.fail_first = 0
    response = client.post(f"/v1/deliveries/{row.id}/replay", headers=auth)
    assert response.status_code == 200, response.text
    replayed = response.json()
    assert replayed["id"] == row.id
    assert replayed["status"] == "pending" and replayed["attempts"] == 0
    assert replayed["last_error"] is None
    assert replayed["next_attempt_at"] <= time.time()
    again = delivery(row.id)
    assert again.status == "pending" and again.attempts == 0

    deliver(cfg)
    done = delivery(row.id)
    assert done.status == "delivered" and done.attempts == 1
    [got] = receiver.requests
    assert got.json()["decision"]["id"] == doc["id"]
    assert got.body.decode() == row.body  # a replay sends the same payload


@pytest.mark.models
def test_replay_many_by_status(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    cfg = settings(webhook_max_attempts=1)
    hook = register(client, auth, receiver.url)
    receiver.fail_first = 10**6
    ids = [moderate(client, auth, PROFANE, data_id=f"post-{i}")["id"] for i in range(3)]
    deliver(cfg)
    rows = deliveries(project)
    assert sorted(r.decision_id for r in rows) == sorted(ids)
    assert [r.status for r in rows] == ["failed"] * 3

    receiver.fail_first = 0
    response = client.post(f"/v1/webhooks/{hook['id']}/replay", headers=auth)
    assert response.status_code == 200 and response.json() == {"replayed": 3}
    assert [(r.status, r.attempts) for r in deliveries(project)] == [("pending", 0)] * 3
    deliver(cfg)
    assert [r.status for r in deliveries(project)] == ["delivered"] * 3
    assert sorted(r.json()["decision"]["id"] for r in receiver.requests) == sorted(ids)

    # Default replays only failed ones: none left.
    assert client.post(f"/v1/webhooks/{hook['id']}/replay", headers=auth).json() == {"replayed": 0}
    response = client.post(f"/v1/webhooks/{hook['id']}/replay?status=delivered", headers=auth)
    assert response.json() == {"replayed": 3}
    deliver(cfg)
    assert len(receiver.requests) == 6
    assert client.post(f"/v1/webhooks/{hook['id']}/replay?status=bogus", headers=auth).status_code == 422


# --- crash safety and atomicity --------------------------------------------------------------------


@pytest.mark.models
def test_claimed_but_never_recorded_delivery_is_sent_after_the_lease(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    hook = register(client, auth, receiver.url)
    moderate(client, auth, PROFANE)
    [row] = deliveries(project)

    # A sender claims the row, commits the lease, then dies before sending or recording anything.
    before = time.time()
    with db.session_factory().begin() as session:
        claimed = webhooks.claim_due(session, limit=1000)
    mine = [c for c in claimed if c.id == row.id]
    assert mine == [webhooks.Claim(row.id, hook["id"], project, receiver.url, hook["secret"], row.body)]

    leased = delivery(row.id)
    assert leased.status == "pending" and leased.attempts == 0
    assert before + webhooks.LEASE_S - 1 <= leased.next_attempt_at <= time.time() + webhooks.LEASE_S

    deliver()  # another sender, while the lease holds: leaves it alone
    assert receiver.seen == 0
    assert delivery(row.id).status == "pending"

    set_next_attempt(row.id, time.time() - 1)  # the lease has run out
    deliver()
    done = delivery(row.id)
    assert done.status == "delivered" and done.attempts == 1
    assert [r.headers["tamis-delivery"] for r in receiver.requests] == [row.id]


@pytest.mark.postgresql_only  # row locks (SKIP LOCKED) are PostgreSQL's; SQLite serialises writers instead
def test_concurrent_senders_do_not_claim_the_same_row(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    assert db.get_engine().dialect.name == "postgresql"
    register(client, auth, receiver.url)
    moderate(client, auth, PROFANE)
    [row] = deliveries(project)
    factory = db.session_factory()
    with factory.begin() as first:
        ids_first = {c.id for c in webhooks.claim_due(first, limit=1000)}
        with factory.begin() as second:
            ids_second = {c.id for c in webhooks.claim_due(second, limit=1000)}
    assert row.id in ids_first
    assert row.id not in ids_second


def _judged(project: str, text: str) -> Any:
    return pipeline.judge(project, Policy("default", 0, default_body()), [Item("post-1", text=text)])


@pytest.mark.models
def test_decision_and_delivery_commit_together(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    register(client, auth, receiver.url)
    doc = _judged(project, PROFANE)
    with transaction() as session:
        pipeline.record(session, doc, shadow=False, source="test")
        session.flush()
        # Written, not yet committed: nobody else sees either.
        with db.session_factory()() as outside:
            assert outside.get(Decision, doc.id) is None
            assert outside.scalars(select(Delivery).where(Delivery.decision_id == doc.id)).all() == []
    with transaction() as session:
        assert session.get(Decision, doc.id) is not None
    [row] = deliveries(project)
    assert row.decision_id == doc.id and row.status == "pending"


@pytest.mark.models
def test_rolled_back_decision_leaves_no_delivery(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    register(client, auth, receiver.url)
    doc = _judged(project, PROFANE)
    assert doc.results[0].verdict == "block"
    with pytest.raises(RuntimeError, match="crash"):
        with transaction() as session:
            pipeline.record(session, doc, shadow=False, source="test")
            session.flush()
            assert session.get(Decision, doc.id) is not None
            assert len(session.scalars(select(Delivery).where(Delivery.decision_id == doc.id)).all()) == 1
            raise RuntimeError("crash between the decision and the commit")
    with transaction() as session:
        assert session.get(Decision, doc.id) is None
        assert session.scalars(select(Delivery).where(Delivery.decision_id == doc.id)).all() == []
    assert deliveries(project) == []
    deliver()
    assert receiver.seen == 0


# --- shadow decisions --------------------------------------------------------------------------------


@pytest.mark.models
def test_shadow_decisions_only_with_include_shadow(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    plain = register(client, auth, receiver.url + "?hook=plain")
    shadowed = register(client, auth, receiver.url + "?hook=shadow", include_shadow=True)
    assert shadowed["include_shadow"] is True
    put = client.put(
        "/v1/policies/default",
        json={"shadow": True, "categories": {"harassment": {"review": 0.5}}},
        headers=auth,
    )
    assert put.status_code == 201, put.text

    doc = moderate(client, auth, PROFANE)
    assert doc["policy"]["shadow"] is False
    with transaction() as session:
        [shadow_decision] = session.scalars(
            select(Decision).where(Decision.project_id == project, Decision.shadow.is_(True))
        ).all()
        shadow_id = shadow_decision.id
    assert shadow_id != doc["id"]

    by_hook: dict[str, list[str]] = {}
    for row in deliveries(project):
        by_hook.setdefault(row.webhook_id, []).append(row.decision_id)
    assert by_hook[plain["id"]] == [doc["id"]]
    assert sorted(by_hook[shadowed["id"]]) == sorted([doc["id"], shadow_id])

    deliver()
    got = {(r.path.rsplit("=", 1)[1], r.json()["decision"]["id"], r.json()["shadow"]) for r in receiver.requests}
    assert got == {("plain", doc["id"], False), ("shadow", doc["id"], False), ("shadow", shadow_id, True)}
    [shadow_payload] = [r.json() for r in receiver.requests if r.json()["shadow"]]
    assert shadow_payload["decision"]["policy"] == {"id": "default", "version": 1, "shadow": True}


# --- the background loop -------------------------------------------------------------------------------


@pytest.mark.models
def test_delivery_loop_delivers_promptly_and_stops_cleanly(client, auth, project, receiver, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cfg = settings(webhook_poll_s=0.05, webhook_timeout_s=2.0)
    register(client, auth, receiver.url)
    loop = sender.DeliveryLoop(db.session_factory(), cfg, transport=LoopbackOnly())
    loop.start()
    try:
        start = time.monotonic()
        doc = moderate(client, auth, PROFANE)
        assert receiver.wait_for(1, timeout=5.0), "the loop did not deliver"
        assert time.monotonic() - start < 3.0
        assert receiver.requests[0].json()["decision"]["id"] == doc["id"]
        for _ in range(50):  # the row is recorded right after the receiver answers
            if deliveries(project)[0].status == "delivered":
                break
            time.sleep(0.05)
        assert deliveries(project)[0].status == "delivered"
    finally:
        start = time.monotonic()
        loop.stop()
        stopped_in = time.monotonic() - start
    assert loop._thread is not None and not loop._thread.is_alive()
    assert stopped_in < 2.0

    later = moderate(client, auth, PROFANE, data_id="post-2")
    time.sleep(0.5)
    assert len(receiver.requests) == 1  # stopped means stopped
    assert [r.status for r in deliveries(project) if r.decision_id == later["id"]] == ["pending"]


# --- tenancy and validation ------------------------------------------------------------------------------


@pytest.mark.models
def test_other_projects_webhooks_and_deliveries_are_not_found(client, auth, project, receiver) -> None:  # type: ignore[no-untyped-def]
    hook = register(client, auth, receiver.url)
    moderate(client, auth, PROFANE)
    [row] = deliveries(project)
    stranger = other_auth(f"{project}-other")

    assert client.get("/v1/webhooks", headers=stranger).json() == {"webhooks": []}
    for method, path in [
        ("GET", f"/v1/webhooks/{hook['id']}/deliveries"),
        ("DELETE", f"/v1/webhooks/{hook['id']}"),
        ("POST", f"/v1/webhooks/{hook['id']}/replay"),
        ("POST", f"/v1/deliveries/{row.id}/replay"),
        ("GET", "/v1/webhooks/wh_missing/deliveries"),
        ("POST", "/v1/deliveries/dlv_missing/replay"),
    ]:
        response = client.request(method, path, headers=stranger)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    # Nothing changed for the owner.
    with transaction() as session:
        assert session.get(Webhook, hook["id"]).active is True  # type: ignore[union-attr]
    assert (delivery(row.id).status, delivery(row.id).attempts) == ("pending", 0)
    assert client.get("/v1/webhooks", headers=auth).json()["webhooks"][0]["active"] is True
    assert client.get("/v1/webhooks").status_code == 401


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "not a url", "", "javascript:alert(1)"])
def test_webhook_url_must_be_http(client, auth, project, url) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/webhooks", json={"url": url}, headers=auth)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["field"] == "url"
    assert "url" in problem["detail"]
    assert client.get("/v1/webhooks", headers=auth).json()["webhooks"] == []


def test_webhook_verdicts_are_checked(client, auth) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "verdicts": ["maybe"]}, headers=auth)
    assert response.status_code == 422 and response.json()["field"].startswith("verdicts")
    response = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "verdicts": []}, headers=auth)
    assert response.status_code == 422 and response.json()["field"] == "verdicts"
