"""How sure a timing is: bootstrap confidence intervals of medians and of their ratios, and the epochs a test needs.

Epoch times are skewed and few (a `quick` cell has two steady epochs), so intervals come from
scipy's percentile bootstrap of the median, with a fixed seed so that a report is reproducible.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import bootstrap, kruskal, mannwhitneyu, norm, permutation_test, rankdata

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 0
PERMUTATIONS = 9999
"""Orderings a paired test draws; with no more than this many in all (3 backends: up to 5 seeds) it counts each once."""
MANN_WHITNEY_EFFICIENCY = 3 / math.pi
"""Asymptotic relative efficiency of the Mann–Whitney U test against the t test for normal data (0.955)."""


def _interval(samples: tuple[np.ndarray, ...], statistic, paired: bool = False) -> tuple[float, float]:
    if any(len(s) < 2 for s in samples):
        return math.nan, math.nan
    found = bootstrap(
        samples,
        statistic,
        confidence_level=CONFIDENCE,
        n_resamples=RESAMPLES,
        method="percentile",
        vectorized=True,
        paired=paired,
        random_state=np.random.default_rng(SEED),
    )
    return float(found.confidence_interval.low), float(found.confidence_interval.high)


def backend_effect(samples: list) -> tuple[float, float]:
    """Kruskal–Wallis H test across groups (backends, seeds as replicates): its p-value and epsilon².

    epsilon² = H ÷ (n − 1), the share of the ranks' variance the grouping explains (0..1). Both NaN
    where a group has fewer than two values (one seed per backend cannot tell a backend from a seed);
    p = 1 and epsilon² = 0 where every value is equal.
    """
    samples = [np.asarray(s, float) for s in samples]
    if len(samples) < 2 or any(len(s) < 2 for s in samples):
        return math.nan, math.nan
    if np.ptp(np.concatenate(samples)) == 0:
        return 1.0, 0.0
    found = kruskal(*samples)
    return float(found.pvalue), float(found.statistic) / (sum(len(s) for s in samples) - 1)


def kendalls_w(table) -> float:
    """Kendall's W of a seeds × backends table: how alike the seeds rank the backends (0: no pattern, 1: identical)."""
    table = np.asarray(table, float)
    seeds, backends = table.shape
    rank_sums = rankdata(table, axis=1).sum(axis=0)
    spread = np.sum((rank_sums - seeds * (backends + 1) / 2) ** 2)
    return float(12 * spread / (seeds**2 * (backends**3 - backends)))


def paired_backend_effect(table) -> tuple[float, float]:
    """Friedman's test across backends with seeds as blocks (a seeds × backends table): its p-value and Kendall's W.

    For lockstep cells, where a seed is one start shared by every backend, so what varies with the
    seed cancels within a row. The p-value is exact: the share of the backends' orderings within
    each seed (all (k!)^n of them, or PERMUTATIONS drawn where there are more) whose W is at least
    the observed one; with 3 backends and 3 seeds the smallest it can be is 6 / 216 = 0.028. Both
    NaN with fewer than two seeds or backends; p = 1 and W = 0 where every value is equal.
    """
    table = np.asarray(table, float)
    if table.ndim != 2 or min(table.shape) < 2:
        return math.nan, math.nan
    if np.ptp(table) == 0:
        return 1.0, 0.0
    found = permutation_test(
        tuple(table.T),
        lambda *backends: kendalls_w(np.column_stack(backends)),
        permutation_type="samples",
        n_resamples=PERMUTATIONS,
        alternative="greater",
        random_state=np.random.default_rng(SEED),
    )
    return float(found.pvalue), kendalls_w(table)


def median_ci(values) -> tuple[float, float]:
    """95% bootstrap interval of the median of `values` (NaN with fewer than two)."""
    return _interval((np.asarray(values, float),), lambda a, axis: np.median(a, axis=axis))


def ratio_ci(values, reference, paired: bool = False) -> tuple[float, float]:
    """95% bootstrap interval of median(values) / median(reference), the two samples drawn independently, or
    pairs drawn together (`paired`: the i-th of each belong together, as a lockstep seed's values do)."""
    samples = (np.asarray(values, float), np.asarray(reference, float))
    with np.errstate(divide="ignore", invalid="ignore"):  # a resample whose reference median is 0: an unbounded end
        return _interval(samples, lambda a, b, axis: np.median(a, axis=axis) / np.median(b, axis=axis), paired)


def detection_power(n: int, sigma: float, slowdown: float, alpha: float, simulations: int = 1000) -> float:
    """Share of simulated runs (log-normal epoch times, n per side) in which the U test finds the slowdown."""
    rng = np.random.default_rng(SEED)
    base = rng.normal(0.0, sigma, (simulations, n))
    new = rng.normal(math.log1p(slowdown), sigma, (simulations, n))
    return float(np.mean(mannwhitneyu(new, base, alternative="greater", axis=1).pvalue < alpha))


def epochs_to_detect(times, slowdown: float = 0.10, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Steady epochs per side a one-sided Mann–Whitney U test needs to see `slowdown` at these times' noise.

    The noise is the standard deviation of log epoch time. The count starts from the t test's for a
    shift of log(1 + slowdown) at `alpha` and `power`, divided by the U test's efficiency (never
    fewer than the smallest samples whose exact p-value can go below `alpha`), and grows until a
    simulation of the U test at that noise reaches `power` (the asymptotic count is short for a few
    epochs). None with fewer than two times.
    """
    logs = np.log(np.asarray(times, float))
    if len(logs) < 2:
        return None
    sigma = float(np.std(logs, ddof=1))
    z = norm.ppf(1 - alpha) + norm.ppf(power)
    needed = math.ceil(2 * (z * sigma / math.log1p(slowdown)) ** 2 / MANN_WHITNEY_EFFICIENCY)
    n = max(needed, next(n for n in range(1, 100) if 1 / math.comb(2 * n, n) < alpha))
    while detection_power(n, sigma, slowdown, alpha) < power:
        n += 1
    return n
