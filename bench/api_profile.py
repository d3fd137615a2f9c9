"""Where an image's time goes through the API beyond the models: py-spy samples a real `tamis serve`
(SQLite) while `--concurrency` clients post single-image `/v1/moderations` requests (data: URLs of
new JPEGs, 640x480 unless --size), then the samples of the server's busy threads are split by what they were doing.

    pip install py-spy   # the `bench` extra
    python bench/api_profile.py [--requests 40] [--concurrency 2] [--size 640x480]

Prints images/s and p50 for the run, then the share of busy samples in: the analyzers (models and
their preprocessing), image decoding, hashing for the banks, thumbnails, the database, the rest of
the request (HTTP, JSON, validation, thread hand-offs). Samples of threads waiting (for a lock, a
queue, the network, the analysis pool) are left out. py-spy must be allowed to read the server's
memory (ptrace; run as the same user, or root in a container).
"""

from __future__ import annotations

import argparse
import base64
import collections
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path[:0] = [str(Path(__file__).resolve().parent)]
from api_throughput import make_images, start_server  # noqa: E402

# What a busy sample was doing: the first of these found in its stack (innermost first) names it.
PARTS = (
    ("hashing for the banks", ("HashMatch", "pdq_hash", "match_hashes")),
    ("thumbnails", ("blurred_thumbnail", "item_thumbnails")),
    ("decoding", ("decode_image", "larger_copy")),
    ("database", ("sqlalchemy", "sqlite3", "record (", "transaction (")),
    ("analyzers and the decision", ("judge.py",)),
)
# Leaf frames of a thread that waits rather than works.
WAITING = ("wait (threading", "select", "_worker (concurrent", "acquire", "poll", "sleep", "get (queue",
           "_wait_for_tstate_lock", "Future.result", "result (concurrent")


def split(raw: str) -> tuple[int, collections.Counter[str]]:
    """(busy samples, samples per part) of py-spy's raw (collapsed stacks) output."""
    parts: collections.Counter[str] = collections.Counter()
    busy = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")[1:]
        if not frames or not count.isdigit() or any(w in frames[-1] for w in WAITING):
            continue
        busy += int(count)
        for name, marks in PARTS:
            if any(mark in frame for frame in frames for mark in marks):
                parts[name] += int(count)
                break
        else:
            parts["the rest of the request"] += int(count)
    return busy, parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--size", default="640x480", help="the photos' WxH, e.g. 4032x3024 (a 12-MP phone photo)")
    parser.add_argument("--keep", type=Path, help="also copy py-spy's raw samples (collapsed stacks) there")
    args = parser.parse_args()
    spy_binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy_binary).exists():
        sys.exit("py-spy is not installed (pip install py-spy)")
    width, height = (int(v) for v in args.size.lower().split("x"))
    images = make_images(args.requests + 1, seed=800, size=(width, height))

    def body(data: bytes) -> dict:  # type: ignore[type-arg]
        url = "data:image/jpeg;base64," + base64.b64encode(data).decode()
        return {"input": [{"type": "image_url", "image_url": {"url": url}}]}

    with tempfile.TemporaryDirectory() as data_dir:
        server, url, key = start_server(data_dir)
        headers = {"Authorization": f"Bearer {key}"}
        out = Path(data_dir) / "profile.txt"
        try:
            httpx.post(url + "/v1/moderations", json=body(images[-1]), headers=headers, timeout=120)  # warm-up
            spy = subprocess.Popen([spy_binary, "record", "-p", str(server.pid), "-o", str(out), "-f", "raw",
                                    "-r", "50", "--threads", "--idle"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.5)  # py-spy attaches
            queue, lock, took = list(images[:-1]), threading.Lock(), []

            def client() -> None:
                with httpx.Client(timeout=120) as http:
                    while True:
                        with lock:
                            if not queue:
                                return
                            data = queue.pop()
                        start = time.perf_counter()
                        response = http.post(url + "/v1/moderations", json=body(data), headers=headers)
                        took.append(time.perf_counter() - start)
                        response.raise_for_status()

            start = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(args.concurrency)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - start
            spy.send_signal(2)  # SIGINT: py-spy writes its samples and exits
            spy.wait(timeout=60)
        finally:
            server.terminate()
            server.wait(timeout=30)
        busy, parts = split(out.read_text()) if out.exists() else (0, collections.Counter())
        if args.keep and out.exists():
            shutil.copy(out, args.keep)
    took.sort()
    print(f"{args.requests} single-image requests, {args.concurrency} clients: {args.requests / elapsed:.2f} images/s, "
          f"p50 {took[len(took) // 2] * 1000:.0f} ms")
    if not busy:
        print("py-spy recorded nothing (not allowed to read the server's memory?)")
        return
    for name, count in parts.most_common():
        print(f"  {name:26} {100 * count / busy:5.1f} % of busy samples")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    main()
