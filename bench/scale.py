"""Scale-out: items/s through 1 and through 2 API processes, in the same run, with the same traffic.

Each configuration starts its own `tamis serve --no-worker` processes and `--workers` `tamis worker`s
on one PostgreSQL database (a throw-away one on the server of TAMIS_DATABASE_URL), warms the API
processes up, then sends the same fixed list of /v1/moderate requests (texts and photos, every one
recorded as a decision and announced by webhook to a local receiver, which the workers deliver)
from the same number of client threads, round-robin over the API processes. Prints items/s,
requests/s and p50/p95 request latency per configuration, and the ratio 2 / 1. Loopback only;
everything it starts stops.

"API cores used" is the API processes' CPU time over the measured window's wall time, and "CPU
ms/item" their CPU time per item: when the cores used do not grow from 1 to 2 processes, the machine,
not the process, is the limit. A process runs Python one thread at a time (the GIL; onnxruntime and
numpy release it in their loops), so a second process helps when the first cannot use the cores
the machine has free; on 2 cores that the first process (with onnxruntime's own threads) already
keeps busy, expect a ratio near 1.

    TAMIS_DATABASE_URL=postgresql://... python bench/scale.py [--texts 60] [--images 24] [--clients 4] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from cluster import (Cluster, Receiver, Request, create_key, drive, image_request, percentile, small_jpegs,  # noqa: E402
                     text_request, throwaway_database)


def plan(texts: int, images: int) -> list[Request]:
    """`texts` requests of 8 texts and `images` requests of 2 photos (320x240), interleaved."""
    jpegs = small_jpegs()
    out: list[Request] = [text_request(f"t{i}", 8) for i in range(texts)]
    step = max(1, len(out) // max(1, images))
    for i in range(images):
        out.insert(i * (step + 1), image_request(f"i{i}", [jpegs[i % len(jpegs)], jpegs[(i + 1) % len(jpegs)]]))
    return out


def measure(workdir: Path, database: str, key: str, processes: int, workers: int, requests: list[Request],
            clients: int) -> dict[str, float]:
    env = {"TAMIS_DATABASE_URL": database}
    with Cluster(workdir / f"{processes}p-{time.monotonic_ns()}", env) as cluster:
        apis = [cluster.api(f"api-{i + 1}") for i in range(processes)]
        runners = [cluster.worker(f"worker-{i + 1}") for i in range(workers)]
        cluster.wait_ready([*apis, *runners], timeout_s=300)
        urls = [api.url for api in apis]  # type: ignore[misc]
        warm = drive(requests[: 2 * len(urls)], urls, key, threads=len(urls))  # every process answers once first
        if any(o.status != 200 for o in warm):
            raise RuntimeError(f"warm-up failed: {[(o.status, o.body) for o in warm if o.status != 200][:3]}")
        cpu = -sum(api.cpu_seconds() for api in apis)
        start = time.perf_counter()
        outcomes = drive(requests, urls, key, threads=clients)
        elapsed = time.perf_counter() - start
        cpu += sum(api.cpu_seconds() for api in apis)
    failed = [o for o in outcomes if o.status != 200]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(outcomes)} requests failed: {failed[0].status} {failed[0].body}")
    items = sum(len(o.request.data_ids) for o in outcomes)
    latencies = [o.seconds for o in outcomes]
    return {"items_s": items / elapsed, "requests_s": len(outcomes) / elapsed, "p50": percentile(latencies, 0.5),
            "p95": percentile(latencies, 0.95), "seconds": elapsed, "items": items,
            "cores": cpu / elapsed, "cpu_ms_item": 1000 * cpu / items}


def add_webhook(database: str, project: str, url: str) -> str:
    """A webhook for every verdict, written before any API process starts; its secret."""
    from sqlalchemy.orm import Session

    from tamis.store.db import make_engine
    from tamis.services.webhooks import create_webhook

    engine = make_engine(database)
    with Session(engine) as session, session.begin():
        secret = create_webhook(session, project, url, verdicts=("pass", "review", "block")).secret
    engine.dispose()
    return secret


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=60, help="requests of 8 texts")
    parser.add_argument("--images", type=int, default=12, help="requests of 2 photos")
    parser.add_argument("--clients", type=int, default=4, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="`tamis worker`s delivering the webhooks")
    parser.add_argument("--rounds", type=int, default=1, help="alternate 1 and 2 processes this many times (medians)")
    args = parser.parse_args()
    server = os.environ.get("TAMIS_DATABASE_URL", "")
    if not server.startswith(("postgresql", "postgres")):
        sys.exit("bench/scale.py needs TAMIS_DATABASE_URL=postgresql://... (several processes share one database)")

    requests = plan(args.texts, args.images)
    results: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    receiver = Receiver().start()
    with throwaway_database(server) as database, tempfile.TemporaryDirectory() as tmp:
        key = create_key(database, "bench-scale")
        receiver.secret = add_webhook(database, "bench-scale", receiver.url)
        for _ in range(args.rounds):
            for processes in (1, 2):
                results[processes].append(measure(Path(tmp), database, key, processes, args.workers, requests, args.clients))
    receiver.close()

    load = os.getloadavg()
    items = results[1][0]["items"]
    print(f"cpu cores: {os.cpu_count()}  load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}  "
          f"rounds: {args.rounds}")
    print(f"traffic: {len(requests)} requests ({args.texts} x 8 texts, {args.images} x 2 photos 320x240) = "
          f"{items:.0f} items, {args.clients} client threads, round-robin over the API processes; PostgreSQL; "
          f"{args.workers} workers delivering a webhook per decision ({receiver.requests} received, "
          f"{receiver.bad_signatures} badly signed)")
    print(f"{'API processes':>14} {'items/s':>9} {'requests/s':>11} {'p50 s':>7} {'p95 s':>7} "
          f"{'API cores used':>15} {'API CPU ms/item':>16}")
    med = {}
    for processes, runs in results.items():
        med[processes] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        m = med[processes]
        print(f"{processes:>14} {m['items_s']:9.1f} {m['requests_s']:11.2f} {m['p50']:7.2f} {m['p95']:7.2f} "
              f"{m['cores']:15.2f} {m['cpu_ms_item']:16.1f}")
    print(f"ratio items/s 2 / 1: {med[2]['items_s'] / med[1]['items_s']:.2f}")


if __name__ == "__main__":
    main()
