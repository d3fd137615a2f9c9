"""Operator regexes are judged for cost before they are compiled (tamis.engine.regex_cost), and a policy's
lists are bounded (issue 10, item 1)."""

from __future__ import annotations

import resource
import time
from typing import Any

import pytest
import regex

from tamis.engine.regex_cost import MAX_PATTERN_CHARS, PatternTooCostly, check_pattern

from conftest import assert_problem

REFUSED = {
    "nested fixed repeats (23 GB when compiled)": r"(?:(?:(?:a{1000}){1000}){1000})",
    "exponential backtracking": r"(x+x+)+y",
    "repeated alternation of different lengths": r"(?:x|xx)+y",
    "repeated variable group": r"(\w+\s)*",
    "high polynomial degree": r"(?:x{1,50}){50}y",
    "recursion": r"(a|(?R))",
    "subroutine call": r"(a+)(?1)",
    "named subroutine": r"(?P<w>\w)(?&w)",
    "fuzzy matching": r"(?:foo){e<=2}",
    "too long": "a" * (MAX_PATTERN_CHARS + 1),
}
ACCEPTED = [
    r"v[i1]agra\s*\d+mg",
    r"\bfree\s+money\b",
    r"(?:\d{1,3}\.){3}\d{1,3}",
    r"(?:cat|dog)+",
    r"[[a-z]--[aeiou]]+",
    r"\p{L}{2,}",
    r"\N{SNOWMAN}+",
    r"a{,5}",
    r"[]a]+",
    r"(?i)foo|bar",
    r"(?>x+x+)+y",
    r"\d{3}-\d{4}",
    r"https?://\S+",
    r"(?P<word>\w+)\s+(?P=word)",
]


@pytest.mark.parametrize("pattern", REFUSED.values(), ids=REFUSED.keys())
def test_costly_shapes_are_refused(pattern: str) -> None:
    with pytest.raises(PatternTooCostly):
        check_pattern(pattern)


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_ordinary_patterns_pass_and_compile(pattern: str) -> None:
    check_pattern(pattern)
    regex.compile(pattern, regex.V1)


@pytest.mark.slow
def test_refused_shapes_really_are_slow_or_large() -> None:
    """The rule is not arbitrary: what it refuses times out, where an accepted pattern does not."""
    text = "x" * 5000 + "!"
    for pattern in (REFUSED["exponential backtracking"], REFUSED["repeated alternation of different lengths"],
                    REFUSED["high polynomial degree"]):
        with pytest.raises(TimeoutError):
            regex.compile(pattern).search(text, timeout=0.2)
    assert regex.compile(r"(?>x+x+)+y").search(text, timeout=0.2) is None


def put(client, auth: dict[str, str], body: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.put("/v1/policies/default", headers=auth, json=body)


def test_the_23_gb_pattern_is_refused_quickly_without_memory(client, auth: dict[str, str]) -> None:
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    started = time.perf_counter()
    body = {"block_lists": [{"name": "a", "regex": ["ok", r"(?:(?:(?:a{1000}){1000}){1000})"]}]}
    problem = assert_problem(put(client, auth, body), 422, "block_lists[0].regex[1]")
    assert time.perf_counter() - started < 2.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 200 * 1024  # < 200 MiB more
    assert "nodes" in problem["detail"]
    assert client.get("/v1/policies/default", headers=auth).json()["versions"] == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({"block_lists": [{"name": "a", "regex": [r"(x+x+)+y"]}]}, "block_lists[0].regex[0]"),
        ({"allow_lists": [{"name": "a"}, {"name": "b", "regex": ["fine", r"(?:x|xx)+y"]}]}, "allow_lists[1].regex[1]"),
        ({"block_lists": [{"name": f"l{i}"} for i in range(101)]}, "block_lists"),
        ({"allow_lists": [{"name": f"l{i}"} for i in range(101)]}, "allow_lists"),
        ({"domain_lists": [{"name": f"l{i}"} for i in range(101)]}, "domain_lists"),
        # 200 regexes in all: 150 + 51 over two kinds of list
        ({"block_lists": [{"name": "a", "regex": [f"w{i}" for i in range(150)]}],
          "allow_lists": [{"name": "b", "regex": [f"v{i}" for i in range(51)]}]}, "allow_lists"),
        ({"block_lists": [{"name": f"l{i}", "regex": [f"w{j}" for j in range(100)]} for i in range(3)]}, "block_lists"),
        ({"block_lists": [{"name": f"l{i}", "terms": [f"t{j}" for j in range(2000)]} for i in range(3)]}, "block_lists"),
        ({"block_lists": [{"name": "a", "terms": ["x" * 201]}]}, "block_lists[0].terms[0]"),
        # each under the per-pattern limit, together over the policy's
        ({"block_lists": [{"name": "a", "regex": [f"a{{9000}}{i}" for i in range(12)]}]}, "block_lists"),
    ],
    ids=["exponential", "allow list", "block lists", "allow lists", "domain lists", "regexes over both kinds",
         "regexes per policy", "terms per policy", "term length", "policy expansion"],
)
def test_policy_limits_name_the_field(client, auth: dict[str, str], body: dict[str, Any], field: str) -> None:
    assert_problem(put(client, auth, body), 422, field)
    assert client.get("/v1/policies/default", headers=auth).json()["versions"] == []


