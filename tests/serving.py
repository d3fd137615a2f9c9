"""A real `tamis serve` in a subprocess, for the tests that talk to it over HTTP."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(args: list[str], env: dict[str, str], log: Path, ready: str = "/readyz") -> tuple[subprocess.Popen[bytes], str]:
    """`tamis serve` on a free port, once `ready` answers 200 (/readyz: the models are loaded)."""
    port = free_port()
    out = log.open("wb")
    proc = subprocess.Popen(
        [*args, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"],
        env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            pytest.fail(f"tamis serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(base + ready, timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"tamis serve was not ready ({ready}) within 180 s:\n{log.read_text()}")
        time.sleep(0.25)


def stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"tamis serve ignored SIGTERM:\n{log.read_text()}")
    text = log.read_text()
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells why it ended.
    assert rc in (0, -signal.SIGTERM), text
    assert "Application shutdown complete" in text and "Finished server process" in text, text
    assert "Traceback" not in text, text
