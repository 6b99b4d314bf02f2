"""The process as the unit of a speed answer: one summary per process, whether it reached a steady state, whether a
setting's processes fall into modes, the variance between and within processes, and the design that precision asks.

A cell is one process. Its steady epochs (2..N) share the process's start, memory layout, thread placement and
library choices, so they move together and are not independent draws of a backend's speed; the processes are.
Every speed interval and test takes one value per process: the median of its steady epochs (`per_process`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from scipy.stats import t as student

from suite.uncertainty import CONFIDENCE, SPEED_MARGIN

PROCESS = ["source", "run_id", "cell_id"]
"""What identifies one process (one cell) across folders."""
FLAT, WARM_UP, SLOW_DOWN, UNSTEADY, TOO_FEW = "flat", "warm-up", "slow-down", "no steady state", "too few epochs"
STATES = (FLAT, WARM_UP, SLOW_DOWN, UNSTEADY, TOO_FEW)
CLASSIFY_FROM = 6
"""Steady epochs a process needs before its epochs are classified (fewer cannot hold two segments of three)."""
CHANGE_PENALTY = 8.0
"""PELT's penalty per change, in units of the process's noise variance × log(epochs): calibrated by simulation so
that about 4% of flat processes of 9 log-normal epochs, and under 1% of 39, are called changed (a 30% slower first
three epochs is then found nearly always at 3% noise, a third of the time at 10%)."""
MODES_FROM = 6
"""Processes a setting needs before its medians are tested for two modes."""
MODE_FALSE_RATE = 0.01
"""How often a one-mode setting is read as two: the split's separation must pass this quantile of its null."""


