"""The harm categories tamis scores, and their mapping to the EU DSA transparency database.

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

# Statement-of-reasons categories of the DSA transparency database.
DSA_CATEGORY: dict[str, str] = {
    "sexual": "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT",
    "sexual/minors": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "hate": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "hate/threatening": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "harassment": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "harassment/threatening": "STATEMENT_CATEGORY_VIOLENCE",
    "self-harm": "STATEMENT_CATEGORY_SELF_HARM",
    "self-harm/intent": "STATEMENT_CATEGORY_SELF_HARM",
    "self-harm/instructions": "STATEMENT_CATEGORY_SELF_HARM",
    "violence": "STATEMENT_CATEGORY_VIOLENCE",
    "violence/graphic": "STATEMENT_CATEGORY_VIOLENCE",
    "illicit": "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS",
    "illicit/violent": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "extremism": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "spam": "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE",
    "scam": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "profanity": "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE",
}

assert set(DSA_CATEGORY) == set(CATEGORIES)


def is_category(name: str) -> bool:
    return name in DSA_CATEGORY


def parent(name: str) -> str | None:
    """`hate/threatening` -> `hate`; a top-level category has no parent."""
    return name.split("/", 1)[0] if "/" in name else None


def known_category(cls: type, value: str | None) -> str | None:
    """A pydantic field validator: `value` is a category of the taxonomy, or None."""
    if value is not None and value not in CATEGORIES:
        raise ValueError(f"unknown category {value!r}")
    return value
