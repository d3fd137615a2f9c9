"""Soak: one `tamis serve` (its embedded runner delivering webhooks) under a steady request rate for
a given time; its memory over time, errors, latency.

Traffic, the same every run: /v1/moderate with 4 new texts (7 of 10 requests) or one photo (2 of
10), and one read (a decision by id, or /v1/match) in 10; all distinct content, every decision
recorded and delivered by webhook to a local receiver. The server's RSS (children included) is
sampled every few seconds. Growth is the RSS at the end against the RSS once warm (after the first
10 % of the run: models, pools and caches filled), target < 5 %; errors are non-2xx answers,
failed connections and webhook deliveries not delivered by the end, target 0.

SQLite in a temporary folder by default; on PostgreSQL (a throw-away database) when
TAMIS_DATABASE_URL is set. Loopback only; everything it starts stops.

    python bench/soak.py [--minutes 10] [--rate 2.0] [--sample-s 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from cluster import (TEXTS, Cluster, Outcome, Receiver, Request, create_key, percentile, send, small_jpegs,  # noqa: E402
                     throwaway_database, wait_until)


@contextlib.contextmanager
def database(tmp: Path) -> Iterator[str]:
    server = os.environ.get("TAMIS_DATABASE_URL", "")
    if server.startswith(("postgresql", "postgres")):
        with throwaway_database(server) as url:
            yield url
    else:
        from tamis.store.db import make_engine, migrate

        url = f"sqlite:///{tmp / 'soak.db'}"
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        yield url


def request(i: int, jpegs: list[bytes]) -> Request:
    """The i-th request of the script: distinct content every time."""
    if i % 10 in (3, 7):
        return Request("image", [f"img-{i}"], files={"file": (f"{i}.jpg", jpegs[i % len(jpegs)], "image/jpeg")},
                       form={"data_id": f"img-{i}"})
    ids = [f"txt-{i}-{k}" for k in range(4)]
    return Request("text", ids, json={"items": [{"data_id": d, "text": f"{TEXTS[(i + k) % len(TEXTS)]} #{i}.{k}"}
                                                for k, d in enumerate(ids)]})


def read(http: httpx.Client, url: str, i: int, last_decision: str | None) -> Outcome:
    sent = time.monotonic()
    if i % 20 == 9 and last_decision:
        response = http.get(f"{url}/v1/decisions/{last_decision}")
    else:
        response = http.post(f"{url}/v1/match", json={"hashes": [{"signal": "pdq", "value": f"{i:064x}"}]})
    return Outcome(Request("read", []), url, response.status_code, sent, time.monotonic() - sent)


def rss_tree(pid: int) -> int:
    """RSS of the process and its children (bytes)."""
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += child.memory_info().rss
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=2.0, help="requests per second")
    parser.add_argument("--clients", type=int, default=4, help="client threads (enough to hold the rate)")
    parser.add_argument("--sample-s", type=float, default=5.0, help="seconds between RSS samples")
    args = parser.parse_args()

    jpegs = small_jpegs()
    duration = args.minutes * 60
    total = int(duration * args.rate)
    receiver = Receiver().start()
    with tempfile.TemporaryDirectory() as tmp, database(Path(tmp)) as url:
        key = create_key(url, "soak")
        env = {"TAMIS_DATABASE_URL": url}
        with Cluster(Path(tmp), env) as cluster:
            server = cluster.api("serve", embedded_worker=True)
            cluster.wait_ready([server], timeout_s=300)
            base = server.url or ""
            headers = {"Authorization": f"Bearer {key}"}
            hook = httpx.post(f"{base}/v1/webhooks", headers=headers, timeout=60,
                              json={"url": receiver.url, "verdicts": ["pass", "review", "block"]})
            hook.raise_for_status()
            receiver.secret = hook.json()["secret"]

            samples: list[tuple[float, int]] = []
            outcomes: list[Outcome] = []
            done = threading.Event()
            start = time.monotonic()

            def sampler() -> None:
                while not done.wait(0 if not samples else args.sample_s):
                    samples.append((time.monotonic() - start, rss_tree(server.pid)))

            lock, counter = threading.Lock(), [0]
            last_decision: list[str | None] = [None]

            def client() -> None:
                with httpx.Client(timeout=120, headers=headers) as http:
                    while True:
                        with lock:
                            i = counter[0]
                            counter[0] += 1
                        if i >= total:
                            return
                        time.sleep(max(0.0, start + i / args.rate - time.monotonic()))
                        if i % 10 == 9:
                            outcome = read(http, base, i, last_decision[0])
                        else:
                            outcome = send(http, request(i, jpegs), base)
                            last_decision[0] = outcome.body.get("id") or last_decision[0]
                        outcomes.append(outcome)

            watch = threading.Thread(target=sampler, daemon=True)
            watch.start()
            clients = [threading.Thread(target=client, daemon=True) for _ in range(args.clients)]
            for t in clients:
                t.start()
            for t in clients:
                t.join()
            elapsed = time.monotonic() - start
            samples.append((elapsed, rss_tree(server.pid)))
            done.set()
            with contextlib.suppress(TimeoutError):  # the runner catches up with the last decisions
                wait_until(lambda: undelivered(url) == 0, 120, "the last webhook deliveries", 1)
            left = undelivered(url)
    receiver.close()
    report(args, samples, outcomes, elapsed, receiver, left)


def undelivered(url: str) -> int:
    """Webhook deliveries not delivered (pending or failed), read from the database."""
    from sqlalchemy import func, select

    from tamis.store.db import make_engine
    from tamis.store.models import Delivery

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            query = select(func.count()).select_from(Delivery).where(Delivery.status != "delivered")
            return int(connection.scalar(query) or 0)
    finally:
        engine.dispose()


def report(args: argparse.Namespace, samples: list[tuple[float, int]], outcomes: list[Outcome], elapsed: float,
           receiver: Receiver, undelivered: int) -> None:
    mib = 1 / (1024 * 1024)
    warm_t = 0.1 * elapsed
    warm = next((rss for t, rss in samples if t >= warm_t), samples[-1][1])
    end, peak = samples[-1][1], max(rss for _, rss in samples)
    errors = [o for o in outcomes if not 200 <= o.status < 300]
    latencies = [o.seconds for o in outcomes]
    load = os.getloadavg()
    print(f"cpu cores: {os.cpu_count()}  load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}  "
          f"database: {'PostgreSQL' if os.environ.get('TAMIS_DATABASE_URL') else 'SQLite'}")
    print(f"ran {elapsed / 60:.1f} min; {len(outcomes)} requests at {len(outcomes) / elapsed:.2f}/s "
          f"(asked {args.rate}/s), {sum(len(o.request.data_ids) for o in outcomes)} items")
    print(f"latency p50 {percentile(latencies, 0.5):.3f} s, p95 {percentile(latencies, 0.95):.3f} s, "
          f"max {max(latencies, default=0):.3f} s")
    print(f"errors: {len(errors)} HTTP/transport" + (f" (first: {errors[0].status} {errors[0].body})" if errors else "")
          + f", {undelivered} webhook deliveries not delivered, {receiver.bad_signatures} bad signatures; "
          f"webhook requests received: {receiver.requests}")
    print(f"server RSS: warm (t={warm_t:.0f} s) {warm * mib:.1f} MiB, end {end * mib:.1f} MiB, peak {peak * mib:.1f} MiB; "
          f"growth warm -> end {100 * (end - warm) / warm:+.2f} % (target < 5 %)")
    step = max(1, len(samples) // 12)
    print("RSS over time (s: MiB): " + ", ".join(f"{t:.0f}: {rss * mib:.0f}" for t, rss in samples[::step]))


if __name__ == "__main__":
    main()
