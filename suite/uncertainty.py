"""How sure a number is: intervals of medians and of ratios that cover at the level they state, tests of a backend
effect, and the epochs a test needs.

gvbench's samples are small: 3–10 seeds, 1–40 steady epochs, 1–5 processes. A percentile bootstrap of a median of
three can only return data points, and its "95%" interval is the range of the three, which covers the median 75% of
the time. So every interval here states the confidence it has:

- `median_interval`: the distribution-free order-statistic interval of a median (the binomial count of values
  below it); where n is too small for 95% (n ≤ 5) it is the range, with its real level (75% for 3 values).
- `shift_interval`: the ratio of two samples' typical values as the Hodges–Lehmann shift of their logs, with the
  exact Mann–Whitney interval around it (distribution-free for a change of scale; 90% for 3 against 3).
- `log_t_interval`: the ratio of geometric means from Welch's t on log values (seeds or processes, which are
  independent replicates whose log times are near normal): 95% at any n ≥ 2 per side.
- `geometric_interval`: one sample's geometric mean with the t interval of its mean log (processes as replicates).
- `ratio_test`: a ratio of geometric means over processes with its 95% Welch interval, the two-sided test of a
  difference and the two one-sided tests (TOST) of equivalence within a margin; `holm` adjusts a family of
  p-values and `verdict` reads the pair as faster, slower, alike or undecided.

A speed question is about the backend, so its replicate is the process: every speed interval and test takes one
value per process (its median steady epoch or step), never the epochs of a process, which are not independent
draws of the backend's speed (their shared start, memory layout and thread placement move them together).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.stats import binom, kruskal, mannwhitneyu, norm, permutation_test, rankdata, ttest_ind, ttest_rel
from scipy.stats import t as student

from suite.margins import SPEED, Margin

CONFIDENCE = 0.95
SEED = 0
PERMUTATIONS = 9999
"""Orderings a paired test draws; with no more than this many in all (3 backends: up to 5 seeds) it counts each once."""
MANN_WHITNEY_EFFICIENCY = 3 / math.pi
"""Asymptotic relative efficiency of the Mann–Whitney U test against the t test for normal data (0.955)."""


@dataclass(frozen=True)
class Interval:
    """An interval, the confidence it really has, and how it was made."""

    low: float
    high: float
    level: float
    method: str

    @property
    def found(self) -> bool:
        return not math.isnan(self.low)


NO_INTERVAL = Interval(math.nan, math.nan, math.nan, "none: fewer than two values")


def median_interval(values) -> Interval:
    """The order-statistic interval of the median: the narrowest (x_(k), x_(n+1-k)) whose binomial coverage is at
    least `CONFIDENCE`; for n ≤ 5, where none is, the range, at its real level (1 − 2 · 0.5^n)."""
    x = np.sort(np.asarray(values, float))
    n = len(x)
    if n < 2:
        return NO_INTERVAL
    level = [(k, 1 - 2 * binom.cdf(k - 1, n, 0.5)) for k in range(1, n // 2 + 1)]
    k, achieved = max(((k, c) for k, c in level if c >= CONFIDENCE), default=level[0])
    return Interval(float(x[k - 1]), float(x[n - k]), float(achieved), "order statistics")


@cache
def _u_null(n: int, m: int) -> tuple[float, ...]:
    """The exact null distribution of the Mann–Whitney U for samples of n and m: P(U = u), u = 0..n·m."""
    counts = np.zeros((n + 1, m + 1, n * m + 1))
    counts[0, :, 0] = counts[:, 0, 0] = 1
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            counts[i, j, j:] += counts[i - 1, j, : n * m + 1 - j]  # the largest value is one of the first sample's
            counts[i, j] += counts[i, j - 1]
    return tuple(counts[n, m] / math.comb(n + m, n))


EXACT_PAIRS = 400
"""Up to this many pairs (n · m) the Mann–Whitney interval is exact; beyond, its normal approximation."""


def shift_interval(values, reference) -> Interval:
    """median(values) ÷ median(reference) as exp of the Hodges–Lehmann shift of the logs, with the exact
    Mann–Whitney interval of that shift: order statistics of the n · m differences of logs, at the largest depth
    whose coverage is at least `CONFIDENCE`, or the full range of differences at its real level."""
    a, b = np.log(np.asarray(values, float)), np.log(np.asarray(reference, float))
    if len(a) < 2 or len(b) < 2 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return NO_INTERVAL
    n, m = len(a), len(b)
    diffs = np.sort(np.subtract.outer(a, b).ravel())
    if n * m <= EXACT_PAIRS:
        tail = np.cumsum(_u_null(n, m))  # P(U ≤ u)
        depths = [(k, 1 - 2 * tail[k - 1]) for k in range(1, n * m // 2 + 1)]
    else:
        sd = math.sqrt(n * m * (n + m + 1) / 12)
        depths = [(k, 1 - 2 * norm.cdf((k - 0.5 - n * m / 2) / sd)) for k in range(1, n * m // 2 + 1)]
    k, achieved = max(((k, c) for k, c in depths if c >= CONFIDENCE), default=depths[0])
    low, high = math.exp(diffs[k - 1]), math.exp(diffs[n * m - k])
    return Interval(low, high, float(achieved), "Hodges–Lehmann shift of logs, exact Mann–Whitney")


def log_t_interval(values, reference, paired: bool = False, confidence: float = CONFIDENCE) -> Interval:
    """The ratio of geometric means with Welch's t interval of the difference of log means (`paired`: the t
    interval of the mean log ratio of pairs, as lockstep seeds give), at `confidence`."""
    a, b = np.log(np.asarray(values, float)), np.log(np.asarray(reference, float))
    if len(a) < 2 or len(b) < 2 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return NO_INTERVAL
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        ratio = math.exp(a.mean() - b.mean())
        return Interval(ratio, ratio, confidence, "all values equal")
    found = ttest_rel(a, b) if paired else ttest_ind(a, b, equal_var=False)
    ci = found.confidence_interval(confidence)
    method = "paired t on logs" if paired else "Welch t on logs"
    return Interval(math.exp(ci.low), math.exp(ci.high), confidence, method)


SPEED_MARGIN = SPEED.value
"""The smallest speed difference that matters (`suite.margins.SPEED`): two timings whose ratio's 90% interval lies
within 1/1.05–1.05 are alike (TOST at 5%)."""
ALIKE, FASTER, SLOWER, UNDECIDED = "alike", "faster", "slower", "undecided"


def geometric_interval(values, confidence: float = CONFIDENCE) -> tuple[float, Interval]:
    """The geometric mean of independent replicates (one value per process) and the t interval of their mean log,
    at `confidence`; no interval for fewer than two."""
    logs = np.log(np.asarray(values, float))
    if len(logs) == 0 or not np.isfinite(logs).all():
        return math.nan, NO_INTERVAL
    centre = float(math.exp(logs.mean()))
    if len(logs) < 2:
        return centre, NO_INTERVAL
    if np.ptp(logs) == 0:
        return centre, Interval(centre, centre, confidence, "all values equal")
    half = student.ppf(0.5 + confidence / 2, len(logs) - 1) * logs.std(ddof=1) / math.sqrt(len(logs))
    return centre, Interval(math.exp(logs.mean() - half), math.exp(logs.mean() + half), confidence, "t on logs")


@dataclass(frozen=True)
class RatioTest:
    """values ÷ reference over independent replicates: the ratio of geometric means, its Welch t interval, the
    p-value of a difference (two-sided) and of equivalence within `margin` (TOST: the larger one-sided p)."""

    ratio: float
    interval: Interval
    p_differ: float
    p_alike: float
    margin: float
    counts: tuple[int, int]


def ratio_test(values, reference, margin: float = SPEED_MARGIN, confidence: float = CONFIDENCE) -> RatioTest:
    """Welch's t on the logs of two sets of replicates (processes): the ratio with its interval at `confidence`, a
    two-sided test of no difference, and Schuirmann's two one-sided tests of a ratio within 1/(1+margin)..1+margin.
    With fewer than two replicates a side every p-value is NaN (nothing to estimate the noise from)."""
    a, b = np.log(np.asarray(values, float)), np.log(np.asarray(reference, float))
    counts = (len(a), len(b))
    if len(a) == 0 or len(b) == 0:
        return RatioTest(math.nan, NO_INTERVAL, math.nan, math.nan, margin, counts)
    ratio = float(math.exp(a.mean() - b.mean()))
    interval = log_t_interval(np.exp(a), np.exp(b), confidence=confidence)
    if len(a) < 2 or len(b) < 2:
        return RatioTest(ratio, interval, math.nan, math.nan, margin, counts)
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # no noise: the difference is what it is
        p_differ = float(a.mean() == b.mean())
    else:
        p_differ = float(ttest_ind(a, b, equal_var=False).pvalue)
    p_alike = equivalence_p(np.exp(a), np.exp(b), Margin(margin, True, "the speed margin"))
    return RatioTest(ratio, interval, p_differ, p_alike, margin, counts)


def equivalence_p(values, reference, margin: Margin, paired: bool = False) -> float:
    """Schuirmann's two one-sided t tests that values and reference differ by less than `margin` (in their units,
    or on logs for a relative margin; `paired`: by pairs, as lockstep seeds are): the larger one-sided p-value.
    NaN with fewer than two values a side."""
    a, b = np.asarray(values, float), np.asarray(reference, float)
    if len(a) < 2 or len(b) < 2 or (paired and len(a) != len(b)):
        return math.nan
    if margin.relative:
        if (a <= 0).any() or (b <= 0).any():
            return math.nan
        a, b, delta = np.log(a), np.log(b), math.log1p(margin.value)
    else:
        delta = margin.value
    if np.ptp(a - b if paired else np.concatenate([a - a.mean(), b - b.mean()])) == 0:
        return float(abs(a.mean() - b.mean()) >= delta)
    test = ttest_rel if paired else (lambda x, y, **k: ttest_ind(x, y, equal_var=False, **k))
    above = test(a + delta, b, alternative="greater").pvalue
    below = test(a - delta, b, alternative="less").pvalue
    return float(max(above, below))


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values; NaN stays NaN and is not counted.

    The arithmetic of statsmodels' `multipletests(method="holm")` (a test holds the two equal), written out because
    that function runs a full garbage collection on every call: about 0.1 s in a process that holds a report's
    frames, and the report and `gvbench compare`'s false-alarm check call it hundreds of times."""
    p = np.asarray(p_values, float)
    adjusted = np.full(p.shape, math.nan)
    present = np.flatnonzero(~np.isnan(p))
    order = present[np.argsort(p[present], kind="stable")]
    steps = np.arange(len(order), 0, -1)
    adjusted[order] = np.minimum(np.maximum.accumulate(p[order] * steps), 1.0)
    return adjusted


