"""Links in text: extraction (incl. defanged forms and false friends), normalisation, domains,
and the `links` analyzer's scores on its own (the API tests go through /v1/moderate)."""

from __future__ import annotations

import pytest

from tamis.analyzers.base import check_conformance
from tamis.analyzers.links.analyzer import SHORTENER_SPAM, Links
from tamis.analyzers.links.domains import DomainList, DomainMatcher, domain_entry
from tamis.schema import Item
from tamis.analyzers.links.urls import canonical_url, find_links, registered_domain


def spans(text: str) -> list[str]:
    return [text[link.start : link.end] for link in find_links(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://example.com/page?id=3, ok", ["https://example.com/page?id=3"]),
        ("go to www.shop-deals.io now!", ["www.shop-deals.io"]),
        ("order at example.com/x.", ["example.com/x"]),
        ("claim: hxxps://prize-claim[.]top/win", ["hxxps://prize-claim[.]top/win"]),
        ("blocked: evil-login[.]com and secure-paypal(.)com", ["evil-login[.]com", "secure-paypal(.)com"]),
        ("hxxp://198[.]51[.]100[.]7/login.php", ["hxxp://198[.]51[.]100[.]7/login.php"]),
        ("(see https://en.wikipedia.org/wiki/Foo_(bar))", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("[click](https://bit.ly/3xYz12Q)", ["https://bit.ly/3xYz12Q"]),
        ("WIN AT WWW.FREE-PRIZES.COM", ["WWW.FREE-PRIZES.COM"]),
        ("访问example.com获取优惠", ["example.com"]),
        ("пишите на пример.рф", ["пример.рф"]),
        ("my repo github.com/user/notes.md", ["github.com/user/notes.md"]),
        ("http://10.0.0.5:8080/admin", ["http://10.0.0.5:8080/admin"]),
        ("chat on wa.me/15551234567 or youtu.be", ["wa.me/15551234567", "youtu.be"]),
    ],
)
def test_links_are_found_with_their_offsets(text: str, expected: list[str]) -> None:
    assert spans(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Bring snacks, e.g. chips, i.e. anything.",
        "Open file.txt and setup.py then run main.rs",
        "Upgrade to v1.2.3 or 10.0.19045.3803",
        "The 3.5mm jack, pi is 3.14159, price $9.99.",
        "I love Node.js and Vue.js",
        "Send it to bob@example.com please",
        "great.Thanks for coming",
        "see you tomorrow.call me, Sat.Love you",
        "U.S.A. and U.K.",
        "notes.md, archive.zip, clip.mov, image.png, config.yaml",
        "ip 192.168.0.1 is my router",
        "ok.no problem, this.is fine",
    ],
)
def test_false_friends_are_not_links(text: str) -> None:
    assert find_links(text) == []


def test_normalisation() -> None:
    assert canonical_url("HTTPS://Example.COM:443/a%7Eb%2Fc?x=1#frag") == "https://example.com/a~b%2Fc?x=1"
    assert canonical_url("http://example.com:80") == "http://example.com/"
    assert canonical_url("http://example.com:8080/x") == "http://example.com:8080/x"
    assert canonical_url("example.com/a b") == "http://example.com/a"
    assert canonical_url("https://example.com/caf\u00e9") == "https://example.com/caf%C3%A9"


def test_punycode_both_ways_shows_homographs() -> None:
    (link,) = find_links("log in at https://\u0430pple.com/id")  # Cyrillic а
    assert link.host == "xn--pple-43d.com" and link.domain == "xn--pple-43d.com"
    assert link.host_unicode == "\u0430pple.com" and link.mixed_script
    assert link.url == "https://xn--pple-43d.com/id"
    (back,) = find_links("xn--pple-43d.com")
    assert back.host_unicode == "\u0430pple.com" and back.mixed_script
    assert not find_links("https://apple.com")[0].mixed_script
    assert not find_links("пример.рф")[0].mixed_script  # all Cyrillic is a real Russian name


def test_defanged_links_are_marked_and_refanged() -> None:
    (link,) = find_links("hxxps://evil[.]com/a")
    assert link.defanged and link.url == "https://evil.com/a" and link.domain == "evil.com"


def test_registered_domains() -> None:
    assert registered_domain("login.example.co.uk") == "example.co.uk"
    assert registered_domain("x.github.io") == "x.github.io"  # private suffixes count: each site is its own
    assert registered_domain("192.168.0.1") == "192.168.0.1"
    assert find_links("http://paypal.com@evil.xyz/a")[0].domain == "evil.xyz"


def test_domain_entries_and_matching() -> None:
    assert domain_entry("*.Example.COM.") == "example.com"
    assert domain_entry("\u0430pple.com") == "xn--pple-43d.com"
    with pytest.raises(ValueError, match="not a domain"):
        domain_entry("https://example.com/x")
    matcher = DomainMatcher([
        DomainList(name="phish", domains=["evil.com", "1.2.3.4"], category="scam"),
        DomainList(name="ours", domains=["example.com", "evil.com"], allow=True),
    ])
    assert matcher.match("login.evil.com").list == "phish"  # subdomains; block wins over allow
    assert matcher.match("notevil.com") is None  # a suffix of the name is not a subdomain
    assert matcher.match("shop.example.com").allow
    assert matcher.match("1.2.3.4").list == "phish"


@pytest.mark.models
def test_analyzer_scores() -> None:
    analyzer = Links()
    phish, shortener, clean, none, homograph = check_conformance(analyzer, [
        Item("p", text="Your account is locked: http://paypal.com.secure-login.xyz/verify"),
        Item("s", text="watch this bit.ly/3xYz12Q"),
        Item("c", text="docs at https://docs.python.org/3/library/urllib.parse.html"),
        Item("n", text="no links here, e.g. none"),
        Item("h", text="sign in: https://\u0430pple.com/"),
    ])
    assert phish.scores["scam"] >= 0.5
    (evidence,) = phish.evidence
    assert evidence.source == "text" and evidence.domain == "secure-login.xyz" and evidence.category == "scam"
    assert (evidence.start, evidence.end) == (24, 65)
    assert "scam" not in shortener.scores and shortener.scores["spam"] == SHORTENER_SPAM
    assert shortener.evidence[0].category == "spam"
    assert clean.scores["scam"] < 0.5 and clean.evidence == []
    assert none.scores == {}  # no link: nothing assessed
    assert homograph.scores["scam"] >= 0.5


@pytest.mark.slow
def test_pathological_text_is_bounded() -> None:
    """User text must never stall a worker: the matcher gives up after its time cap, without error."""
    import time

    for text in ("a." * 50_000, "x[.]" * 25_000, "see https://example.com/a?b=c " * 3_000):
        start = time.perf_counter()
        links = find_links(text)
        assert time.perf_counter() - start < 3.0
        assert len(links) <= 200
    assert len(find_links("see https://example.com/a?b=c " * 300)) == 200  # capped: enough to judge
