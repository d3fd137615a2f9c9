"""How good the transparency report's miss-rate interval is under stratified sampling of passes: over
many seeded samples of one synthetic population (misses crowded near the review threshold, sampled
most there), the share of 95 % intervals that hold the true miss rate (coverage), the mean estimate
against the truth, the mean interval width; and the same for the unweighted share (what a uniform
sample's estimator says when given a stratified sample). No database, no model: the estimator alone
(`tamis.services.dsa.estimates.stratified_rate`). Figures depend only on the seed, not on the machine.

    python bench/dsa_recall.py [--runs 2000] [--seed 15]
"""

from __future__ import annotations

import argparse
import random

from tamis.services.dsa.estimates import Stratum, proportion, stratified_rate

# (passes in the band, true misses among them, sampling rate): the bands of [0, 0.1), [0.1, 0.3), [0.3, 1].
POPULATIONS = {
    "misses near the threshold": [(1000, 10, 0.05), (300, 15, 0.2), (100, 40, 1.0)],
    "rare misses, light sampling": [(20000, 20, 0.005), (2000, 20, 0.05), (500, 25, 0.3)],
    "no miss at all": [(1000, 0, 0.05), (300, 0, 0.2), (100, 0, 1.0)],
}


def run(bands: list[tuple[int, int, float]], runs: int, rng: random.Random) -> dict[str, float]:
    passes = sum(size for size, _, _ in bands)
    truth = sum(missed for _, missed, _ in bands) / passes
    covered = naive_covered = 0
    values, naive_values, widths, reviewed = [], [], [], []
    for _ in range(runs):
        strata = []
        for size, missed, rate in bands:
            drawn = [i < missed for i in range(size) if rng.random() < rate]
            strata.append(Stratum(rate, len(drawn), len(drawn), sum(drawn)))
        estimate = stratified_rate(strata, passes)
        plain = proportion(sum(s.missed for s in strata), sum(s.reviewed for s in strata))
        assert estimate.value is not None and estimate.low is not None and estimate.high is not None
        covered += estimate.low <= truth <= estimate.high
        naive_covered += (plain.low or 0.0) <= truth <= (plain.high or 0.0)
        values.append(estimate.value)
        naive_values.append(plain.value or 0.0)
        widths.append(estimate.high - estimate.low)
        reviewed.append(estimate.n)
    return {"truth": truth, "coverage": covered / runs, "mean": sum(values) / runs, "width": sum(widths) / runs,
            "naive_coverage": naive_covered / runs, "naive_mean": sum(naive_values) / runs, "n": sum(reviewed) / runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    print(f"{args.runs} seeded samples per population (seed {args.seed}); nominal coverage 0.95")
    for name, bands in POPULATIONS.items():
        r = run(bands, args.runs, random.Random(args.seed))
        print(f"{name}: true miss rate {r['truth']:.4f}; reviewed {r['n']:.0f} on average; stratified: "
              f"coverage {r['coverage']:.3f}, mean {r['mean']:.4f}, mean width {r['width']:.4f}; unweighted: "
              f"coverage {r['naive_coverage']:.3f}, mean {r['naive_mean']:.4f}")


if __name__ == "__main__":
    main()
