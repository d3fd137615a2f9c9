"""A tamis cluster on one machine, for the scale-out test and the scale and soak benches: `tamis serve
--no-worker` processes and `tamis worker`s sharing one database, a webhook receiver and a bounded
traffic script. Loopback only; every process started here is stopped by `Cluster.close`, and every
wait has a deadline.
"""

from __future__ import annotations

import base64
import io
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psutil
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
BENIGN = Path(__file__).parent / "fixtures" / "benign"
WORKER_READY = "tamis worker:"  # the line `tamis worker` prints once its loops run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str, step_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(step_s)


# --- a database of its own -----------------------------------------------------------------------------


@contextmanager
def throwaway_database(server_url: str, *, migrated: bool = True) -> Iterator[str]:
    """A new PostgreSQL database on the server of `server_url`, migrated unless asked not to;
    dropped afterwards."""
    from sqlalchemy import create_engine, text

    from tamis.store.db import make_engine, migrate, driver_url

    name = f"tamis_cluster_{secrets.token_hex(4)}"
    admin = create_engine(driver_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{driver_url(server_url).rpartition('/')[0]}/{name}"
    try:
        if migrated:
            engine = make_engine(url)
            migrate(engine)
            engine.dispose()
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def create_key(url: str, project: str) -> str:
    from sqlalchemy.orm import Session

    from tamis.store import queries
    from tamis.store.db import make_engine

    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            _, plaintext = queries.create_key(session, project)
    finally:
        engine.dispose()
    return plaintext


# --- processes -------------------------------------------------------------------------------------


@dataclass
class Proc:
    """One tamis process: an API (`url` set) or a worker."""

    name: str
    popen: subprocess.Popen  # type: ignore[type-arg]
    log: Path
    url: str | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def ready(self) -> bool:
        """A worker once its loops run; an API once /readyz says its models are loaded (timings start
        there, not while the first requests wait for the models)."""
        if not self.alive():
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.log.read_text()[-3000:]}")
        if self.url is None:
            return WORKER_READY in self.log.read_text(errors="replace")
        try:
            return httpx.get(self.url + "/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """kill -9: no shutdown handler runs, leases and half-done work stay as they are."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, timeout_s: float = 30) -> None:
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def rss(self) -> int:
        return psutil.Process(self.pid).memory_info().rss

    def cpu_seconds(self) -> float:
        """CPU time used so far (user + system)."""
        times = psutil.Process(self.pid).cpu_times()
        return times.user + times.system

    def ports_to(self, port: int) -> set[int]:
        """This process's local ports of open TCP connections to 127.0.0.1:port."""
        try:
            connections = psutil.Process(self.pid).net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            return set()
        return {c.laddr.port for c in connections if c.raddr and c.raddr.port == port and c.raddr.ip == "127.0.0.1"}


def _derive_int8_models() -> None:
    """The int8 models derived here, once, before the processes start: they share this session's
    TAMIS_MODEL_CACHE_DIR (tests/conftest.py), and several processes deriving at once on a small
    machine would eat a timed test's window."""
    from tamis.analyzers import get_analyzer
    from tamis.config import get_settings

    for name in get_settings().int8_models:
        get_analyzer(name)


class Cluster:
    """API processes and workers on the database of TAMIS_DATABASE_URL (each with its own data folder,
    as on separate machines)."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p),
            "TAMIS_EMBEDDED_WORKER": "false",
            "TAMIS_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",  # the receiver is on loopback
            **(env or {}),
        }
        self.procs: list[Proc] = []
        _derive_int8_models()

    def _start(self, name: str, args: list[str], url: str | None) -> Proc:
        data_dir = self.workdir / name
        data_dir.mkdir(parents=True, exist_ok=True)
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen([sys.executable, "-m", "tamis.cli", *args], env={**self.env, "TAMIS_DATA_DIR": str(data_dir)},
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        proc = Proc(name, popen, log, url)
        self.procs.append(proc)
        return proc

    def api(self, name: str, *, embedded_worker: bool = False) -> Proc:
        """`tamis serve` on a free port; with `embedded_worker`, delivering webhooks and running jobs too."""
        port = free_port()
        args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--worker" if embedded_worker else "--no-worker"]
        return self._start(name, args, f"http://127.0.0.1:{port}")

    def worker(self, name: str) -> Proc:
        return self._start(name, ["worker"], None)

    @staticmethod
    def wait_ready(procs: Iterable[Proc], timeout_s: float = 120) -> None:
        pending = list(procs)
        wait_until(lambda: all(p.ready() for p in pending), timeout_s, ", ".join(p.name for p in pending), 0.25)

    def close(self) -> None:
        for proc in self.procs:
            if proc.alive():
                proc.popen.send_signal(signal.SIGTERM)
        for proc in self.procs:
            proc.stop()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- the webhook receiver ----------------------------------------------------------------------------


class Receiver:
    """Takes webhook deliveries on 127.0.0.1, checks each signature, counts each `Tamis-Delivery` id.

    `delay_s` holds every request open that long (so deliveries are in flight when a worker dies);
    `fail_first_every` answers 503 to the first try of every n-th new delivery (so retries happen)."""

    def __init__(self, delay_s: float = 0.0, fail_first_every: int = 0) -> None:
        self.delay_s, self.fail_first_every = delay_s, fail_first_every
        self.secret = ""
        self.lock = threading.Lock()
        self.seen: dict[str, int] = {}  # delivery id -> requests answered 2xx
        self.refused: dict[str, int] = {}  # delivery id -> requests answered 503
        self.in_flight: dict[int, str] = {}  # client port -> delivery id
        self.bad_signatures = 0
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                receiver._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        from tamis.services.webhooks import verify

        body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        delivery = request.headers.get("Tamis-Delivery", "")
        port = request.client_address[1]
        with self.lock:
            self.requests += 1
            self.in_flight[port] = delivery
            if not verify(self.secret, body.decode(), request.headers.get("Tamis-Signature", "")):
                self.bad_signatures += 1
            new = delivery not in self.seen and delivery not in self.refused
            refuse = new and self.fail_first_every and (len(self.seen) + len(self.refused)) % self.fail_first_every == 0
        time.sleep(self.delay_s)
        try:
            request.send_response(503 if refuse else 204)
            request.end_headers()
            with self.lock:
                book = self.refused if refuse else self.seen
                book[delivery] = book.get(delivery, 0) + 1
        except OSError:  # the sender died while we held its request
            pass
        finally:
            with self.lock:
                self.in_flight.pop(port, None)

    def in_flight_from(self, proc: Proc) -> set[str]:
        """Deliveries this process is sending right now (held open by the receiver)."""
        ports = proc.ports_to(self.port)
        with self.lock:
            return {d for p, d in self.in_flight.items() if p in ports}

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- traffic -----------------------------------------------------------------------------------------

TEXTS = [
    "Thanks for the quick delivery, the package arrived in perfect shape.",
    "Does anyone know when the next community meetup is happening?",
    "you are a complete idiot and everyone knows it",
    "Selling my old bike, barely used, message me for details.",
    "what the hell is wrong with this update",
    "Great photo! Where was it taken?",
]


def small_jpegs(size: tuple[int, int] = (320, 240)) -> list[bytes]:
    """The benign fixture photos, downscaled: real pictures that cost little to judge."""
    out = []
    for path in sorted(BENIGN.glob("*.jpg")):
        image = Image.open(path).convert("RGB")
        image.thumbnail(size)
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=85)
        out.append(buf.getvalue())
    return out


@dataclass
class Request:
    """One API call of a traffic script: kind is `text`, `image` or `video`."""

    kind: str
    data_ids: list[str]
    json: dict[str, Any] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    form: dict[str, str] | None = None

    @property
    def path(self) -> str:
        return "/v1/videos" if self.kind == "video" else "/v1/moderate"


def text_request(tag: str, n: int = 4) -> Request:
    ids = [f"{tag}-{i}" for i in range(n)]
    return Request("text", ids, json={"items": [{"data_id": d, "text": f"{TEXTS[i % len(TEXTS)]} ({tag})"}
                                                for i, d in enumerate(ids)]})


def image_request(tag: str, jpegs: list[bytes]) -> Request:
    ids = [f"{tag}-{i}" for i in range(len(jpegs))]
    return Request("image", ids, json={"items": [{"data_id": d, "image_base64": base64.b64encode(j).decode()}
                                                 for d, j in zip(ids, jpegs)]})


def video_request(tag: str, video: bytes) -> Request:
    return Request("video", [tag], files={"file": (f"{tag}.mp4", video, "video/mp4")}, form={"data_id": tag})


@dataclass
class Outcome:
    request: Request
    api: str
    status: int
    sent_at: float  # time.monotonic()
    seconds: float
    body: dict[str, Any] = field(default_factory=dict)


def drive(requests: list[Request], urls: list[str], key: str, *, threads: int = 2,
          rate_per_s: float | None = None, timeout_s: float = 120, stop: threading.Event | None = None) -> list[Outcome]:
    """Send the requests in order, each once, round-robin over the API urls, from `threads` clients,
    until all are sent or `stop` is set; with `rate_per_s`, request i is not sent before
    start + i / rate (a steady rate, not a burst)."""
    headers = {"Authorization": f"Bearer {key}"}
    lock = threading.Lock()
    next_index = [0]
    outcomes: list[Outcome] = []
    start = time.monotonic()

    def client() -> None:
        with httpx.Client(timeout=timeout_s, headers=headers) as http:
            while True:
                with lock:
                    i = next_index[0]
                    if i >= len(requests):
                        return
                    next_index[0] += 1
                if rate_per_s:
                    time.sleep(max(0.0, start + i / rate_per_s - time.monotonic()))
                if stop is not None and stop.is_set():
                    return
                outcomes.append(send(http, requests[i], urls[i % len(urls)]))

    workers = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return outcomes


def send(http: httpx.Client, request: Request, url: str) -> Outcome:
    sent = time.monotonic()
    try:
        response = http.post(url + request.path, json=request.json, files=request.files, data=request.form)
        status, body = response.status_code, (response.json() if response.content else {})
    except httpx.HTTPError as exc:
        status, body = 0, {"error": f"{type(exc).__name__}: {exc}"}
    return Outcome(request, url, status, sent, time.monotonic() - sent, body)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]
