"""The harm categories tamis scores. (Their default mapping to the EU DSA Transparency Database's
statement categories is services/dsa/settings.py: DEFAULT_MAPPING, checked against its schema.)

The first thirteen names follow OpenAI's moderation API so that its clients and evaluation data map
one to one; the last four are tamis's own. A category an analyzer does not report is "not assessed",
never 0.
"""

from __future__ import annotations

OPENAI_CATEGORIES: tuple[str, ...] = (
    "sexual",
    "sexual/minors",
    "hate",
    "hate/threatening",
    "harassment",
    "harassment/threatening",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "violence",
    "violence/graphic",
    "illicit",
    "illicit/violent",
)
TAMIS_CATEGORIES: tuple[str, ...] = ("extremism", "spam", "scam", "profanity")
CATEGORIES: tuple[str, ...] = OPENAI_CATEGORIES + TAMIS_CATEGORIES

_KNOWN = frozenset(CATEGORIES)


def is_category(name: str) -> bool:
    return name in _KNOWN


def parent(name: str) -> str | None:
    """`hate/threatening` -> `hate`; a top-level category has no parent."""
    return name.split("/", 1)[0] if "/" in name else None


def known_category(cls: type, value: str | None) -> str | None:
    """A pydantic field validator: `value` is a category of the taxonomy, or None."""
    if value is not None and value not in CATEGORIES:
        raise ValueError(f"unknown category {value!r}")
    return value