def per_process(steady: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per process (cell) of the steady epochs given (wide epoch rows, `derived.steady_epochs`): `keys`, its
    median epoch seconds (`median_s`), step seconds, steady epochs, the spread of its log epoch times
    (`within_sd`), and its steady-state class (`state`)."""
    rows = []
    for key, group in steady.sort_values("epoch").groupby([*keys, *PROCESS], sort=False):
        times = group.epoch_time_s.to_numpy(float)
        rows.append(
            dict(zip([*keys, *PROCESS], key, strict=True))
            | {
                "median_s": float(np.median(times)),
                "step_median_s": float(np.median(times / group.steps.to_numpy(float))),
                "samples_per_s": float(group.samples_per_s.median()),
                "epochs": len(times),
                "within_sd": float(np.std(np.log(times), ddof=1)) if len(times) > 1 else math.nan,
                "state": steady_state(times),
            }
        )
    measured = ["median_s", "step_median_s", "samples_per_s", "epochs", "within_sd", "state"]
    return pd.DataFrame(rows, columns=[*keys, *PROCESS, *measured])


def steady_state(times) -> str:
    """How a process's steady epochs behave, from ruptures' PELT on their logs: `flat` (no change), `warm-up` (it
    got faster and stayed), `slow-down` (slower and stayed), `no steady state` (up and down), or `too few epochs`.
    A change smaller than `SPEED_MARGIN` is not one."""
    import ruptures

    x = np.log(np.asarray(times, float))
    if len(x) < CLASSIFY_FROM:
        return TOO_FEW
    d = np.diff(x)
    sigma = max(1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2), 0.005)  # robust to the steps
    pelt = ruptures.Pelt(model="l2", min_size=3, jump=1).fit(x.reshape(-1, 1))
    ends = pelt.predict(pen=CHANGE_PENALTY * sigma**2 * math.log(len(x)))
    levels = [float(np.median(x[start:end])) for start, end in zip([0, *ends[:-1]], ends, strict=True)]
    steps = [b - a for a, b in zip(levels, levels[1:], strict=False) if abs(b - a) >= math.log1p(SPEED_MARGIN)]
    if not steps:
        return FLAT
    if all(s < 0 for s in steps):
        return WARM_UP
    if all(s > 0 for s in steps):
        return SLOW_DOWN
    return UNSTEADY


@dataclass(frozen=True)
class Modes:
    """Two modes among a setting's processes: each mode's share of processes and its typical time."""

    shares: tuple[float, float]
    times: tuple[float, float]
    counts: tuple[int, int]

    def describe(self, unit: str = "s") -> str:
        """`2 modes: 9 processes (53%) near 0.62 s, 8 (47%) near 0.95 s`."""
        (a, b), (ta, tb) = self.counts, self.times
        return (
            f"2 modes: {a} processes ({self.shares[0]:.0%}) near {ta:.3g} {unit}, "
            f"{b} ({self.shares[1]:.0%}) near {tb:.3g} {unit}"
        )


def _separation(logs: np.ndarray) -> tuple[int, float]:
    """The best split of sorted values into two groups (ruptures' exact dynamic programming on the l2 cost), and how
    far apart the groups lie in units of their pooled spread."""
    import ruptures

    y = np.sort(logs)
    split = ruptures.Dynp(model="l2", min_size=2, jump=1).fit(y.reshape(-1, 1)).predict(n_bkps=1)[0]
    low, high = y[:split], y[split:]
    pooled = math.sqrt(((len(low) - 1) * low.var(ddof=1) + (len(high) - 1) * high.var(ddof=1)) / (len(y) - 2))
    return split, float((high.mean() - low.mean()) / max(pooled, 1e-12))


@cache
def mode_threshold(n: int) -> float:
    """The separation the best split of `n` values from one normal mode passes with probability `MODE_FALSE_RATE`
    (simulated once, seeded)."""
    rng = np.random.default_rng(n)
    found = [_separation(rng.normal(0.0, 1.0, n))[1] for _ in range(2000)]
    return float(np.quantile(found, 1 - MODE_FALSE_RATE))


def modes(values) -> Modes | None:
    """Two modes among process values, or None: the best split's separation passes `mode_threshold` and the two
    modes' typical times lie at least `SPEED_MARGIN` apart. A median of such processes lies between the modes and
    describes no process."""
    logs = np.log(np.asarray(values, float))
    if len(logs) < MODES_FROM or np.ptp(logs) == 0:
        return None
    split, separation = _separation(logs)
    y = np.sort(logs)
    low, high = y[:split], y[split:]
    if separation < mode_threshold(len(y)) or high.mean() - low.mean() < math.log1p(SPEED_MARGIN):
        return None
    n = len(y)
    return Modes(
        (len(low) / n, len(high) / n), (math.exp(np.median(low)), math.exp(np.median(high))), (len(low), len(high))
    )


@dataclass(frozen=True)
class Components:
    """Variance of log epoch time between processes and within a process, from a one-way random-effects ANOVA."""

    between_sd: float
    within_sd: float
    processes: int
    epochs_per_process: float

    def process_sd(self, epochs: float | None = None) -> float:
        """The spread of one process's summary (the mean log of `epochs` epochs; default: as measured)."""
        r = epochs or self.epochs_per_process
        return math.sqrt(self.between_sd**2 + self.within_sd**2 / r)


def components(epoch_times: list[np.ndarray]) -> Components | None:
    """Between and within standard deviations of log epoch time from each process's steady epochs (moment
    estimates: within from the pooled process variances, between from the variance of process means less its
    within part, floored at 0). None with fewer than two processes of two epochs."""
    logs = [np.log(np.asarray(t, float)) for t in epoch_times if len(t) >= 2]
    if len(logs) < 2:
        return None
    sizes = np.array([len(x) for x in logs])
    within = float(sum(((x - x.mean()) ** 2).sum() for x in logs) / (sizes - 1).sum())
    r = float(len(sizes) / (1 / sizes).sum())  # the harmonic mean: what a process mean's within part divides by
    between = max(float(np.var([x.mean() for x in logs], ddof=1)) - within / r, 0.0)
    return Components(math.sqrt(between), math.sqrt(within), len(logs), r)


def processes_for(process_sd: float, reference_sd: float, half_width: float = SPEED_MARGIN) -> int | None:
    """Processes per side (equal on both) for a ratio's 95% Welch interval to reach ±`half_width`: the smallest n
    with t · sqrt((s_a² + s_b²) / n) ≤ log(1 + half_width), t at Welch–Satterthwaite's degrees of freedom."""
    target = math.log1p(half_width)
    for n in range(2, 2001):
        variance = (process_sd**2 + reference_sd**2) / n
        df = variance**2 / ((process_sd**2 / n) ** 2 / (n - 1) + (reference_sd**2 / n) ** 2 / (n - 1) or 1e-300)
        if student.ppf(0.5 + CONFIDENCE / 2, max(df, 1)) * math.sqrt(variance) <= target:
            return n
    return None


def best_epochs(found: Components, process_cost_s: float, epoch_s: float) -> float:
    """Steady epochs per process that buy the most precision per second (Kalibera and Jones 2013, two levels):
    sqrt(process cost × within variance ÷ (epoch cost × between variance)); inf when processes do not differ."""
    if found.between_sd == 0:
        return math.inf
    return math.sqrt(process_cost_s * found.within_sd**2 / (epoch_s * found.between_sd**2))
