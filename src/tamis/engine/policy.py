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
from typing import Annotated, Any, Literal

import regex
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StrictFloat, ValidationInfo, field_validator, model_serializer,
                      model_validator)

from tamis.analyzers.lists import CompiledList, ListMatcher
from tamis.analyzers.registry import available
from tamis.analyzers.links.domains import DomainList
from tamis.schema import NAME_PATTERN, NUL_REFUSED, VERDICT_RANK, CategoryResult, Signal, Verdict
from tamis.engine.regex_cost import PatternTooCostly, check_pattern, pattern_size
from tamis.taxonomy import CATEGORIES, known_category

_NAME = f"^{NAME_PATTERN}$"


def _storable(cls: type, value: str | list[str]) -> str | list[str]:
    """PostgreSQL cannot store U+0000 in JSONB: refuse it here rather than fail on write."""
    for i, text in enumerate([value] if isinstance(value, str) else value):
        if "\x00" in text:
            where = "" if isinstance(value, str) else f" (entry {i})"
            raise ValueError(f"{NUL_REFUSED}{where}")
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


# What one policy may hold (README, "Limits"): each list is compiled once per policy version and
# every text of the project runs through all of it, so its size is its cost.
MAX_LISTS = 100  # per kind: block_lists, allow_lists, domain_lists
MAX_TERMS = 5_000  # over all block and allow lists
MAX_TERM_CHARS = 200
MAX_REGEXES = 200  # over all block and allow lists
MAX_POLICY_EXPANSION = 100_000  # the regexes' unrolled size together (see tamis.engine.regex_cost)


# Versions stored before these limits existed are read back with this context: they stay readable
# and enforced (the per-text time budget bounds them), and only new versions must pass the checks.
STORED = {"stored": True}


def _stored(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("stored"))


def _affordable(pattern: str, info: ValidationInfo) -> str:
    """A regex that compiles and whose shape cannot cost a worker its memory or its time."""
    try:
        if not _stored(info):
            check_pattern(pattern)  # before compiling: compiling is what can take 23 GB
        regex.compile(pattern, regex.V1)
    except PatternTooCostly as exc:
        raise ValueError(f"regex refused: {exc}") from exc
    except regex.error as exc:
        raise ValueError(f"regex does not compile: {exc}") from exc
    return pattern


def _short_term(term: str, info: ValidationInfo) -> str:
    if len(term) > MAX_TERM_CHARS and not _stored(info):
        raise ValueError(f"term has {len(term)} characters; the limit is {MAX_TERM_CHARS}")
    return term


Pattern = Annotated[str, AfterValidator(_affordable)]
Term = Annotated[str, AfterValidator(_short_term)]


class BlockList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=_NAME)
    category: str | None = Field(None, description="Category a match counts towards (score 1.0).")
    action: Literal["review", "block"] = "block"
    terms: list[Term] = Field(default_factory=list, max_length=10_000)
    regex: list[Pattern] = Field(default_factory=list, max_length=1_000)

    _no_nul = field_validator("terms", "regex")(_storable)

    _known_category = field_validator("category")(known_category)


class AllowList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=_NAME)
    terms: list[Term] = Field(default_factory=list, max_length=10_000)
    regex: list[Pattern] = Field(default_factory=list, max_length=1_000)

    _no_nul = field_validator("terms", "regex")(_storable)


def _few_lists(lists: Sequence[object]) -> None:
    if len(lists) > MAX_LISTS:
        raise ValueError(f"{len(lists)} lists; the limit is {MAX_LISTS}")


