"""The cost of an operator's regex, judged from its shape before it is ever compiled.

A policy's block and allow lists hold regexes that run on every text of the project. A careless or
hostile pattern can cost memory when it is compiled (`regex` expands counted repeats of literals:
`(?:(?:a{1000}){1000}){1000}` asks for a billion nodes) or time when it runs (`(x+x+)+y` backtracks
exponentially). Compiling a pattern to find out is already too late, so `check_pattern` reads its
structure with a small scanner (groups, classes, escapes, quantifiers; both `re` and `regex` V1
syntax) and refuses:

- a pattern longer than MAX_PATTERN_CHARS;
- a pattern whose expansion (each atom times the counts of the repeats around it) passes MAX_EXPANSION;
- a repeat of something whose length varies, when the repeat is unbounded (`(x+x+)+`, `(\\w+\\s)*`,
  `(?:x|xx)+`): the classic exponential shape;
- a backtracking degree (how many variable-length pieces can trade characters, multiplied by
  repeats) above MAX_DEGREE: `(?:x{1,50}){50}` is polynomial of degree 50 on a failing text;
- recursion, subroutine calls and fuzzy matching (`(?R)`, `(?1)`, `(?&name)`, `{e<=2}`).

What passes still runs under a time limit per pattern and per text (tamis.analyzers.lists).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PATTERN_CHARS = 500
MAX_EXPANSION = 10_000
MAX_DEGREE = 10

_COUNT = re.compile(r"\{(?=,?\d)(\d*)(?:(,)(\d*))?\}")  # {3} {2,} {,5} {2,5}; {} and {,} are literal
_CALL = re.compile(r"\(\?(?:R|[+-]?\d+|&\w+|P>\w+)\)")
_FUZZY = re.compile(r"\{[^}]*(?:[<>=]|\b[eisd]\b)[^}]*\}")
# What follows "(" before a group's content: (?:  (?>  (?=  (?!  (?<=  (?<!  (?|  (?P<n>  (?<n>  (?'n'
# (?i:  (?(1) — and inline flags (?i) that open no group at all.
_GROUP_HEAD = re.compile(r"\(\?(?:P?<[A-Za-z_]\w*>|'[A-Za-z_]\w*'|<[=!]|[=!:>|]|[a-zA-Z^-]*[:)]|\([^)]*\))|\(")
_LETTER_BRACES = "pPNxgku"  # \p{L}, \N{name}, \x{263a}, \g{1}, \k{name}: the braces belong to the escape


class PatternTooCostly(ValueError):
    """The pattern's shape could cost too much memory or time; the message says which part."""


@dataclass(frozen=True)
class _Piece:
    size: int  # nodes after counted repeats are expanded
    degree: int  # how many variable-length parts can trade characters when a match fails
    min_len: int
    max_len: int | None  # None: unbounded

    @property
    def variable(self) -> bool:
        return self.max_len != self.min_len


_ATOM = _Piece(1, 0, 1, 1)
_EMPTY = _Piece(0, 0, 0, 0)


def _sequence(pieces: list[_Piece]) -> _Piece:
    if not pieces:
        return _EMPTY
    max_len: int | None = 0
    for p in pieces:
        max_len = None if max_len is None or p.max_len is None else max_len + p.max_len
    return _Piece(sum(p.size for p in pieces), sum(p.degree for p in pieces), sum(p.min_len for p in pieces), max_len)


def _alternation(branches: list[_Piece]) -> _Piece:
    if len(branches) == 1:
        return branches[0]
    maxes = [b.max_len for b in branches]
    return _Piece(
        sum(b.size for b in branches),
        max(b.degree for b in branches),
        min(b.min_len for b in branches),
        None if None in maxes else max(m for m in maxes if m is not None),
    )


def _repeat(piece: _Piece, low: int, high: int | None, where: int) -> _Piece:
    if piece.variable and high is None:
        raise PatternTooCostly(
            f"unbounded repeat of a part whose length varies (at character {where}): this backtracks "
            "exponentially; make the inner part fixed-length, or use an atomic group (?>...)"
        )
    times = high if high is not None else max(low, 1)
    varies = high is None or low != high
    if piece.variable and times > 1:
        degree = max(piece.degree, 1) * times + (1 if varies else 0)
    else:
        degree = piece.degree + (1 if varies else 0)
    return _Piece(
        piece.size * max(times, 1),
        degree,
        piece.min_len * low,
        None if high is None or piece.max_len is None else piece.max_len * high,
    )


