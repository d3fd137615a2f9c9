"""What tamis needs on one machine: disk, memory, start-up time, time per item. For the README's
"What it needs".

    python bench/footprint.py [--items 40]

Measures, in one run: the installed size of tamis's dependency closure (from the installed
distributions' file lists, see bench/install_size.py) and of the whole environment; a real
`tamis serve` (SQLite in a temporary data directory) — seconds until /readyz answers, resident memory
once ready and after the items; the median time per item through HTTP, one request per item, for a
short text and for a photo (640x480 JPEG); and the wall time of a one-shot `tamis moderate "hello"`.
Prints the CPU count and load average: figures from a busy machine are upper bounds.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from install_size import closure, dist_bytes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "tests" / "fixtures" / "benign" / "coffee.jpg"
TEXTS = ["see you at the meeting tomorrow", "you are a fucking idiot", "this recipe needs more garlic",
         "I will find you and hurt you", "great photo, where was it taken?"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def photo_b64() -> str:
    with Image.open(PHOTO) as im:
        buf = io.BytesIO()
        im.convert("RGB").resize((640, 480)).save(buf, "JPEG", quality=90)
    return base64.b64encode(buf.getvalue()).decode()


def per_item_ms(client: httpx.Client, items: list[dict[str, str]], key: str) -> float:
    times = []
    for i, item in enumerate(items):
        start = time.perf_counter()
        response = client.post("/v1/moderate", json={"items": [{"data_id": f"b{i}", **item}]},
                               headers={"Authorization": f"Bearer {key}"})
        times.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return statistics.median(times)


def tamis(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tamis", *args], env=env, capture_output=True, text=True, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=40, help="Items of each kind (one request each).")
    args = parser.parse_args()
    print(f"cpus {os.cpu_count()}, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    deps = sorted(closure("tamis"))
    print(f"disk: tamis and its dependencies {sum(dist_bytes(d) for d in deps) / 1e6:,.0f} MB "
          f"({len(deps)} distributions); this environment {folder_mb(Path(sys.prefix)):,.0f} MB")

    data = Path(tempfile.mkdtemp(prefix="tamis-footprint-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAMIS_")}
    env.update(TAMIS_DATA_DIR=str(data), PYTHONPATH=os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    key = tamis("--create-data-dir", "keys", "create", "--project", "bench", env=env).stdout.strip().splitlines()[-1]

    start = time.perf_counter()
    tamis("moderate", "--no-store", "hello", env=env)
    print(f"one-shot `tamis moderate --no-store hello`: {time.perf_counter() - start:.1f} s (loads the text models)")

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "tamis", "serve", "--port", str(port), "--no-worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.perf_counter() - start > 600:
                    sys.exit("tamis serve did not become ready")
                time.sleep(0.2)
            print(f"tamis serve: ready in {time.perf_counter() - start:.1f} s, {rss_mb(server.pid):,.0f} MB resident")
            texts = [{"text": TEXTS[i % len(TEXTS)]} for i in range(args.items)]
            images = [{"image_base64": photo_b64()}] * args.items
            per_item_ms(client, texts[:3] + images[:3], key)  # warm-up: first calls build caches
            text_ms = per_item_ms(client, texts, key)
            image_ms = per_item_ms(client, images, key)
            print(f"median per item, one request each: short text {text_ms:.0f} ms, 640x480 photo {image_ms:.0f} ms")
            print(f"resident after {2 * args.items} items: {rss_mb(server.pid):,.0f} MB; "
                  f"data dir {folder_mb(data):.1f} MB")
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
