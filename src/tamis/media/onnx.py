"""Shared onnxruntime session setup: one session per model per process, an accelerator when present."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import onnxruntime as ort

from tamis.config import get_settings


def load_session(path: str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    threads = get_settings().onnx_threads
    if threads:
        options.intra_op_num_threads = threads
    available = ort.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    return ort.InferenceSession(path, sess_options=options, providers=providers)


_locks: dict[int, threading.Lock] = {}


def run_exclusive(session: ort.InferenceSession, feeds: dict[str, Any]) -> list[np.ndarray]:
    """Run one batch at a time per session: onnxruntime already uses every core for one batch, and
    two concurrent requests would fight over them (measured: slower than queueing)."""
    lock = _locks.setdefault(id(session), threading.Lock())
    with lock:
        return session.run(None, feeds)
