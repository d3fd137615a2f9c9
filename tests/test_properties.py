"""Properties of the input-facing code, checked with hypothesis on generated inputs.

Not exact outputs: which errors may be raised (only the documented ones), spans that stay inside
the text, idempotence where a canonical form is promised, and export -> import round trips.
Examples are derandomised (the same on every run); TAMIS_FUZZ_EXAMPLES scales them for a long run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pytest
import regex
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from conftest import unlimited_key
from tamis.analyzers.links import urls as links
from tamis.analyzers.lists import CompiledList, ListMatcher
from tamis.analyzers.links.domains import domain_entry
from tamis.banks import exchange
from tamis.banks.service import SIGNALS, EntryError, EntryIn, clean_entry
from tamis.normalize import normalize, term_pattern
from tamis.engine.policy import AllowList, BlockList, PolicyBody

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

EXAMPLES = int(os.environ.get("TAMIS_FUZZ_EXAMPLES", "25")) * 8
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Text that looks like what moderation sees: words, leetspeak, separators, homoglyphs, marks, emoji.
_PIECES = ["idiot", "sh!t", "f u c k", "1d10t", "b1tch", "a$$", "ｉｄｉｏｔ", "іdіоt", "i\u200bd", "é", "e\u0301",
           "ß", "İ", "ﬁ", "…", "😀", "www.", ".com", "hxxp://", "[.]", "://", "@", "-", "_", ".", " ", "\n", "\t"]
texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=5)), max_size=30).map("".join),
)


# --- normalize ---------------------------------------------------------------------------------------


@PROPERTY
@given(texts)
def test_normalize_maps_every_skeleton_character_back_into_the_text(text: str) -> None:
    skeleton = normalize(text)
    assert len(skeleton.origin) == len(skeleton.text)
    assert all(0 <= o < len(text) for o in skeleton.origin)
    assert list(skeleton.origin) == sorted(skeleton.origin)  # the skeleton keeps the text's order
    for start, end in skeleton.runs:
        assert 0 <= start <= end <= len(skeleton.text)
    if skeleton.text:
        start, end = skeleton.span(0, len(skeleton.text))
        assert 0 <= start < end <= len(text)


@PROPERTY
@given(texts)
@example("\u00af")  # NFKC makes " " + U+0304: the mark stayed in the skeleton until a second pass
def test_normalize_is_idempotent_and_lower_case(text: str) -> None:
    once = normalize(text).text
    assert once == once.lower()
    # A digit is read as a letter by its neighbours as written, so a run of them settles one step
    # per pass ("a43" -> "aa3" -> "aae"); terms and texts go through the same single pass, so that is
    # no mismatch. Without digits, a skeleton is its own skeleton.
    if not any(c.isdigit() for c in once):
        assert normalize(once).text == once


@PROPERTY
@given(texts)
@example("0\x1f0")  # str.isspace() but not regex's \s: the term's pattern wanted \s there
def test_a_term_matches_itself_written_alone(term: str) -> None:
    pattern = term_pattern(term)
    assume(pattern)
    assert regex.search(pattern, normalize(term).text), (term, normalize(term).text, pattern)


# --- policy lists ------------------------------------------------------------------------------------

_REGEX_PIECES = ["a", "b", ".", "*", "+", "?", "(", ")", "[", "]", "^", "$", "|", "\\", "{2}", "\\b", "\\d",
                 "(?i)", "[^a]", "\\p{L}", "\\1", "(?P<x>", "-", "é"]
patterns = st.lists(st.sampled_from(_REGEX_PIECES), max_size=8).map("".join)
list_names = st.from_regex(r"\A[a-z0-9][a-z0-9_.-]{0,10}\Z")


@PROPERTY
@given(name=list_names, terms=st.lists(texts, max_size=5), regexes=st.lists(patterns, max_size=4), text=texts)
def test_lists_validate_or_refuse_and_their_matches_stay_inside_the_text(
    name: str, terms: list[str], regexes: list[str], text: str
) -> None:
    try:
        block = BlockList(name=name, category="harassment", terms=terms, regex=regexes)
        allow = AllowList(name=name, terms=terms[:1], regex=regexes[:1])
    except ValidationError:
        return  # refused with a 422, as a policy PUT answers it
    compiled = CompiledList.build(block.name, block.terms, block.regex, category=block.category, action=block.action)
    for match in compiled.matches(text):
        assert 0 <= match.start < match.end <= len(text)
    matcher = ListMatcher("p.1", [compiled], [CompiledList.build(allow.name, allow.terms, allow.regex)])
    assert len(matcher.mask_allowed(text)) == len(text)
    signal = matcher.analyze([_Item(text)])[0]
    assert all(0 <= e.start < e.end <= len(text) for e in signal.evidence)
    assert set(signal.scores.values()) <= {1.0}


@dataclass
class _Item:
    text: str


# Terms as operators write them: words with leetspeak, inner spaces and punctuation, some accents.
terms = st.from_regex(r"\A[a-zé][a-z0-9 !$@.'é-]{0,12}[a-z0-9é]\Z")


@settings(PROPERTY, suppress_health_check=[*PROPERTY.suppress_health_check, HealthCheck.filter_too_much])
@given(term=terms, before=st.sampled_from(["", "you ", "well, "]), after=st.sampled_from(["", " now", "!"]))
def test_a_block_list_term_is_found_in_a_sentence(term: str, before: str, after: str) -> None:
    skeleton = normalize(term).text.strip()
    assume(skeleton and skeleton[0].isalnum() and skeleton[-1].isalnum())
    assume(normalize(before + term + after).text == normalize(before).text + normalize(term).text + normalize(after).text)
    compiled = CompiledList.build("l", [term], [])
    assert compiled.matches(before + term + after), (term, skeleton)


@PROPERTY
@given(st.one_of(st.text(max_size=80), st.from_regex(r"\A(\*\.)?([a-z0-9-]{1,10}\.){1,3}[a-z]{2,6}\.?\Z")))
def test_domain_entries_are_canonical(raw: str) -> None:
    try:
        entry = domain_entry(raw)
    except ValueError:
        return
    assert entry.isascii() and entry == entry.lower()
    assert domain_entry(entry) == entry


@PROPERTY
@given(st.dictionaries(st.sampled_from(["description", "shadow", "analyzers", "categories", "block_lists",
                                         "allow_lists", "domain_lists", "match_rotations", "extra"]),
                       st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=10),
                                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                                    max_leaves=10),
                       max_size=5))
def test_a_policy_document_validates_or_raises_validation_error(doc: dict[str, object]) -> None:
    try:
        body = PolicyBody.model_validate(doc)
    except ValidationError:
        return
    # What validates, round-trips through its JSON form (it is stored and cached that way).
    assert PolicyBody.model_validate_json(body.model_dump_json()) == body


# --- hash exchange formats ---------------------------------------------------------------------------

hex_digits = "0123456789abcdef"
pdq_values = st.text(hex_digits, min_size=64, max_size=64)
md5_values = st.text(hex_digits, min_size=32, max_size=32)
frames = st.lists(st.fixed_dictionaries({"t_ms": st.integers(0, 10**9), "pdq": pdq_values, "quality": st.integers(0, 100)}),
                  min_size=1, max_size=4)
# Labels are one line (clean_entry refuses line breaks: see the test below); any other character goes.
labels = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"), max_size=30).map(str.strip)


@dataclass
class _Entry:
    signal: str
    value: str
    label: str = ""
    note: str = ""
    source: str = ""


@st.composite
def entries(draw: st.DrawFn, signal: str) -> _Entry:
    value = {"pdq": pdq_values, "sha256": pdq_values, "md5": md5_values,
             "vpdq": frames.map(lambda f: json.dumps(f))}[signal]
    entry = clean_entry(EntryIn(signal, draw(value), label=draw(labels)))
    return _Entry(entry.signal, entry.value, entry.label)


@PROPERTY
@given(fmt=st.sampled_from(sorted(exchange.FORMATS)), signal=st.sampled_from(SIGNALS), data=st.data())
def test_export_then_import_gives_back_the_same_entries(fmt: str, signal: str, data: st.DataObject) -> None:
    written = data.draw(st.lists(entries(signal), max_size=6))
    text = exchange.export_text(fmt, written, signal=signal)
    read, errors = exchange.parse(fmt, text, signal=signal)
    assert not errors, (errors, text)
    assert [(e.signal, e.value) for e in read] == [(e.signal, e.value) for e in written]
    if fmt in exchange.LABELLED:
        assert [e.label for e in read] == [e.label for e in written]


@pytest.mark.parametrize("fmt", sorted(exchange.LABELLED))
def test_a_long_video_s_vpdq_entry_exports_and_imports_back(fmt: str) -> None:
    # 3,000 frames (50 minutes at 1 fps) make a field over csv's default limit of 131,072 characters.
    value = json.dumps([{"t_ms": i * 1000, "pdq": f"{i:064x}", "quality": 90} for i in range(3000)])
    entry = clean_entry(EntryIn("vpdq", value))
    read, errors = exchange.parse(fmt, exchange.export_text(fmt, [entry], signal="vpdq"), signal="vpdq")
    assert not errors and [e.value for e in read] == [entry.value]


@pytest.mark.parametrize("label", ["a\nb", "a\rb", "\r\n"])
def test_labels_and_sources_with_line_breaks_are_refused(label: str) -> None:
    # They used to be stored, then exported to te-csv/te-simple/hma files that import refused.
    for field in ("label", "source"):
        with pytest.raises(EntryError) as refused:
            clean_entry(EntryIn("md5", "0" * 32, **{field: label}))
        assert refused.value.field == field


@PROPERTY
@given(fmt=st.sampled_from(sorted(exchange.FORMATS)), signal=st.sampled_from([None, *SIGNALS]),
       text=st.one_of(st.text(max_size=300), st.lists(st.sampled_from(
           ["pdq ", "md5,", "#", "\n", "\r\n", ",", '"', "[", "]", "{", "}", "0" * 32, "f" * 64, "signal_type,signal_str",
            '["' + "a" * 64 + ',50,1.5"]', "video_md5", "HASH_PDQ", "1,2,3,4", " "]), max_size=20).map("".join)))
def test_parsers_report_bad_lines_and_raise_nothing_else(fmt: str, signal: str | None, text: str) -> None:
    try:
        read, errors = exchange.parse(fmt, text, signal=signal)
    except ValueError:
        assert signal is None and fmt in ("te-simple", "hma")  # documented: these formats need the signal
        return
    lines = text.split("\n")
    assert all(1 <= e.line <= len(lines) and e.detail for e in errors)
    for entry in read:
        assert clean_entry(entry) == entry  # what was read is already in its stored form


# --- links -------------------------------------------------------------------------------------------

_URL_PIECES = ["http://", "https://", "hxxps://", "ftp://", "www.", "example", "xn--pple-43d", "аpple", ".com", ".co.uk",
               "[.]", "(.)", "[:]", ":", "8080", "/", "?a=1", "#x", "%20", "@", "user:pw@", "1.2.3.4", "[::1]", ")", "(",
               ".", ",", " ", "\n", "例", "é", "-", "_", ".zip", ".py", ".рф"]
link_texts = st.one_of(texts, st.lists(st.sampled_from(_URL_PIECES), max_size=25).map("".join))


@PROPERTY
@given(link_texts)
def test_links_are_found_inside_the_text_with_normalised_urls(text: str) -> None:
    found = links.find_links(text)
    assert len(found) <= links.MAX_LINKS
    previous_end = 0
    for link in found:
        assert previous_end <= link.start < link.end <= len(text)
        previous_end = link.end
        assert link.host.isascii() and link.url.isascii()
        if not link.defanged:
            assert text[link.start : link.end] == link.raw
        # The normalised URL is a fixed point: normalising it again changes nothing.
        assert links.canonical_url(link.url) == link.url


# --- multipart intake ---------------------------------------------------------------------------------

_TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a4944415478da63600000000200015e2b5d1b0000000049454e44ae426082")
_FIELD_NAMES = ["file", "text", "data_id", "policy", "", "file\x00", "fïle", 'fi"le']
_FILENAMES = [None, "", "a.png", "../../etc/passwd", 'q"uote.png', "ü.png", "a\r\nb.png", "x" * 300]
_CONTENTS = st.one_of(st.sampled_from([_TINY_PNG, b"", b"hello", "idiot".encode(), b"\r\n--", b"\xff\xfe\x00"]),
                      st.binary(max_size=64), st.text(max_size=40).map(str.encode))


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    """A multipart body and its Content-Type: well-formed, or broken in one of the usual ways."""
    boundary = draw(st.from_regex(r"\A[0-9A-Za-z'()+_,./:=?-]{1,70}\Z"))
    chunks = []
    for _ in range(draw(st.integers(0, 6))):
        name, filename = draw(st.sampled_from(_FIELD_NAMES)), draw(st.sampled_from(_FILENAMES))
        disposition = f'form-data; name="{name}"' + ("" if filename is None else f'; filename="{filename}"')
        headers = [f"Content-Disposition: {disposition}"]
        if draw(st.booleans()):
            headers.append(f"Content-Type: {draw(st.sampled_from(['image/png', 'text/plain', 'x', '']))}")
        chunks.append(f"--{boundary}\r\n".encode() + "\r\n".join(headers).encode("utf-8", "surrogateescape")
                      + b"\r\n\r\n" + draw(_CONTENTS) + b"\r\n")
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    content_type = f"multipart/form-data; boundary={boundary}"
    broken = draw(st.sampled_from(["none", "no-closing", "lf-only", "truncated", "other-boundary", "no-boundary",
                                   "quoted-boundary"]))
    if broken == "no-closing":
        body = body[: -len(f"--{boundary}--\r\n")]
    elif broken == "lf-only":
        body = body.replace(b"\r\n", b"\n")
    elif broken == "truncated":
        body = body[: draw(st.integers(0, len(body)))]
    elif broken == "other-boundary":
        content_type = "multipart/form-data; boundary=not-the-one"
    elif broken == "no-boundary":
        content_type = "multipart/form-data"
    elif broken == "quoted-boundary":
        content_type = f'multipart/form-data; boundary="{boundary}"'
    return body, content_type


@pytest.fixture(scope="module")
def intake_auth(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    auth = {"Authorization": f"Bearer {unlimited_key('fuzz-intake')}"}
    assert client.post("/v1/banks", headers=auth, json={"name": "fz"}).status_code == 201
    return auth


@settings(PROPERTY, max_examples=max(20, EXAMPLES // 2))
@given(endpoint=st.sampled_from(["/v1/moderate", "/v1/hash", "/v1/match", "/v1/videos", "/v1/banks/fz/import"]),
       form=multipart_bodies())
def test_multipart_bodies_are_read_or_refused_with_a_problem(client, intake_auth, endpoint: str, form: tuple[bytes, str]) -> None:  # type: ignore[no-untyped-def]
    body, content_type = form
    response = client.post(endpoint, headers={**intake_auth, "Content-Type": content_type}, content=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert problem["status"] == response.status_code and problem["detail"], problem
        assert problem.get("field"), problem
