"""Analyzers by name. Each is built once per process (models load once) and shared by all threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib.util import find_spec

from tamis.analyzers.base import Analyzer


def _nsfw_image() -> Analyzer:
    from tamis.analyzers.nsfw_image import NsfwImage

    return NsfwImage()


def _image_safety() -> Analyzer:
    from tamis.analyzers.image_safety import ImageSafety

    return ImageSafety()


def _profanity_text() -> Analyzer:
    from tamis.analyzers.profanity_text import ProfanityText

    return ProfanityText()


def _text_model() -> Analyzer:
    from tamis.analyzers.text_model import TextModelAnalyzer

    return TextModelAnalyzer()


def _links() -> Analyzer:
    from tamis.analyzers.links.analyzer import Links

    return Links()


def _image_text() -> Analyzer:
    from tamis.analyzers.image_text import ImageText

    return ImageText()


def _nudenet() -> Analyzer:
    # Optional (AGPL weights): raises RuntimeError naming the extra to install when it is missing.
    from tamis.analyzers.nudenet import NudeNet

    return NudeNet()


FACTORIES: dict[str, Callable[[], Analyzer]] = {
    "text-model": _text_model,
    "nsfw-image": _nsfw_image,
    "image-safety": _image_safety,
    "profanity-text": _profanity_text,
    "links": _links,
    "image-text": _image_text,
    "nudenet": _nudenet,
}
# Analyzers from optional extras, offered only where the extra is installed.
OPTIONAL: dict[str, Callable[[], bool]] = {"nudenet": lambda: find_spec("nudenet") is not None}

_loaded: dict[str, Analyzer] = {}
_lock = threading.Lock()


def available() -> list[str]:
    return sorted(name for name in FACTORIES if name not in OPTIONAL or OPTIONAL[name]())


def get_analyzer(name: str) -> Analyzer:
    analyzer = _loaded.get(name)
    if analyzer is None:
        with _lock:
            analyzer = _loaded.get(name)
            if analyzer is None:
                analyzer = _loaded[name] = FACTORIES[name]()
    return analyzer