def _within_budget(lists: Sequence[BlockList | AllowList], earlier: Sequence[BlockList | AllowList] = ()) -> None:
    """The policy's lists together (block lists first, then allow lists) within the per-policy limits."""
    _few_lists(lists)
    every = [*earlier, *lists]
    terms = sum(len(lst.terms) for lst in every)
    if terms > MAX_TERMS:
        raise ValueError(f"the policy's lists hold {terms} terms together; the limit is {MAX_TERMS}")
    patterns = [p for lst in every for p in lst.regex]
    if len(patterns) > MAX_REGEXES:
        raise ValueError(f"the policy's lists hold {len(patterns)} regexes together; the limit is {MAX_REGEXES}")
    size = sum(pattern_size(p) for p in patterns)
    if size > MAX_POLICY_EXPANSION:
        raise ValueError(
            f"the policy's regexes unroll to about {size:,} nodes together; the limit is {MAX_POLICY_EXPANSION:,}"
        )


MAX_STRATA = 10


class PassStratum(BaseModel):
    """One band of a pass item's highest category score and the share of its items sampled."""

    model_config = ConfigDict(extra="forbid")
    below: StrictFloat = Field(gt=0.0, le=1.0, description="The band's upper bound (exclusive; the last band, "
                                                           "ending at 1, includes 1). It starts at the previous band's bound, or 0.")
    rate: StrictFloat = Field(gt=0.0, le=1.0, description="Share of this band's `pass` items sent to review (above 0: "
                                                          "a band never sampled would hide its misses from the recall estimate).")


class ReviewSampling(BaseModel):
    """Quality checks: shares of the items this policy passes and blocks that also become review
    cases (after every real review case of their queue). `pass_strata` samples passes by the band of
    their highest category score (higher rates near the review threshold, where misses are); each
    sampled case records its band and probability so that the recall estimate weighs it by 1/p."""

    model_config = ConfigDict(extra="forbid")
    pass_rate: StrictFloat = Field(0.0, ge=0.0, le=1.0, description="Share of `pass` items sent to review too (0 to 1).")
    block_rate: StrictFloat = Field(0.0, ge=0.0, le=1.0, description="Share of `block` items sent to review too (0 to 1).")
    pass_strata: list[PassStratum] | None = Field(
        None, min_length=1, max_length=MAX_STRATA,
        description="Stratified sampling of passes instead of `pass_rate`: bands of the item's highest score, "
                    "in increasing order of `below`, the last ending at 1.")

    @field_validator("pass_strata")
    @classmethod
    def _bands(cls, strata: list[PassStratum] | None) -> list[PassStratum] | None:
        if strata is None:
            return None
        bounds = [s.below for s in strata]
        if any(b <= a for a, b in zip(bounds, bounds[1:], strict=False)):
            raise ValueError("the bands' `below` bounds must increase")
        if bounds[-1] != 1.0:
            raise ValueError("the last band must end at 1 (`below`: 1.0) so that every score falls in a band")
        return strata

    @model_validator(mode="after")
    def _one_pass_rule(self) -> ReviewSampling:
        if self.pass_strata is not None and "pass_rate" in self.model_fields_set and self.pass_rate:
            raise ValueError("give `pass_rate` or `pass_strata`, not both")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict) and data.get("pass_strata") is None:
            data.pop("pass_strata", None)  # policies written before strata keep their stored shape
        return data


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
    review_sampling: ReviewSampling | None = Field(
        None, description="Quality checks: shares of pass and block items that also go to review; "
                          "absent: the server's TAMIS_REVIEW_SAMPLE_RATE for both.")

    _no_nul = field_validator("description")(_storable)

    @field_validator("block_lists")
    @classmethod
    def _block_budget(cls, lists: list[BlockList], info: ValidationInfo) -> list[BlockList]:
        if not _stored(info):
            _within_budget(lists)
        return lists

    @field_validator("allow_lists")
    @classmethod
    def _allow_budget(cls, lists: list[AllowList], info: ValidationInfo) -> list[AllowList]:
        if not _stored(info):
            _within_budget(lists, info.data.get("block_lists") or [])
        return lists

    @field_validator("domain_lists")
    @classmethod
    def _few_domain_lists(cls, lists: list[DomainList], info: ValidationInfo) -> list[DomainList]:
        if not _stored(info):
            _few_lists(lists)
        return lists

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
    body = PolicyBody.model_validate_json(body_json, context=STORED)
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
