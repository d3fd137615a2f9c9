"""List normalisation: obfuscated terms match, innocent words do not, spans point at the original."""

import pytest
import regex

from tamis.normalize import normalize, term_pattern


def find(term: str, text: str) -> list[str]:
    skeleton = normalize(text)
    pattern = regex.compile(term_pattern(term))
    return [text[slice(*skeleton.span(*m.span()))] for m in pattern.finditer(skeleton.text)]


@pytest.mark.parametrize(
    "text, found",
    [
        ("you idiot", "idiot"),
        ("you 1d10t!", "1d10t"),            # leetspeak digits
        ("you !d!ot", None),                # "!" at a word's start stays punctuation
        ("you id!ot", "id!ot"),             # "!" inside a word is a letter
        ("you i d i o t", "i d i o t"),     # spaced out
        ("you i.d.i.o.t", "i.d.i.o.t"),     # dotted
        ("you i-d-i-o-t", "i-d-i-o-t"),
        ("you IDIOT", "IDIOT"),             # case
        ("you ｉｄｉｏｔ", "ｉｄｉｏｔ"),     # fullwidth
        ("you іdіоt", "іdіоt"),             # Cyrillic і and о
        ("you idiooooot", "idiooooot"),     # stretched letters
        ("you i\u200bdiot", "i\u200bdiot"),  # zero-width space inside
        ("you idíot", "idíot"),             # accent
    ],
)
def test_obfuscated_variants_match_and_map_back(text: str, found: str | None) -> None:
    assert find("idiot", text) == ([found] if found else [])


@pytest.mark.parametrize("text", ["idiotic behaviour", "the idiots' guide", "semi-idiot"[5:] + "s", "I have 5 apples!"])
def test_whole_words_only(text: str) -> None:
    assert find("idiot", text) == []


def test_scunthorpe_safe() -> None:
    assert find("ass", "a classic assassination plot") == []
    assert find("ass", "what an ass") == ["ass"]


def test_multi_word_terms_allow_any_spacing() -> None:
    assert find("buy cheap pills", "BUY   cheap P1LLS now") == ["BUY   cheap P1LLS"]


def test_numbers_stay_numbers() -> None:
    assert normalize("I have 5 apples and 10 pears!").text == "i have 5 apples and 10 pears!"


def test_dollar_and_at_inside_words() -> None:
    assert normalize("$hit and a$$").text == "shit and ass"
    assert normalize("mail me@home").text == "mail meahome"  # inside a word, @ reads as a letter


def test_offsets_cover_every_character() -> None:
    skeleton = normalize("Ｆ u c k")
    assert len(skeleton.origin) == len(skeleton.text)
    assert skeleton.span(0, len(skeleton.text)) == (0, 7)