def verdict(ratio: float, p_differ: float, p_alike: float, alpha: float = 0.05) -> str:
    """`alike` where equivalence is shown (adjusted TOST p < alpha), else `faster`/`slower` where a difference is
    (adjusted p < alpha), else `undecided`: the interval reaches past the margin and over 1, or too few replicates."""
    if p_alike < alpha:
        return ALIKE
    if p_differ < alpha:
        return SLOWER if ratio > 1 else FASTER
    return UNDECIDED


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


def detection_power(n: int, sigma: float, slowdown: float, alpha: float, simulations: int = 1000) -> float:
    """Share of simulated runs (log-normal epoch times, n per side) in which the U test finds the slowdown."""
    rng = np.random.default_rng(SEED)
    base = rng.normal(0.0, sigma, (simulations, n))
    new = rng.normal(math.log1p(slowdown), sigma, (simulations, n))
    return float(np.mean(mannwhitneyu(new, base, alternative="greater", axis=1).pvalue < alpha))


def processes_to_detect(medians, slowdown: float = 0.10, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Processes per side a one-sided Welch t test on log times needs to see `slowdown` at `power`, from the spread
    of these processes' medians (the noise between processes): the smallest n with
    n ≥ 2 (t_{1−α} + t_{power})² σ² ÷ log(1 + slowdown)², t at 2n − 2 degrees of freedom. None with fewer than two."""
    logs = np.log(np.asarray(medians, float))
    if len(logs) < 2:
        return None
    sigma = float(np.std(logs, ddof=1))
    n = 2
    while n < 10_000:
        df = 2 * n - 2
        if n >= 2 * ((student.ppf(1 - alpha, df) + student.ppf(power, df)) * sigma / math.log1p(slowdown)) ** 2:
            return n
        n += 1
    return None


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
