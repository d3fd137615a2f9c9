#!/usr/bin/env python3
"""Install tamis as a user would, far from the checkout, and use it over HTTP.

Builds the wheel (`python -m build`), installs it into a fresh venv in a temporary directory
(pip's cache is used, so in CI the packages `make venv` downloaded are not fetched again), starts
`tamis serve` from another temporary directory, and moderates a text and an image through HTTP.
Fails if the installed package cannot find anything it reads at run time (model weights,
migrations, policies, templates).

    .venv/bin/python .ci/wheel_check.py [--keep] [--timeout 1500]

Run once per CI run (stdlib only, apart from the `build` package of the dev extra).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMAGE = REPO / "tests" / "fixtures" / "benign" / "coffee.jpg"
PROFANE = "you are a fucking idiot"


def step(message: str, started: float) -> None:
    print(f"[{time.monotonic() - started:6.1f} s] {message}", flush=True)


def run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(args)}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def check_contents(wheel: Path) -> int:
    """Every file of the package in git (weights, migrations, policies, templates, …) is in the wheel."""
    tracked = subprocess.run(["git", "ls-files", "src/tamis"], cwd=REPO, capture_output=True, text=True, check=True)
    wanted = {name.removeprefix("src/") for name in tracked.stdout.split()}
    shipped = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(wanted - shipped)
    if missing:
        sys.exit(f"{wheel.name} lacks files tamis has in git: {missing}")
    return len(wanted)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(method: str, url: str, body: dict | None = None, key: str | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def serve_and_moderate(tamis: Path, home: Path, env: dict[str, str], started: float, timeout: float) -> None:
    version = run([str(tamis), "--version"], cwd=home, env=env, timeout=60).strip()
    step(f"{version} installed", started)
    key = run([str(tamis), "--create-data-dir", "keys", "create", "--project", "wheel"], cwd=home, env=env,
              timeout=120).strip().splitlines()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (home / "serve.log").open("wb")
    server = subprocess.Popen([str(tamis), "serve", "--port", str(port)], cwd=home, env=env,
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                sys.exit(f"tamis serve exited with {server.returncode}:\n{(home / 'serve.log').read_text()[-4000:]}")
            try:
                status, health = http("GET", base + "/readyz")
                if status == 200:
                    break
            except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
                pass
            if time.monotonic() > deadline:
                sys.exit(f"tamis serve was not ready within {timeout:.0f} s:\n{(home / 'serve.log').read_text()[-4000:]}")
            time.sleep(0.5)
        step(f"tamis serve ready: {health}", started)
        status, doc = http("POST", base + "/v1/moderate", {"items": [{"data_id": "t", "text": PROFANE}]}, key)
        assert status == 200, (status, doc)
        result = doc["results"][0]
        assert doc["project"] == "wheel" and result["verdict"] == "block", doc
        assert any(c["name"] == "harassment" and any(a.startswith("text-model@") for a in c["analyzers"])
                   for c in result["categories"]), result
        image = base64.b64encode(IMAGE.read_bytes()).decode()
        status, doc = http("POST", base + "/v1/moderate", {"items": [{"data_id": "i", "image_base64": image}]}, key)
        assert status == 200, (status, doc)
        result = doc["results"][0]
        names = {a["name"] for a in result["analyzers"]}
        assert {"nsfw-image", "image-safety"} <= names and result["verdict"] == "pass", result
        step("moderated a text (block, text-model) and an image (pass, image analyzers) over HTTP", started)
        for path in ("/review/login", "/review/static/review.js", "/review/static/review.css"):
            with urllib.request.urlopen(base + path, timeout=30) as answer:
                assert answer.status == 200 and answer.read(), path
        step("served the review workspace's sign-in page and its assets from the installed package", started)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    assert (home / "tamis-data" / "tamis.db").exists(), "the database was not in the data directory"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="Keep the temporary directory.")
    parser.add_argument("--timeout", type=float, default=1500, help="Seconds allowed for the install (pip).")
    args = parser.parse_args()
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="tamis-wheel-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAMIS_", "PYTHON", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    try:
        run([sys.executable, "-m", "build", "--wheel", "--outdir", str(root / "dist"), str(REPO)], cwd=root, env=env,
            timeout=600)
        [wheel] = (root / "dist").glob("tamis-*.whl")
        step(f"built {wheel.name} ({wheel.stat().st_size / 1e6:.1f} MB), holding all {check_contents(wheel)} files "
             "of src/tamis in git", started)
        run([sys.executable, "-m", "venv", str(root / "venv")], cwd=root, env=env, timeout=300)
        pip_started = time.monotonic()
        run([str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)], cwd=root, env=env,
            timeout=args.timeout)
        step(f"installed the wheel and its dependencies into a fresh venv in {time.monotonic() - pip_started:.0f} s",
             started)
        home = root / "elsewhere"
        home.mkdir()
        serve_and_moderate(root / "venv" / "bin" / "tamis", home, env, started, timeout=600)
        step("wheel check passed", started)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