class _Scanner:
    """One pass over the pattern: a stack of groups, each a list of branches, each a list of pieces."""

    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0
        self.stack: list[tuple[list[list[_Piece]], bool]] = [([[]], False)]  # (branches, atomic)

    @property
    def current(self) -> list[_Piece]:
        return self.stack[-1][0][-1]

    def run(self) -> _Piece:
        while self.i < len(self.p):
            self._step()
        if len(self.stack) != 1:
            raise PatternTooCostly("unbalanced parentheses")
        return _alternation([_sequence(b) for b in self.stack[0][0]])

    def _step(self) -> None:
        c = self.p[self.i]
        if c == "\\":
            self._escape()
        elif c == "[":
            self._class()
        elif c == "(":
            self._open()
        elif c == ")":
            self._close()
        elif c == "|":
            self.stack[-1][0].append([])
            self.i += 1
        elif c in "*+?" or (c == "{" and (_COUNT.match(self.p, self.i) or _FUZZY.match(self.p, self.i))):
            self._quantifier()
        elif c in "^$":
            self.current.append(_EMPTY)
            self.i += 1
        else:
            self.current.append(_ATOM)
            self.i += 1

    def _escape(self) -> None:
        self.i += 2
        letter = self.p[self.i - 1] if self.i - 1 < len(self.p) else ""
        if letter in _LETTER_BRACES and self.i < len(self.p) and self.p[self.i] == "{":
            end = self.p.find("}", self.i)
            self.i = len(self.p) if end < 0 else end + 1
        if letter.isdigit() or letter in "gk":  # a backreference: its length is whatever the group matched
            self.current.append(_Piece(1, 1, 0, None))
        elif letter in "bBAZzG":
            self.current.append(_EMPTY)
        else:
            self.current.append(_ATOM)

    def _class(self) -> None:
        """Skip a character class, nested ones included (V1 set operations: [[a-z]--[aeiou]])."""
        depth, self.i = 1, self.i + 1
        if self.i < len(self.p) and self.p[self.i] == "^":
            self.i += 1
        if self.i < len(self.p) and self.p[self.i] == "]":
            self.i += 1  # a leading ] is a literal
        while self.i < len(self.p) and depth:
            c = self.p[self.i]
            if c == "\\":
                self.i += 1
            elif c == "[" and not self.p.startswith("[:", self.i):
                depth += 1
            elif c == "[":  # a POSIX class [:alpha:]
                end = self.p.find(":]", self.i + 2)
                self.i = self.i if end < 0 else end + 1
            elif c == "]":
                depth -= 1
            self.i += 1
        self.current.append(_ATOM)

    def _open(self) -> None:
        if _CALL.match(self.p, self.i):
            raise PatternTooCostly(f"recursion and subroutine calls are not allowed (at character {self.i})")
        if self.p.startswith("(?#", self.i):  # a comment
            end = self.p.find(")", self.i)
            self.i = len(self.p) if end < 0 else end + 1
            return
        head = _GROUP_HEAD.match(self.p, self.i)
        assert head is not None  # "(" alone matches
        self.i = head.end()
        if head.group().endswith(")") and not head.group().startswith("(?("):
            return  # inline flags such as (?i): no group
        self.stack.append(([[]], head.group() == "(?>"))

    def _close(self) -> None:
        if len(self.stack) == 1:
            raise PatternTooCostly(f"unbalanced ')' at character {self.i}")
        branches, atomic = self.stack.pop()
        group = _alternation([_sequence(b) for b in branches])
        if atomic:  # an atomic group never gives characters back: it does not backtrack into itself
            group = _Piece(group.size, 0, group.min_len, group.min_len) if group.variable else group
        self.current.append(group)
        self.i += 1

    def _quantifier(self) -> None:
        at = self.i
        if _FUZZY.match(self.p, self.i):
            raise PatternTooCostly(f"fuzzy matching is not allowed (at character {at})")
        c = self.p[self.i]
        if c == "{":
            m = _COUNT.match(self.p, self.i)
            assert m is not None
            low = int(m.group(1) or 0)
            high = (int(m.group(3)) if m.group(3) else None) if m.group(2) else low
            self.i = m.end()
        else:
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
            self.i += 1
        possessive = self.i < len(self.p) and self.p[self.i] == "+"
        if self.i < len(self.p) and self.p[self.i] in "?+":
            self.i += 1
        if not self.current:
            return  # nothing to repeat: `regex` refuses the pattern when it compiles
        piece = _repeat(self.current.pop(), low, high, at)
        if possessive:  # never gives characters back
            piece = _Piece(piece.size, max(piece.degree - 1, 0), piece.min_len, piece.max_len)
        self.current.append(piece)


def check_pattern(pattern: str) -> None:
    """Raise PatternTooCostly if the pattern could cost too much to compile or to run."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternTooCostly(f"pattern has {len(pattern)} characters; the limit is {MAX_PATTERN_CHARS}")
    shape = _Scanner(pattern).run()
    if shape.size > MAX_EXPANSION:
        raise PatternTooCostly(
            f"pattern expands to about {shape.size:,} nodes once its counted repeats are unrolled; "
            f"the limit is {MAX_EXPANSION:,}"
        )
    if shape.degree > MAX_DEGREE:
        raise PatternTooCostly(
            f"pattern has {shape.degree} variable-length parts that can trade characters (nested or "
            f"repeated); the limit is {MAX_DEGREE}"
        )


def pattern_size(pattern: str) -> int:
    """The pattern's unrolled size (nodes once counted repeats are expanded), for a policy's total."""
    return _Scanner(pattern).run().size
