"""The policy's domain lists: operators block phishing domains and allow their own.

An entry is a domain (it covers the domain and every subdomain: `example.com` covers
`login.example.com`, not `badexample.com`) or an IP address. Entries are stored in ASCII
(punycode), so `аpple.com` with a Cyrillic а is its own entry, never `apple.com`.
A URL on both a block and an allow list is blocked: the more specific warning wins.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import regex
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tamis.schema import NAME_PATTERN
from tamis.analyzers.links.urls import host_to_ascii
from tamis.taxonomy import known_category

_NAME = f"^{NAME_PATTERN}$"
_HOSTNAME = regex.compile(r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def domain_entry(raw: str) -> str:
    """An entry's canonical spelling: lower-case ASCII host, or a canonical IP. ValueError if neither."""
    entry = raw.strip().lower().removeprefix("*.").rstrip(".")
    if not entry:
        raise ValueError("is empty")
    try:
        return str(ipaddress.ip_address(entry.strip("[]")))
    except ValueError:
        pass
    ascii_host = host_to_ascii(entry) if "/" not in entry and ":" not in entry else None
    if not ascii_host or len(ascii_host) > 253 or not _HOSTNAME.fullmatch(ascii_host):
        raise ValueError(f"{raw!r} is not a domain name or IP address (write 'example.com', not a URL)")
    return ascii_host


class DomainList(BaseModel):
    """`domain_lists` in a policy: a block list (category and action) or an allow list (`allow: true`)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=_NAME)
    domains: list[str] = Field(default_factory=list, max_length=100_000)
    category: str | None = Field(None, description="Category a blocked URL counts towards (score 1.0).")
    action: Literal["review", "block"] = "block"
    allow: bool = Field(False, description="An allow list: its domains are never flagged by the URL model.")

    @field_validator("domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        out = []
        for i, value in enumerate(values):
            try:
                out.append(domain_entry(value))
            except ValueError as exc:
                raise ValueError(f"domains[{i}]: {exc}") from None
        return list(dict.fromkeys(out))

    _known_category = field_validator("category")(known_category)

    @model_validator(mode="after")
    def _allow_has_no_category(self) -> DomainList:
        if self.allow and self.category is not None:
            raise ValueError("an allow list (allow: true) takes no category")
        return self


@dataclass(frozen=True)
class DomainHit:
    list: str
    entry: str
    allow: bool
    category: str | None
    action: str


class DomainMatcher:
    """One policy version's domain lists, as a lookup from each entry to its lists."""

    def __init__(self, lists: Sequence[DomainList]) -> None:
        self._block: dict[str, DomainList] = {}
        self._allow: dict[str, DomainList] = {}
        for lst in lists:
            target = self._allow if lst.allow else self._block
            for entry in lst.domains:
                target.setdefault(entry, lst)

    def categories(self) -> set[str]:
        return {lst.category for lst in self._block.values() if lst.category}

    def __bool__(self) -> bool:
        return bool(self._block or self._allow)

    def match(self, host: str) -> DomainHit | None:
        """The block-list hit for `host` (an ASCII host or IP), else the allow-list hit, else None."""
        candidates = _parents(host)
        for table in (self._block, self._allow):
            for candidate in candidates:
                lst = table.get(candidate)
                if lst is not None:
                    return DomainHit(lst.name, candidate, lst.allow, lst.category, lst.action)
        return None


def _parents(host: str) -> list[str]:
    """`a.b.example.com` -> itself, `b.example.com`, `example.com`, `com`; an IP only itself."""
    host = host.strip("[]").rstrip(".").lower()
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]
