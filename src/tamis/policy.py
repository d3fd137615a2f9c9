"""Policies: per-category thresholds, term lists and the analyzers to run; and signals -> verdict.

A policy is data (validated here, versioned in the store). `decide` is the one place a verdict is
reached: every rule that fires is written down in `reasons`, so a reviewer can see why.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

import regex
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tamis.analyzers.lists import CompiledList, ListMatcher
from tamis.analyzers.registry import available
from tamis.domains import DomainList
from tamis.items import VERDICT_RANK, CategoryResult, Signal, Verdict
from tamis.taxonomy import CATEGORIES, known_category

_NAME = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


def _storable(cls: type, value: str | list[str]) -> str | list[str]:
    """PostgreSQL cannot store U+0000 in JSONB: refuse it here rather than fail on write."""
    for i, text in enumerate([value] if isinstance(value, str) else value):
        if "\x00" in text:
            where = "" if isinstance(value, str) else f" (entry {i})"
            raise ValueError(f"must not contain NUL (U+0000) characters{where}")
    return value


class Thresholds(BaseModel):
    """Scores at or above `review` send an item to review; at or above `block`, block it."""

    model_config = ConfigDict(extra="forbid")
    review: float | None = Field(None, ge=0.0, le=1.0)
    block: float | None = Field(None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review is not None and self.block is not None and self.review > self.block:
            raise ValueError("review threshold must not be above block threshold")
        return self


class BlockList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=_NAME)
    category: str | None = Field(None, description="Category a match counts towards (score 1.0).")
    action: Literal["review", "block"] = "block"
    terms: list[str] = Field(default_factory=list, max_length=10_000)
    regex: list[str] = Field(default_factory=list, max_length=1_000)

    _no_nul = field_validator("terms", "regex")(_storable)

    _known_category = field_validator("category")(known_category)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for i, pattern in enumerate(patterns):
            try:
                regex.compile(pattern, regex.V1)
            except regex.error as exc:
                raise ValueError(f"regex[{i}] does not compile: {exc}") from exc
        return patterns


class AllowList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=_NAME)
    terms: list[str] = Field(default_factory=list, max_length=10_000)
    regex: list[str] = Field(default_factory=list, max_length=1_000)

    _compiles = field_validator("regex")(BlockList._compiles.__func__)  # type: ignore[attr-defined]
    _no_nul = field_validator("terms", "regex")(_storable)


class PolicyBody(BaseModel):
    """What an operator writes: `PUT /v1/policies/{id}` takes this and makes a new version."""

    model_config = ConfigDict(extra="forbid")
    description: str = ""
    shadow: bool = Field(False, description="Evaluate and record, never enforce.")
    analyzers: list[str] = Field(default_factory=lambda: list(_shipped()["analyzers"]))
    categories: dict[str, Thresholds] = Field(default_factory=dict)
    block_lists: list[BlockList] = Field(default_factory=list)
    allow_lists: list[AllowList] = Field(default_factory=list)
    domain_lists: list[DomainList] = Field(default_factory=list, description="Domains to block or allow in links.")
    match_rotations: bool = Field(False, description="Also match the 8 rotations and flips of images against PDQ banks.")

    _no_nul = field_validator("description")(_storable)

    @field_validator("analyzers")
    @classmethod
    def _known_analyzers(cls, names: list[str]) -> list[str]:
        unknown = sorted(set(names) - set(available()))
        if unknown:
            raise ValueError(f"unknown analyzers {unknown}; available: {available()}")
        return list(dict.fromkeys(names))

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: dict[str, Thresholds]) -> dict[str, Thresholds]:
        unknown = sorted(set(value) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories {unknown}")
        return value


@dataclass(frozen=True)
class Policy:
    id: str
    version: int
    body: PolicyBody

    @property
    def shadow(self) -> bool:
        return self.body.shadow

    def lists(self) -> ListMatcher | None:
        return _compile_lists(self.id, self.version, self.body.model_dump_json())


@lru_cache(maxsize=256)
def _compile_lists(policy_id: str, version: int, body_json: str) -> ListMatcher | None:
    body = PolicyBody.model_validate_json(body_json)
    if not body.block_lists and not body.allow_lists:
        return None
    block = [
        CompiledList.build(b.name, b.terms, b.regex, category=b.category, action=b.action)  # type: ignore[arg-type]
        for b in body.block_lists
    ]
    allow = [CompiledList.build(a.name, a.terms, a.regex) for a in body.allow_lists]
    return ListMatcher(f"{policy_id}.{version}", block, allow)


@lru_cache
def _shipped() -> dict[str, object]:
    return json.loads(resources.files("tamis.policies").joinpath("default.json").read_text())  # type: ignore[no-any-return]


def default_body() -> PolicyBody:
    """The shipped default policy (src/tamis/policies/default.json); a policy that names no analyzers
    runs the default's."""
    return PolicyBody.model_validate(_shipped())


# --- signals -> verdict -------------------------------------------------------------------------


@dataclass
class Outcome:
    verdict: Verdict
    categories: list[CategoryResult]
    reasons: list[str]


def _level(score: float, t: Thresholds | None) -> Verdict:
    if t is None:
        return "pass"
    if t.block is not None and score >= t.block:
        return "block"
    if t.review is not None and score >= t.review:
        return "review"
    return "pass"


def decide(policy: Policy, signals: Sequence[Signal]) -> Outcome:
    """The verdict for one item: the most severe of each category's level and each list action."""
    best: dict[str, tuple[float, list[str]]] = {}
    for signal in signals:
        for category, score in signal.scores.items():
            top, refs = best.get(category, (-1.0, []))
            refs = refs + [signal.ref]
            best[category] = (max(top, score), refs)

    verdict: Verdict = "pass"
    reasons: list[str] = []
    results: list[CategoryResult] = []
    for category in sorted(best, key=CATEGORIES.index):
        score, refs = best[category]
        level = _level(score, policy.body.categories.get(category))
        results.append(CategoryResult(name=category, score=round(score, 4), flagged=level != "pass", analyzers=refs))
        if level != "pass":
            reasons.append(f"{category} score {score:.2f} reached the {level} threshold")
        verdict = max(verdict, level, key=VERDICT_RANK.__getitem__)

    for signal in signals:
        for key, action in signal.actions.items():
            reasons.append(f"{signal.analyzer} matched {key}: {action}")
            verdict = max(verdict, action, key=VERDICT_RANK.__getitem__)
    return Outcome(verdict, results, reasons)
