"""tamis's own text classifier: USE multilingual v3 + hashed character n-grams, one calibrated
logistic-regression head per category. See src/tamis/textmodel/weights/MODEL_CARD.md."""

from tamis.textmodel.model import DEFAULT_PATH, TextModel, detect_language

__all__ = ["DEFAULT_PATH", "TextModel", "detect_language"]
