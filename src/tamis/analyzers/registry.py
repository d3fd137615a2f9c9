"""Analyzers by name. Each is built once per process (models load once) and shared by all threads.

The shipped analyzers are named here as "module:class" and imported on first use (their models are
heavy). Another package adds one through the `tamis.analyzers` entry-point group, e.g. in its
pyproject.toml: `[project.entry-points."tamis.analyzers"] my-analyzer = "my_pkg.analyzer:MyAnalyzer"`.
"""

from __future__ import annotations

import threading
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from importlib.util import find_spec

from tamis.analyzers.base import Analyzer

SHIPPED: dict[str, str] = {
    "text-model": "tamis.analyzers.text_model:TextModelAnalyzer",
    "nsfw-image": "tamis.analyzers.nsfw_image:NsfwImage",
    "image-safety": "tamis.analyzers.image_safety:ImageSafety",
    "profanity-text": "tamis.analyzers.profanity_text:ProfanityText",
    "links": "tamis.analyzers.links.analyzer:Links",
    "image-text": "tamis.analyzers.image_text:ImageText",
    # Optional (AGPL weights): offered only where the extra tamis[nudenet] is installed.
    "nudenet": "tamis.analyzers.nudenet:NudeNet",
}
# Shipped analyzers that need an optional extra: the package that extra installs.
NEEDS: dict[str, str] = {"nudenet": "nudenet"}

_loaded: dict[str, Analyzer] = {}
_lock = threading.Lock()


@cache
def _targets() -> dict[str, str]:
    """name -> "module:attr", the shipped analyzers and those other packages register."""
    plugins = {ep.name: ep.value for ep in entry_points(group="tamis.analyzers")}
    return {**plugins, **SHIPPED}  # a plugin cannot replace a shipped analyzer under its name


def available() -> list[str]:
    return sorted(name for name in _targets() if name not in NEEDS or find_spec(NEEDS[name]) is not None)


def _build(name: str) -> Analyzer:
    module, _, attr = _targets()[name].partition(":")
    return getattr(import_module(module), attr)()  # type: ignore[no-any-return]


def get_analyzer(name: str) -> Analyzer:
    analyzer = _loaded.get(name)
    if analyzer is None:
        with _lock:
            analyzer = _loaded.get(name)
            if analyzer is None:
                analyzer = _loaded[name] = _build(name)
    return analyzer
