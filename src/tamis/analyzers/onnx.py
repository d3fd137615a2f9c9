"""Shared onnxruntime session setup: one session per model per process, an accelerator when present."""

from __future__ import annotations

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
