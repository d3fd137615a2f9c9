"""The policy's domain lists, bound to the `links` analyzer for the policies that have them."""

from __future__ import annotations

from functools import lru_cache

from tamis.analyzers.base import Analyzer
from tamis.analyzers.links.analyzer import Links
from tamis.analyzers.links.domains import DomainList, DomainMatcher
from tamis.analyzers.registry import get_analyzer
from tamis.engine.policy import Policy


def bind_policy(policy: Policy, analyzers: list[Analyzer]) -> list[Analyzer]:
    """The policy's analyzers with its domain lists bound to `links` (added in lists-only mode when
    the policy has domain lists but does not run `links`: lists always apply, like term lists)."""
    lists = policy.body.domain_lists
    if not lists:
        return analyzers
    tag = f"{policy.id}.{policy.version}"
    # keyed on the lists' content too: policy ids and versions repeat across projects
    matcher = _matcher(tuple((lst.name, tuple(lst.domains), lst.category, lst.action, lst.allow) for lst in lists))
    out = [a.with_lists(matcher, tag) if isinstance(a, Links) else a for a in analyzers]
    if not any(isinstance(a, Links) for a in analyzers):
        base = get_analyzer("links")
        assert isinstance(base, Links)
        out.append(base.with_lists(matcher, tag, model=False))
    return out


@lru_cache(maxsize=256)
def _matcher(lists: tuple[tuple[str, tuple[str, ...], str | None, str, bool], ...]) -> DomainMatcher:
    return DomainMatcher([
        DomainList.model_construct(name=n, domains=list(d), category=c, action=a, allow=al) for n, d, c, a, al in lists
    ])
