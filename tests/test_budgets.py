"""Time budgets (issue 10, items 2 and 6): a fetch ends by its deadline whatever the server does, one
project's slow media cannot starve another's, and a request's analysis is bounded."""

from __future__ import annotations

import time

import pytest

from tamis.config import Settings
from tamis.errors import ProblemError
from tamis.media import fetch_url

from slow_server import slow_server

LOOPBACK = ["127.0.0.1/32"]


@pytest.mark.slow
@pytest.mark.parametrize("field", ["items[0].image_url", "video_url"])
def test_a_server_dripping_headers_is_cut_at_the_fetch_deadline(field: str) -> None:
    """Old code: the per-read timeout restarts with every byte, so the fetch lasted as long as the drip."""
    settings = Settings(fetch_timeout_s=1.0)
    with slow_server(interval=0.2, for_s=8.0) as server:
        started = time.monotonic()
        with pytest.raises(ProblemError) as info:
            fetch_url(f"{server.url}/drip", field=field, settings=settings, allowed_networks=LOOPBACK)
        elapsed = time.monotonic() - started
    assert info.value.status == 422 and info.value.field == field
    assert "timed out" in info.value.detail
    assert elapsed < 3.0, elapsed


# --- one project's slow media does not starve another's -----------------------------------------


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from tamis import config

    current = config.get_settings()
    monkeypatch.setattr(current, "fetch_allow_private", True)  # the slow server is on loopback
    return current


def other_key(name: str) -> dict[str, str]:
    from tamis.store import queries
    from tamis.store.db import transaction

    with transaction() as session:
        _, plaintext = queries.create_key(session, name)
    return {"Authorization": f"Bearer {plaintext}"}


