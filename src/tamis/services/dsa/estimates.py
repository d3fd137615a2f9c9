"""Estimates from samples reviewed by people: a proportion with its Wilson interval, and the miss rate
of `pass` verdicts from a stratified sample (services/sampling.py).

The stratified miss rate. Passes are drawn into review by Bernoulli sampling, with probability p_h
in stratum h (a band of the item's highest score). In stratum h, s_h passes were drawn, r_h of them
were reviewed and y_h restricted by people in the category. Then:
- the stratum's size is estimated by Horvitz-Thompson, N_h = s_h / p_h, and its weight is
  W_h = N_h / sum N (over strata with a review; a stratum drawn but not yet reviewed is assumed to
  miss like the others);
- the miss rate is M = sum W_h * y_h / r_h: with every drawn pass reviewed, this is the
  Horvitz-Thompson estimate (each reviewed pass weighs 1/p_h) over the estimated number of passes;
- its variance is V = sum W_h^2 m_h (1 - m_h) / r_h (the stratified-sampling variance, with the
  binomial variance Wilson's interval itself uses, so that one stratum gives exactly Wilson's
  interval of the plain proportion: a policy without strata reports what it reported before);
- the interval is Wilson's, on the effective sample size n_eff = M (1 - M) / V (the design effect's
  sample size, Korn & Graubard 1998), capped at the reviews made. Where M is 0 or 1 V says nothing, so
  n_eff is Kish's for the weights, 1 / sum W_h^2 / r_h.
Why Wilson and not the normal approximation: miss rates are small and a stratum often shows no miss
at all; a normal interval then has width 0 (or dips below 0), while Wilson's keeps an upper bound
that shrinks with the sample. The effective sample size carries the strata's unequal weights into
it: a sample concentrated near the threshold counts for less than its size about the whole.
Samples recorded before strata (no probability) form one stratum whose size is the passes the other
strata do not account for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_SAMPLE = 30
Z95 = 1.959963984540054


def wilson_at(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for an observed proportion p over a (possibly effective) sample n > 0."""
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # At p = 0 (or 1) the bound is exactly 0 (or 1); rounding must not lift it off.
    return (0.0 if p <= 0 else max(0.0, centre - half)), (1.0 if p >= 1 else min(1.0, centre + half))


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a binomial proportion; None without observations."""
    return wilson_at(successes / n, n, z) if n > 0 else None


@dataclass(frozen=True)
class Estimate:
    value: float | None
    low: float | None
    high: float | None
    n: int  # the sample size the estimate rests on

    @property
    def too_small(self) -> bool:
        return self.n < MIN_SAMPLE


def proportion(successes: int, n: int) -> Estimate:
    interval = wilson(successes, n)
    return Estimate(successes / n if n else None, *(interval or (None, None)), n)


@dataclass(frozen=True)
class Stratum:
    """One stratum's tally for one category."""

    p: float | None  # the inclusion probability; None for samples recorded before strata
    drawn: int       # passes sampled into review
    reviewed: int    # of those, decided by a person
    missed: int      # of those, restricted by the person in the category


def _sizes(strata: Sequence[Stratum], passes: int) -> list[float]:
    known = [s.drawn / s.p if s.p else 0.0 for s in strata]
    rest = max(0.0, passes - sum(known))
    return [size if s.p else max(float(s.drawn), rest) for s, size in zip(strata, known, strict=True)]


def stratified_rate(strata: Sequence[Stratum], passes: int) -> Estimate:
    """The share of passes people would restrict in the category, from a stratified sample (above)."""
    used = [(s, size) for s, size in zip(strata, _sizes(strata, passes), strict=True) if s.reviewed > 0 and size > 0]
    n = sum(s.reviewed for s, _ in used)
    total = sum(size for _, size in used)
    if not used or total <= 0:
        return Estimate(None, None, None, n)
    weights = [(size / total, s) for s, size in used]
    rate = sum(w * s.missed / s.reviewed for w, s in weights)
    variance = sum(w * w * (s.missed / s.reviewed) * (1 - s.missed / s.reviewed) / s.reviewed for w, s in weights)
    if 0 < rate < 1 and variance > 0:
        n_eff = min(float(n), rate * (1 - rate) / variance)
    else:
        n_eff = min(float(n), 1 / sum(w * w / s.reviewed for w, s in weights))
    low, high = wilson_at(min(1.0, max(0.0, rate)), n_eff)
    return Estimate(rate, low, high, n)
