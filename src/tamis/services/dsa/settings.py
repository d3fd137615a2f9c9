"""A project's settings for statements of reasons: how tamis's categories and verdicts become the
Transparency Database's fields, the ground the platform relies on, where the statements apply, and
the optional submission endpoint.

The shipped mapping is a starting point, not legal advice: the operator reviews it (README, "Using
tamis for the DSA"). Statements are built from the settings in force when the decision is made and
stored then, so a later change of the mapping never rewrites what was already stated.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.orm import Session

from tamis.schema import storable
from tamis.store.models import DsaSettings, utcnow
from tamis.taxonomy import CATEGORIES


@cache
def sor_schema() -> dict[str, Any]:
    """The JSON Schema of one statement (package data)."""
    return json.loads((resources.files("tamis.services.dsa") / "sor_schema_v2.json").read_text())


def _enum(name: str) -> list[str]:
    schema = sor_schema()
    node = schema["$defs"][name] if name in schema["$defs"] else schema["properties"][name]
    return list(node["enum"] if "enum" in node else node["items"]["enum"])


EEA = tuple(_enum("eea_country"))
STATEMENT_CATEGORIES = frozenset(_enum("category"))
VISIBILITY = frozenset(_enum("decision_visibility"))
INCOMPATIBLE = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
ILLEGAL = "DECISION_GROUND_ILLEGAL_CONTENT"

# tamis category -> (statement category, keywords). Keywords are the v2 KEYWORD_* values we are sure of.
DEFAULT_MAPPING: dict[str, tuple[str, list[str]]] = {
    "sexual": ("STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT", ["KEYWORD_ADULT_SEXUAL_MATERIAL"]),
    "sexual/minors": ("STATEMENT_CATEGORY_PROTECTION_OF_MINORS", ["KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"]),
    "hate": ("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", ["KEYWORD_HATE_SPEECH"]),
    "hate/threatening": ("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", ["KEYWORD_HATE_SPEECH", "KEYWORD_INCITEMENT_VIOLENCE_HATRED"]),
    "harassment": ("STATEMENT_CATEGORY_CYBER_VIOLENCE", ["KEYWORD_ONLINE_BULLYING_INTIMIDATION"]),
    "harassment/threatening": ("STATEMENT_CATEGORY_CYBER_VIOLENCE", ["KEYWORD_ONLINE_BULLYING_INTIMIDATION"]),
    "self-harm": ("STATEMENT_CATEGORY_SELF_HARM", ["KEYWORD_SELF_MUTILATION"]),
    "self-harm/intent": ("STATEMENT_CATEGORY_SELF_HARM", ["KEYWORD_SELF_MUTILATION"]),
    "self-harm/instructions": ("STATEMENT_CATEGORY_SELF_HARM", ["KEYWORD_SELF_MUTILATION"]),
    "violence": ("STATEMENT_CATEGORY_VIOLENCE", ["KEYWORD_INCITEMENT_VIOLENCE_HATRED"]),
    "violence/graphic": ("STATEMENT_CATEGORY_VIOLENCE", []),
    "illicit": ("STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS", ["KEYWORD_PROHIBITED_PRODUCTS"]),
    "illicit/violent": ("STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", []),
    "extremism": ("STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", ["KEYWORD_TERRORIST_CONTENT"]),
    "spam": ("STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE", []),
    "scam": ("STATEMENT_CATEGORY_SCAMS_AND_FRAUD", ["KEYWORD_PHISHING"]),
    "profanity": ("STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE", []),
}
assert set(DEFAULT_MAPPING) == set(CATEGORIES)

Text500 = Field(min_length=1, max_length=500)


class CategoryMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str = Field(description="A STATEMENT_CATEGORY_* value of the Transparency Database.")
    specification: list[str] = Field(default_factory=list, max_length=20, description="KEYWORD_* values.")

    @field_validator("category")
    @classmethod
    def _statement_category(cls, value: str) -> str:
        if value not in STATEMENT_CATEGORIES:
            raise ValueError(f"{value[:60]!r} is not a STATEMENT_CATEGORY_* value of the Transparency Database")
        return value

    @field_validator("specification")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        for keyword in value:
            if not (keyword.startswith("KEYWORD_") and len(keyword) <= 80 and keyword[8:].replace("_", "").isalnum()
                    and keyword.isupper()):
                raise ValueError(f"{keyword[:60]!r} is not a KEYWORD_* value")
        return list(dict.fromkeys(value))


class Restriction(BaseModel):
    """What a verdict does to the content, in the database's words."""

    model_config = ConfigDict(extra="forbid")
    decision_visibility: list[str] = Field(default_factory=list, max_length=7)
    decision_visibility_other: str | None = Field(None, max_length=500)
    decision_monetary: Literal["DECISION_MONETARY_SUSPENSION", "DECISION_MONETARY_TERMINATION", "DECISION_MONETARY_OTHER"] | None = None
    decision_monetary_other: str | None = Field(None, max_length=500)
    decision_provision: Literal["DECISION_PROVISION_PARTIAL_SUSPENSION", "DECISION_PROVISION_TOTAL_SUSPENSION",
                                "DECISION_PROVISION_PARTIAL_TERMINATION", "DECISION_PROVISION_TOTAL_TERMINATION"] | None = None
    decision_account: Literal["DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"] | None = None

    @field_validator("decision_visibility")
    @classmethod
    def _visibility(cls, value: list[str]) -> list[str]:
        for v in value:
            if v not in VISIBILITY:
                raise ValueError(f"{v[:60]!r} is not a DECISION_VISIBILITY_* value")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _complete(self) -> Restriction:
        if not (self.decision_visibility or self.decision_monetary or self.decision_provision or self.decision_account):
            raise ValueError("a restriction needs at least one of decision_visibility, decision_monetary, decision_provision, decision_account")
        if "DECISION_VISIBILITY_OTHER" in self.decision_visibility and not self.decision_visibility_other:
            raise ValueError("DECISION_VISIBILITY_OTHER needs decision_visibility_other")
        if self.decision_monetary == "DECISION_MONETARY_OTHER" and not self.decision_monetary_other:
            raise ValueError("DECISION_MONETARY_OTHER needs decision_monetary_other")
        return self


