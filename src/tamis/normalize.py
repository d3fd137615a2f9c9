"""Text normalisation for list matching: catches leetspeak, spaced-out letters and homoglyphs.

`normalize(text)` returns a lower-case ASCII "skeleton" of the text and, for every character of it,
the index of the original character it came from, so that a match in the skeleton maps back to a
span of the original text (evidence must point at what the user wrote).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import regex
from anyascii import anyascii

# Digits and symbols used as letters. Applied only where the character sits inside a word, so that
# "I have 5 apples!" keeps its meaning while "sh!t", "b1tch" and "@ss" lose their disguise.
LEET: dict[str, str] = {
    "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
    "@": "a", "$": "s", "!": "i", "|": "i", "+": "t", "€": "e", "£": "l",
}
_DIGITS = set("0123456789")
# Single letters separated like "f u c k", "f.u.c.k", "f-u-c-k", "f*u*c*k".
_SPACED_OUT = regex.compile(r"(?<![a-z0-9])(?:[a-z0-9][ .\-_*·~]+){2,}[a-z0-9](?![a-z0-9])")


@dataclass(frozen=True)
class Normalized:
    text: str
    origin: tuple[int, ...]  # origin[i] = index in the original text of text[i]
    # Skeleton ranges that were spaced-out letters ("w h a t a s c u m"): word boundaries inside
    # them are unknown, so terms are searched there without them.
    runs: tuple[tuple[int, int], ...] = ()

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) range of the skeleton back to the original text."""
        return self.origin[start], self.origin[end - 1] + 1


_INVISIBLE = ("Cf", "Mn", "Me")  # zero-width characters and combining marks


def _fold(ch: str) -> str:
    """One original character -> its skeleton letters (possibly none)."""
    if unicodedata.category(ch) in _INVISIBLE:
        return ""
    # NFKC can itself produce combining marks ("¯" -> " " + U+0304): they go too, so that a
    # skeleton normalises to itself.
    folded = "".join(c for c in unicodedata.normalize("NFKC", ch).casefold() if unicodedata.category(c) not in _INVISIBLE)
    if folded.isascii():
        return folded
    # Homoglyphs and accents: Cyrillic "а", Greek "ο", "é", fullwidth letters -> ASCII.
    ascii_form = anyascii(folded).lower()
    return ascii_form if ascii_form.strip() else folded


def _is_wordish(ch: str | None) -> bool:
    return ch is not None and (ch.isalnum() or ch in LEET)


def _deleet(chars: list[tuple[str, int]]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for i, (ch, origin) in enumerate(chars):
        if ch in LEET:
            prev = chars[i - 1][0] if i > 0 else None
            nxt = chars[i + 1][0] if i + 1 < len(chars) else None
            if ch in _DIGITS:
                # A digit is a letter when a letter touches it ("b1tch"), not inside a number.
                is_letter = any(c is not None and c.isalpha() for c in (prev, nxt))
            else:
                # A symbol is a letter inside a word; "$" also at a word's edge ("$hit", "a$$").
                is_letter = (_is_wordish(prev) and _is_wordish(nxt)) or (
                    ch == "$" and any(c is not None and (c.isalpha() or c == "$") for c in (prev, nxt))
                )
            if is_letter:
                ch = LEET[ch]
        out.append((ch, origin))
    return out


def _join_spaced_letters(chars: list[tuple[str, int]]) -> tuple[list[tuple[str, int]], list[tuple[int, int]]]:
    """Drop the separators of spaced-out letters; also return where the joined runs now are."""
    text = "".join(c for c, _ in chars)
    keep = [True] * len(chars)
    spans = []
    for m in _SPACED_OUT.finditer(text):
        spans.append((m.start(), m.end()))
        for i in range(m.start(), m.end()):
            if not text[i].isalnum():
                keep[i] = False
    new_index = [0] * (len(chars) + 1)
    for i, k in enumerate(keep):
        new_index[i + 1] = new_index[i] + k
    runs = [(new_index[start], new_index[end]) for start, end in spans]
    return [c for c, k in zip(chars, keep) if k], runs


def normalize(text: str) -> Normalized:
    chars: list[tuple[str, int]] = []
    for index, ch in enumerate(text):
        for folded in _fold(ch):
            chars.append((folded, index))
    chars, runs = _join_spaced_letters(_deleet(chars))
    return Normalized("".join(c for c, _ in chars), tuple(o for _, o in chars), tuple(runs))


def term_pattern(term: str, *, whole_words: bool = True) -> str:
    """A regex for a list term on skeletons: whole words, any letter may be repeated ("fuuuck")."""
    skeleton = normalize(term).text.strip()
    if not skeleton:
        return ""
    parts = []
    for ch in skeleton:
        # regex's \s is narrower than str.isspace() (U+001C..U+001F): those stay literal.
        parts.append(r"\s+" if regex.fullmatch(r"\s", ch) else regex.escape(ch) + "+")
    # Collapse the "\s+" repeats that consecutive spaces would produce.
    body = regex.sub(r"(\\s\+)+", r"\\s+", "".join(parts))
    return rf"(?<![a-z0-9]){body}(?![a-z0-9])" if whole_words else body