# --- matching: a time budget per text over all of a policy's lists -------------------------------


@pytest.mark.slow
def test_a_texts_pass_through_the_lists_is_bounded_and_sends_it_to_review() -> None:
    """100 catastrophic regexes (built directly, as a policy stored before these checks could hold
    them) cost 100 x the per-pattern limit on the old code; the text's budget caps them all."""
    from tamis.analyzers.lists import BUDGET_KEY, TEXT_BUDGET_S, CompiledList, ListMatcher
    from tamis.schema import Item

    slow = CompiledList.build("slow", [], [r"(x+x+)+y"] * 100, category="spam", action="block")
    matcher = ListMatcher("p.1", [slow], [])
    started = time.perf_counter()
    (signal,) = matcher.analyze([Item("a", text="x" * 5000)])
    elapsed = time.perf_counter() - started
    assert elapsed < TEXT_BUDGET_S + 1.5, elapsed  # the old code took 100 x 0.05 s = 5 s
    assert signal.actions == {BUDGET_KEY: "review"}
    (quick,) = matcher.analyze([Item("b", text="short")])
    assert quick.actions == {}


@pytest.mark.slow
def test_many_terms_on_a_long_text_are_bounded() -> None:
    from tamis.analyzers.lists import BUDGET_KEY, TEXT_BUDGET_S, CompiledList, ListMatcher
    from tamis.schema import Item

    terms = [f"word{i:04d}x" for i in range(1500)]
    matcher = ListMatcher("p.1", [CompiledList.build("many", terms, [], category="spam")], [])
    text = " ".join(f"w{i}" for i in range(25_000))[:100_000]
    started = time.perf_counter()
    (signal,) = matcher.analyze([Item("a", text=text)])
    assert time.perf_counter() - started < TEXT_BUDGET_S + 1.5
    assert signal.actions == {BUDGET_KEY: "review"}


@pytest.mark.models
def test_a_version_stored_before_the_limits_still_loads_and_runs(client, auth: dict[str, str], project: str) -> None:
    """Limits apply to new versions; a stored one that breaks them must not turn requests into 500s."""
    from tamis.engine.policy import BlockList, PolicyBody
    from tamis.store import queries
    from tamis.store.db import transaction

    old = BlockList.model_construct(name="old", category="spam", action="review", terms=["t" * 300],
                                    regex=[r"(\w+\s)*free money"])
    body = PolicyBody.model_construct(**{**PolicyBody().model_dump(), "block_lists": [old]})
    with transaction() as session:
        queries.put_policy(session, project, "default", body)
    response = client.post("/v1/moderate", headers=auth, json={"items": [{"data_id": "a", "text": "get free money"}]})
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["verdict"] in ("review", "block")
    assert client.get("/v1/policies/default/versions/1", headers=auth).status_code == 200
