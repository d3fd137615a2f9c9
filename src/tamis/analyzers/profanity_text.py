"""`profanity-text`: the interim text analyzer, `alt-profanity-check` (MIT), a calibrated linear SVM on
TF-IDF words trained on offensive-language data.

It scores `profanity` only: it was trained to spot offensive words, not to tell hate, harassment or
threats apart, so it does not claim those categories (absent = not assessed). Evidence: the words that
pushed the score up most (the model is linear, so each word's weight is its contribution).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version as package_version

import numpy as np
import regex

from tamis.schema import Item, Signal, SpanEvidence

# Words whose SVM weight is above this are shown as evidence when the text scores high.
_EVIDENCE_WEIGHT = 1.0
_EVIDENCE_MIN_SCORE = 0.3


class ProfanityText:
    name = "profanity-text"
    version = f"1+alt-profanity-check-{package_version('alt-profanity-check')}"
    media = frozenset({"text"})
    categories = ("profanity",)

    def __init__(self) -> None:
        # Importing the module loads the model (joblib) once per process.
        from profanity_check.profanity_check import model, vectorizer

        self._model = model
        self._vectorizer = vectorizer
        svm = model.calibrated_classifiers_[0].estimator
        self._weights = dict(zip(vectorizer.get_feature_names_out(), svm.coef_[0]))
        self._token = regex.compile(vectorizer.token_pattern)

    def analyze(self, batch: Sequence[Item]) -> list[Signal]:
        if not batch:
            return []
        texts = [item.text or "" for item in batch]
        probs = self._model.predict_proba(self._vectorizer.transform(texts))[:, 1]
        return [self._signal(text, float(np.clip(p, 0, 1))) for text, p in zip(texts, probs)]

    def _signal(self, text: str, score: float) -> Signal:
        signal = Signal(self.name, self.version, {"profanity": score})
        if score >= _EVIDENCE_MIN_SCORE:
            for m in self._token.finditer(text):
                if self._weights.get(m.group().lower(), 0.0) >= _EVIDENCE_WEIGHT:
                    signal.evidence.append(
                        SpanEvidence(start=m.start(), end=m.end(), category="profanity", analyzer=self.name)
                    )
        return signal