def png_base64() -> str:
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.models
def test_four_slow_urls_of_one_project_do_not_stop_another_projects_images(client, auth, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import threading

    monkeypatch.setattr(settings, "fetch_timeout_s", 6.0)
    other = other_key("proj-fair-other")
    image = png_base64()
    assert client.post("/v1/moderate", headers=other, json={"items": [{"data_id": "w", "image_base64": image}]}).status_code == 200
    with slow_server(interval=0.2, for_s=8.0) as server:
        answers: list[int] = []

        def attacker(i: int) -> None:
            body = {"items": [{"data_id": f"s{i}", "image_url": f"{server.url}/drip/{i}.png"}]}
            answers.append(client.post("/v1/moderate", headers=auth, json=body).status_code)

        threads = [threading.Thread(target=attacker, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 3
        while server.dripping < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.dripping >= 2  # the slow fetches are under way
        started = time.monotonic()
        response = client.post("/v1/moderate", headers=other, json={"items": [{"data_id": "v", "image_base64": image}]})
        elapsed = time.monotonic() - started
        still_dripping = server.dripping
        for thread in threads:
            thread.join(30)
    assert response.status_code == 200, response.text
    assert still_dripping >= 1, "the other project's image was not judged while the slow fetches ran"
    assert elapsed < 4.0, elapsed
    assert answers == [422] * 4  # each slow URL timed out, none a 500


@pytest.mark.slow
def test_a_slow_video_url_is_cut_at_the_fetch_deadline(client, auth, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "fetch_timeout_s", 1.0)
    with slow_server(interval=0.2, for_s=8.0) as server:
        started = time.monotonic()
        response = client.post("/v1/videos", headers=auth, json={"data_id": "v", "video_url": f"{server.url}/drip/v.mp4"})
        elapsed = time.monotonic() - started
    from conftest import assert_problem

    assert "timed out" in assert_problem(response, 422, "video_url")["detail"]
    assert elapsed < 3.0, elapsed


@pytest.mark.slow
def test_a_request_waiting_past_its_budget_for_its_projects_turn_gets_503(client, auth, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import threading

    from conftest import assert_problem

    monkeypatch.setattr(settings, "fetch_timeout_s", 3.0)
    monkeypatch.setattr(settings, "request_budget_s", 0.5)
    with slow_server(interval=0.2, for_s=8.0) as server:
        first: list[int] = []
        slow = {"items": [{"data_id": f"s{i}", "image_url": f"{server.url}/drip/{i}.png"} for i in range(2)]}
        holder = threading.Thread(target=lambda: first.append(client.post("/v1/moderate", headers=auth, json=slow).status_code))
        holder.start()
        deadline = time.monotonic() + 3
        while server.dripping < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()
        body = {"items": [{"data_id": "t", "text": "hello"}, {"data_id": "w", "image_url": f"{server.url}/drip/w.png"}]}
        response = client.post("/v1/moderate", headers=auth, json=body)
        elapsed = time.monotonic() - started
        holder.join(10)
    # the project's two slots are held by the first request: the second could not start within 0.5 s
    problem = assert_problem(response, 503, "items[1].image_url")
    assert int(response.headers["retry-after"]) >= 1 and "budget" in problem["detail"]
    assert elapsed < 2.0, elapsed
    assert first == [422]


# --- a request's analysis: bounded in characters, and one project's turns ------------------------


def test_a_request_over_the_character_budget_is_413_before_any_analysis(client, auth, settings) -> None:  # type: ignore[no-untyped-def]
    from conftest import assert_problem

    text = "x " * (settings.max_text_chars // 2)  # each text at the per-text limit
    count = settings.max_request_chars // settings.max_text_chars + 1
    started = time.monotonic()
    response = client.post("/v1/moderate", headers=auth, json={"items": [{"data_id": str(i), "text": text} for i in range(count)]})
    assert "characters" in assert_problem(response, 413, "items")["detail"]
    response = client.post("/v1/moderations", headers=auth, json={"input": [text] * count})
    assert_problem(response, 413, "input")
    assert time.monotonic() - started < 5.0  # refused up front: minutes of analysis on the old code


@pytest.mark.models
def test_a_project_waits_for_its_own_analysis_turns_and_others_do_not(client, auth, project, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from conftest import assert_problem
    from tamis.api.fairness import project_slots

    monkeypatch.setattr(settings, "analysis_per_project", 1)
    monkeypatch.setattr(settings, "request_budget_s", 0.5)
    other = other_key("proj-turns-other")
    body = {"items": [{"data_id": "a", "text": "hello there"}]}
    turns = project_slots(project, "analysis")
    assert turns.acquire(timeout=1)  # the project's only turn, held as a long request would
    try:
        started = time.monotonic()
        refused = client.post("/v1/moderate", headers=auth, json=body)
        assert time.monotonic() - started < 3.0
        assert client.post("/v1/moderate", headers=other, json=body).status_code == 200
    finally:
        turns.release()
    problem = assert_problem(refused, 503, "items")
    assert int(refused.headers["retry-after"]) >= 1 and "budget" in problem["detail"]
    assert client.post("/v1/moderate", headers=auth, json=body).status_code == 200  # the turn is free again


# --- slow clients: the server's own timeouts ------------------------------------------------------


@pytest.fixture
def served(app, settings, monkeypatch):  # type: ignore[no-untyped-def]
    """The app behind uvicorn as `tamis serve` configures it, on a free loopback port."""
    import socket
    import threading

    import uvicorn

    from tamis.api.server import server_config

    monkeypatch.setattr(settings, "header_timeout_s", 1.0)
    monkeypatch.setattr(settings, "body_timeout_s", 1.0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(10)


def _closed_within(sock, seconds: float) -> tuple[bool, bytes]:  # type: ignore[no-untyped-def]
    """Drip one byte of a header every 0.2 s until the server closes; (closed in time, what it sent)."""
    import socket

    sock.settimeout(0.2)
    end = time.monotonic() + seconds
    received = b""
    while time.monotonic() < end:
        try:
            sock.sendall(b"a")
        except OSError:
            return True, received
        try:
            chunk = sock.recv(4096)
            if not chunk:
                return True, received
            received += chunk
        except socket.timeout:
            continue
        except OSError:
            return True, received
    return False, received


@pytest.mark.slow
def test_a_half_sent_header_is_cut_at_the_header_timeout(served: int) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", served)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        started = time.monotonic()
        closed, _ = _closed_within(sock, 6.0)
    assert closed, "uvicorn kept a half-sent header open"
    assert time.monotonic() - started < 4.0


@pytest.mark.slow
def test_whole_requests_and_keep_alive_still_work(served: int) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", served, timeout=10)
    for _ in range(2):
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        assert response.status == 200
        response.read()
        time.sleep(0.5)  # under both the keep-alive and the header timeouts
    connection.close()


@pytest.mark.slow
def test_a_trickling_body_is_answered_408(served: int, auth) -> None:  # type: ignore[no-untyped-def]
    import socket

    head = (f"POST /v1/moderate HTTP/1.1\r\nHost: x\r\nAuthorization: {auth['Authorization']}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    with socket.create_connection(("127.0.0.1", served)) as sock:
        sock.sendall(head.encode() + b'{"items": [')
        started = time.monotonic()
        _, received = _closed_within(sock, 6.0)
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert time.monotonic() - started < 4.0


@pytest.mark.models
def test_only_a_few_requests_of_a_project_may_wait_for_media_threads(client, auth, project, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Waiting for a media thread holds a server worker thread: a project may not park many there."""
    import threading

    from conftest import assert_problem
    from tamis.api.fairness import WAITING_PER_SHARE, project_slots

    monkeypatch.setattr(settings, "media_per_project", 1)
    monkeypatch.setattr(settings, "request_budget_s", 3.0)
    body = {"items": [{"data_id": "i", "image_base64": png_base64()}]}
    share = project_slots(project)
    assert share.acquire(timeout=1)  # the project's media thread, busy
    waiting: list[int] = []
    threads = [threading.Thread(target=lambda: waiting.append(client.post("/v1/moderate", headers=auth, json=body).status_code))
               for _ in range(WAITING_PER_SHARE)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # both are waiting now
        started = time.monotonic()
        refused = client.post("/v1/moderate", headers=auth, json=body)
        assert time.monotonic() - started < 1.0  # at once, not after the budget
    finally:
        share.release()
        for thread in threads:
            thread.join(30)
    assert "waiting" in assert_problem(refused, 503, "items[0].image_base64")["detail"]
    assert sorted(waiting) == [200] * WAITING_PER_SHARE  # their turn came within the budget


@pytest.mark.slow
def test_a_slow_name_server_is_cut_at_the_fetch_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def slow_lookup(*args: object, **kwargs: object) -> list[tuple]:
        time.sleep(5)  # what an attacker's name server can make the system resolver do
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80))]

    monkeypatch.setattr(socket, "getaddrinfo", slow_lookup)
    started = time.monotonic()
    with pytest.raises(ProblemError) as info:
        fetch_url("http://slow-dns.example/a.png", field="items[0].image_url", settings=Settings(fetch_timeout_s=1.0))
    assert info.value.status == 422 and "timed out" in info.value.detail
    assert time.monotonic() - started < 3.0
