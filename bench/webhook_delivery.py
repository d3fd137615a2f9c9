"""Webhook delivery benchmark: one sender, receivers that take a while to answer, in one run.

1. Throughput: N deliveries spread over W webhooks whose receiver takes DELAY s per request, sent
   by tamis's sender with its defaults against the same sender limited to one delivery at a time
   (the anchor: how delivery worked before it was concurrent). Prints deliveries/s and the ratio.
2. Isolation: project A's webhooks point at a receiver that drips its headers forever (every
   attempt runs to TAMIS_WEBHOOK_TIMEOUT_S), with a backlog; project B's deliveries to a healthy
   receiver are timed from enqueue to arrival (p50, p95, max) against the attempt deadline.

SQLite in a temporary directory; receivers on 127.0.0.1 (allowed explicitly).

    python bench/webhook_delivery.py [--deliveries 200] [--webhooks 8] [--delay 0.2]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("TAMIS_DATA_DIR", tempfile.mkdtemp(prefix="tamis-bench-webhooks-"))
os.environ["TAMIS_WEBHOOK_ALLOW_NETWORKS"] = "127.0.0.0/8"

from tamis.services import delivery, webhooks  # noqa: E402
from tamis.config import Settings  # noqa: E402
from tamis.store import queries  # noqa: E402
from tamis.store.db import session_factory, transaction  # noqa: E402
from tamis.store.models import Decision, Delivery  # noqa: E402


class Receiver(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

    def __init__(self, delay: float) -> None:
        self.delay, self.arrivals = delay, {}  # delivery id -> monotonic arrival
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(server.delay)
                server.arrivals[self.headers["Tamis-Delivery"]] = time.monotonic()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server_address[1]}/hook"


def dripper() -> str:
    """A receiver that sends one byte of its status line every 0.5 s, forever."""
    sock = socket.create_server(("127.0.0.1", 0), backlog=512)

    def drip(conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            while True:
                conn.sendall(b"H")
                time.sleep(0.5)
        except OSError:
            conn.close()

    def accept() -> None:
        while True:
            conn, _ = sock.accept()
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}/slow"


def enqueue(project: str, urls: list[str], per_webhook: int) -> list[str]:
    """per_webhook deliveries for each of the project's new webhooks; their ids."""
    with transaction() as session:
        queries.ensure_project(session, project)
        decision = Decision(id=f"dec_bench{time.time_ns():x}", project_id=project, policy_id="default",
                            policy_version=0, source="bench", doc={})
        session.add(decision)
        hooks = [webhooks.create_webhook(session, project, url) for url in urls]
        rows = [Delivery(webhook_id=h.id, project_id=project, decision_id=decision.id, body="{}")
                for h in hooks for _ in range(per_webhook)]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def drain(settings: Settings, ids: list[str], receiver: Receiver, timeout: float) -> float:
    """Run a delivery loop until every id arrived; seconds taken."""
    loop = delivery.DeliveryLoop(session_factory(), settings)
    start = time.monotonic()
    loop.start()
    while not all(i in receiver.arrivals for i in ids) and time.monotonic() - start < timeout:
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    loop.stop()
    missing = [i for i in ids if i not in receiver.arrivals]
    if missing:
        sys.exit(f"{len(missing)} deliveries did not arrive in {timeout} s")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=200)
    parser.add_argument("--webhooks", type=int, default=8)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds each receiver request takes")
    args = parser.parse_args()
    base = Settings(webhook_poll_s=0.02, webhook_allow_networks="127.0.0.0/8")
    receiver = Receiver(args.delay)
    per_webhook = max(1, args.deliveries // args.webhooks)
    n = per_webhook * args.webhooks

    # 1. Throughput: one at a time (anchor) against the defaults, same receivers, same rows.
    one = base.model_copy(update={"webhook_concurrency": 1, "webhook_endpoint_concurrency": 1,
                                  "webhook_project_concurrency": 1})
    anchor_ids = enqueue("bench-anchor", [f"{receiver.url}?w={i}" for i in range(args.webhooks)], per_webhook)
    anchor_s = drain(one, anchor_ids, receiver, timeout=n * args.delay * 3 + 30)
    ids = enqueue("bench-concurrent", [f"{receiver.url}?w={i}" for i in range(args.webhooks)], per_webhook)
    concurrent_s = drain(base, ids, receiver, timeout=n * args.delay * 3 + 30)
    print(f"throughput: {n} deliveries over {args.webhooks} webhooks, receiver {args.delay:g} s per request")
    print(f"  one at a time (anchor): {n / anchor_s:7.1f} deliveries/s")
    print(f"  tamis defaults:         {n / concurrent_s:7.1f} deliveries/s   ratio {anchor_s / concurrent_s:.1f}x "
          f"(concurrency {base.webhook_concurrency}, {base.webhook_endpoint_concurrency} per webhook, "
          f"{base.webhook_project_concurrency} per project)")

    # 2. Isolation: A's dripping receivers hold A's slots; B's deliveries arrive regardless.
    isolation = base.model_copy(update={"webhook_timeout_s": 5.0})
    enqueue("bench-a", [dripper() for _ in range(4)], 10)
    loop = delivery.DeliveryLoop(session_factory(), isolation)
    loop.start()
    time.sleep(1.0)  # A's attempts are in flight
    receiver.delay = 0.0
    latencies = []
    for _ in range(20):
        start = time.monotonic()
        [one_id] = enqueue("bench-b", [receiver.url + "?b"], 1)
        while one_id not in receiver.arrivals and time.monotonic() - start < 30:
            time.sleep(0.005)
        latencies.append(receiver.arrivals.get(one_id, float("inf")) - start)
        time.sleep(0.1)
    loop.stop()
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"isolation: project A's 40 deliveries to receivers that drip headers (deadline {isolation.webhook_timeout_s:g} s);")
    print(f"  project B's deliveries, enqueue to arrival: p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms (poll interval {isolation.webhook_poll_s * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