class Submission(BaseModel):
    """Where `tamis dsa statements --submit` sends batches. Off unless enabled with a URL and a token."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    url: str | None = Field(None, max_length=2000)


class StatementSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    categories: dict[str, CategoryMapping] = Field(
        default_factory=lambda: {k: CategoryMapping(category=c, specification=s) for k, (c, s) in DEFAULT_MAPPING.items()})
    decision_ground: Literal["DECISION_GROUND_INCOMPATIBLE_CONTENT", "DECISION_GROUND_ILLEGAL_CONTENT"] = INCOMPATIBLE
    incompatible_content_ground: str = Field("The platform's terms of service", min_length=1, max_length=500,
                                             description="The clause of the terms of service relied on.")
    illegal_content_legal_ground: str | None = Field(None, max_length=500, description="The law relied on (ILLEGAL_CONTENT).")
    decision_ground_reference_url: str | None = Field(None, max_length=500)
    territorial_scope: list[str] = Field(default_factory=lambda: list(EEA), min_length=1, max_length=len(EEA))
    restrict: Restriction = Field(default_factory=lambda: Restriction(decision_visibility=["DECISION_VISIBILITY_CONTENT_REMOVED"]),
                                  description="What a `block` does.")
    restore: Restriction = Field(default_factory=lambda: Restriction(
        decision_visibility=["DECISION_VISIBILITY_OTHER"],
        decision_visibility_other="Restriction lifted: a person reviewed an automated restriction and restored the content."),
        description="How a human decision that lifts an automated block is stated.")
    submission: Submission = Field(default_factory=Submission)

    @field_validator("categories")
    @classmethod
    def _all_known(cls, value: dict[str, CategoryMapping]) -> dict[str, CategoryMapping]:
        unknown = set(value) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"{sorted(unknown)[0][:40]!r} is not a tamis category")
        # A category left out keeps the shipped mapping: every category always maps somewhere.
        defaults = {k: CategoryMapping(category=c, specification=s) for k, (c, s) in DEFAULT_MAPPING.items()}
        return {**defaults, **value}

    @field_validator("territorial_scope")
    @classmethod
    def _eea(cls, value: list[str]) -> list[str]:
        for code in value:
            if code not in EEA:
                raise ValueError(f"{code[:10]!r} is not an EEA country code (ISO 3166-1 alpha-2, upper case)")
        return list(dict.fromkeys(value))

    @field_validator("incompatible_content_ground", "illegal_content_legal_ground", "decision_ground_reference_url")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        return storable(value) if value is not None else None

    @field_validator("decision_ground_reference_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
                raise ValueError("must be an http(s) URL (the page of the terms or the law relied on)")
        return value

    @model_validator(mode="after")
    def _ground(self) -> StatementSettings:
        if self.decision_ground == ILLEGAL and not self.illegal_content_legal_ground:
            raise ValueError("DECISION_GROUND_ILLEGAL_CONTENT needs illegal_content_legal_ground (the law relied on)")
        return self


def load(session: Session, project_id: str) -> tuple[StatementSettings, DsaSettings | None]:
    """The project's statement settings (the shipped ones where it has none) and its settings row."""
    row = session.get(DsaSettings, project_id)
    if row is None or row.statements is None:
        return StatementSettings(), row
    return StatementSettings.model_validate(row.statements), row


def save(session: Session, project_id: str, settings: StatementSettings, *, token: str | None, clear_token: bool = False) -> DsaSettings:
    """Write the settings (the project's other DSA settings stay); `token` None keeps the stored one
    (it is never read back), `clear_token` removes it."""
    row = session.get(DsaSettings, project_id)
    if row is None:
        row = DsaSettings(project_id=project_id)
        session.add(row)
    row.statements = settings.model_dump(mode="json")
    if token is not None:
        row.submission_token = token
    elif clear_token:
        row.submission_token = None
    row.updated_at = utcnow()
    session.flush()
    return row


def public_doc(settings: StatementSettings, row: DsaSettings | None) -> dict[str, Any]:
    """The settings as the API and CLI show them: the token is never shown, only whether it is set."""
    doc = settings.model_dump(mode="json")
    doc["submission"]["token_set"] = bool(row is not None and row.submission_token)
    return doc
