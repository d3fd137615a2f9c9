"""Shared onnxruntime session setup: one session per model per process, an accelerator when present."""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np
import onnxruntime as ort

from tamis.config import get_settings
from tamis.media.fusion import fused_model


def usable_cores() -> int:
    """The cores this process may use (its CPU affinity where the platform says)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def session_threads() -> int:
    """Threads per session: the setting, or half the cores this process may use (at least one).

    Each session has its own pool; two requests in two models at once would each take every core
    with onnxruntime's default and fight over them (bench/api_throughput.py measures both)."""
    threads = get_settings().onnx_threads
    if threads:
        return threads
    return max(1, usable_cores() // 2)


def load_session(path: str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = session_threads()
    options.inter_op_num_threads = 1
    # Idle pool threads sleep instead of spinning: sessions share the cores with each other and with
    # the request threads, and a spinning pool burns a core that another session needs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    available = ort.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    # The packaged graph with its exact GELUs fused (media/fusion.py): same answers, less time.
    return ort.InferenceSession(fused_model(path), sess_options=options, providers=providers)


_locks: dict[int, threading.Lock] = {}


def run_exclusive(session: ort.InferenceSession, feeds: dict[str, Any]) -> list[np.ndarray]:
    """Run one batch at a time per session: onnxruntime already uses every core for one batch, and
    two concurrent requests would fight over them (measured: slower than queueing)."""
    lock = _locks.setdefault(id(session), threading.Lock())
    with lock:
        return session.run(None, feeds)
