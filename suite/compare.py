"""`gvbench compare BASE NEW`: is NEW slower, or does it learn differently, beyond noise?

Timing is compared per backend × implementation × compile mode × model × variant × profile, on processes: each
cell is one process and gives one value, the median of its steady epochs (learning rates and seeds do not change
what a step computes, so a setting's cells are its replicates). A slowdown is flagged when the ratio of geometric
means exceeds `time_factor` *and* a one-sided Welch t test on the logs of the processes' values finds NEW slower at
`alpha` after Holm's adjustment over every timing of the comparison, so that a comparison of an unchanged build
with itself flags anything at most `alpha` of the time (`false_alarms` measures it on BASE's own processes, and
`power` what the processes used could find). Final losses are compared per cell (the same, with lr and seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import ttest_ind

from suite.choices import COMPLETED, MISSING
from suite.formatting import frame_text, number, percent
from suite.processes import per_process
from suite.store.derived import epoch_frame, steady_epochs
from suite.store.loading import LOSSES, latest, load
from suite.uncertainty import SEED, SPEED_MARGIN, holm, ratio_test

CONDITIONS = {"threads": "threads per cell", "parallel_cells": "cells at once", "cpu_model": "CPU"}
"""What a cell ran under that moves its times, as `gvbench compare` names it when the two runs differ."""
TIME_KEY = ["backend", "impl", "jit", "mode", "model", "variant", "profile"]
CELL_KEY = [*TIME_KEY, "lr", "seed"]
POWER_AT = 0.10
"""The slowdown `gvbench compare` states its power for."""
SIMULATIONS = 2000
SPLITS = 200
"""Random halvings of BASE's processes on which the gate's false-alarm rate is measured."""


@dataclass(frozen=True)
class Thresholds:
    time_factor: float = 1 + SPEED_MARGIN
    """The smallest slowdown worth flagging: the speed margin (`uncertainty.SPEED_MARGIN`)."""
    alpha: float = 0.05
    loss_tol: float = 0.05
    """Relative: |new - base| / |base| of a final loss."""


def _side(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    cells, epochs, _ = load(root)
    chosen, _ = latest(cells)
    identity = ["source", "run_id", "cell_id", "model", "variant", "impl", "jit", "mode"]
    return chosen, epoch_frame(chosen, epochs).merge(chosen[identity])


def process_values(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per process (cell) with steady epochs: its TIME_KEY and its median steady epoch (`median_s`)."""
    return per_process(steady_epochs(frame), TIME_KEY)


def gate(new: list[np.ndarray], base: list[np.ndarray], thresholds: Thresholds) -> tuple[np.ndarray, np.ndarray]:
    """For each timing (NEW's and BASE's process values): flagged or not, by the one-sided Welch t test on logs at
    Holm's adjustment over the family and the ratio beyond `time_factor`; and the adjusted p-values."""
    adjusted = holm([slower_p(a, b) for a, b in zip(new, base, strict=True)])
    ratios = np.array([math.exp(np.log(a).mean() - np.log(b).mean()) for a, b in zip(new, base, strict=True)])
    return (adjusted < thresholds.alpha) & (ratios > thresholds.time_factor), adjusted


def slower_p(new: np.ndarray, base: np.ndarray) -> float:
    """One-sided Welch t on log process values: NEW slower than BASE; NaN with fewer than two a side."""
    a, b = np.log(np.asarray(new, float)), np.log(np.asarray(base, float))
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return 0.0 if a.mean() > b.mean() else 1.0
    return float(ttest_ind(a, b, equal_var=False, alternative="greater").pvalue)


def power(n_new: int, n_base: int, sd: float, timings: int, thresholds: Thresholds) -> float:
    """Share of simulated comparisons (log-normal process values of spread `sd`) in which the gate flags a
    `POWER_AT` slowdown, at the strictest step of Holm's adjustment over `timings` (alpha ÷ timings)."""
    if n_new < 2 or n_base < 2 or math.isnan(sd):
        return math.nan
    rng = np.random.default_rng(SEED)
    new = rng.normal(math.log1p(POWER_AT), max(sd, 1e-9), (SIMULATIONS, n_new))
    base = rng.normal(0.0, max(sd, 1e-9), (SIMULATIONS, n_base))
    p = ttest_ind(new, base, axis=1, equal_var=False, alternative="greater").pvalue
    ratio = np.exp(new.mean(axis=1) - base.mean(axis=1))
    return float(np.mean((p < thresholds.alpha / max(timings, 1)) & (ratio > thresholds.time_factor)))


def false_alarms(base: pd.DataFrame, thresholds: Thresholds) -> tuple[float, int, int]:
    """The gate run on BASE against itself: BASE's processes of every timing with four or more split at random into
    two halves, `SPLITS` times; the share of splits in which anything is flagged (the family-wise false-alarm rate
    at BASE's own noise), the splits, and the timings split."""
    groups = [g.median_s.to_numpy(float) for _, g in base.groupby(TIME_KEY) if len(g) >= 4]
    if not groups:
        return math.nan, 0, 0
    rng = np.random.default_rng(SEED)
    flagged = 0
    for _ in range(SPLITS):
        halves = [rng.permutation(g) for g in groups]
        new, old = [h[: len(h) // 2] for h in halves], [h[len(h) // 2 :] for h in halves]
        flagged += bool(gate(new, old, thresholds)[0].any())
    return flagged / SPLITS, SPLITS, len(groups)


def timing(base: pd.DataFrame, new: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """One row per backend × model × variant × profile timed on both sides, decided on processes."""
    base_values, new_values = process_values(base), process_values(new)
    other = {key: g.median_s.to_numpy(float) for key, g in new_values.groupby(TIME_KEY)}
    pairs = [(key, g.median_s.to_numpy(float), other[key]) for key, g in base_values.groupby(TIME_KEY) if key in other]
    flagged, adjusted = gate([n for *_, n in pairs], [b for _, b, _ in pairs], thresholds) if pairs else ([], [])
    rows = []
    for (key, a, b), slow, p_holm in zip(pairs, flagged, adjusted, strict=True):
        test = ratio_test(b, a)
        centred = np.concatenate([np.log(a) - np.log(a).mean(), np.log(b) - np.log(b).mean()])
        sd = float(np.std(centred, ddof=2)) if len(centred) > 2 else math.nan  # pooled spread of one process
        rows.append(
            dict(zip(TIME_KEY, key, strict=True))
            | {
                "base_s": float(np.exp(np.log(a).mean())),
                "new_s": float(np.exp(np.log(b).mean())),
                "ratio": test.ratio,
                "ci_low": test.interval.low,
                "ci_high": test.interval.high,
                "processes_base": len(a),
                "processes_new": len(b),
                "process_sd": sd,
                "p_slower": slower_p(b, a),
                "p_slower_holm": p_holm,
                "can_tell": len(a) >= 2 and len(b) >= 2,
                "power_10pct": power(len(b), len(a), sd, len(pairs), thresholds),
                "slowdown": bool(slow),
            }
        )
    return pd.DataFrame(rows)


def _finals(frame: pd.DataFrame) -> pd.DataFrame:
    """Each ok cell's losses in its last epoch, long."""
    ok = frame[frame.status.isin(COMPLETED)]
    last = ok[ok.epoch == ok.groupby(["source", "run_id", "cell_id"]).epoch.transform("max")]
    present = [loss for loss in LOSSES if loss in last.columns]
    return last.melt(id_vars=CELL_KEY, value_vars=present, var_name="loss").dropna(subset=["value"])


def losses(base_cells: pd.DataFrame, base: pd.DataFrame, new_cells, new: pd.DataFrame, tol: float) -> pd.DataFrame:
    """One row per cell and loss: statuses and final values on both sides, and the relative change."""
    status = base_cells[[*CELL_KEY, "status"]].merge(
        new_cells[[*CELL_KEY, "status"]], on=CELL_KEY, how="outer", suffixes=("_base", "_new")
    )
    status = status.fillna({"status_base": MISSING, "status_new": MISSING})
    values = _finals(base).merge(_finals(new), on=[*CELL_KEY, "loss"], how="outer", suffixes=("_base", "_new"))
    table = status.merge(values, on=CELL_KEY, how="left")
    table["relative_change"] = (table.value_new - table.value_base) / table.value_base.abs()
    table["changed"] = table.relative_change.abs() > tol
    table["lost"] = table.status_base.isin(COMPLETED) & ~table.status_new.isin(COMPLETED)
    return table


def _values(column: pd.Series) -> set[str]:
    return {number(v, "threshold") if isinstance(v, float) else str(v) for v in column.dropna()}


def unlike(base_cells: pd.DataFrame, new_cells: pd.DataFrame) -> list[str]:
    """Each condition that moves times and differs between the runs (`threads: BASE 2, NEW 1`); one a side did not
    record (a run before `parallel_cells` existed) is not compared."""
    lines = []
    for column, what in CONDITIONS.items():
        a, b = _values(base_cells[column]), _values(new_cells[column])
        if a and b and a != b:
            lines.append(f"{what}: BASE {', '.join(sorted(a))}, NEW {', '.join(sorted(b))}")
    return lines


@dataclass(frozen=True)
class Comparison:
    """What `gvbench compare` found: the timing and loss tables, the conditions the runs differ in, and the gate's
    false-alarm rate measured on BASE (share of splits flagged, splits, timings split)."""

    times: pd.DataFrame
    losses: pd.DataFrame
    unlike: list[str]
    alarms: tuple[float, int, int]


def compare_dirs(base_dir: Path, new_dir: Path, thresholds: Thresholds) -> Comparison:
    """NEW against BASE: timings, losses, conditions, and the gate's false alarms on BASE's own processes."""
    base_cells, base = _side(base_dir)
    new_cells, new = _side(new_dir)
    return Comparison(
        timing(base, new, thresholds),
        losses(base_cells, base, new_cells, new, thresholds.loss_tol),
        unlike(base_cells, new_cells),
        false_alarms(process_values(base), thresholds),
    )


def lines(found: Comparison, thresholds: Thresholds) -> list[str]:
    """The sentences `gvbench compare` ends with: what was flagged, what the gate could find, how often it errs."""
    times, table = found.times, found.losses
    slow = int(times.slowdown.sum()) if len(times) else 0
    lost = table[table.lost].drop_duplicates(["backend", "model", "variant", "lr", "profile", "seed"])
    new_only = table[table.status_base == MISSING].drop_duplicates(["backend", "model", "lr", "profile", "seed"])
    factor, alpha, tol = (
        number(t, "threshold") for t in (thresholds.time_factor, thresholds.alpha, thresholds.loss_tol)
    )
    at_most = percent(thresholds.alpha, "threshold")
    said = [
        f"gvbench compare: {len(times)} timings, {slow} significant slowdowns beyond {factor}x "
        f"(one-sided Welch t on the processes' log times, Holm over the {len(times)} timings, alpha "
        f"{alpha}); {int(table.changed.sum())} final losses changed beyond {tol}; "
        f"{len(lost)} cells ok in BASE but not in NEW; {len(new_only)} cells only in NEW"
    ]
    rate, splits, split = found.alarms
    if splits:
        said.append(
            f"gvbench compare: false alarms: an unchanged build is flagged at most {at_most} of the time "
            f"by design; measured on BASE against itself ({split} timings with 4+ processes, split in random halves "
            f"{splits} times), {percent(rate)} of comparisons flagged anything"
        )
    else:
        said.append(
            "gvbench compare: false alarms: at most "
            f"{at_most} by design; not measured here (no timing of BASE has 4+ processes to split)"
        )
    powers = times.power_10pct.dropna() if len(times) else pd.Series(dtype=float)
    if len(powers):
        said.append(
            f"gvbench compare: power: at these processes and their spread, a {percent(POWER_AT, 'threshold')} slowdown "
            f"of one timing is flagged {percent(powers.min())}-{percent(powers.max())} of the time (median "
            f"{percent(powers.median())}; column "
            "power_10pct); more processes per side (--seeds) raise it"
        )
    blind = int((~times.can_tell).sum()) if len(times) else 0
    if blind:
        said.append(
            f"gvbench compare: {blind} timings have one process on a side and cannot be decided: a process is the "
            "unit, and its epochs are not independent; run two or more --seeds on each side"
        )
    if found.unlike:
        said.append(
            f"gvbench compare: the runs' cells ran under different conditions ({'; '.join(found.unlike)}), so a time "
            "ratio measures those too, not only the code"
        )
    return said


def text(found: Comparison, thresholds: Thresholds) -> str:
    """What `gvbench compare` prints: the timing table, the flagged losses, then the sentences (`lines`)."""
    parts = []
    if len(found.times):
        parts.append(frame_text(found.times))
    losses = found.losses
    flagged = losses[losses.changed | losses.lost | (losses.status_base == MISSING)]
    columns = ["backend", "model", "lr", "loss", "status_base", "status_new", "value_base", "value_new"]
    if len(flagged):
        parts.append(frame_text(flagged[[*columns, "relative_change"]]))
    return "\n".join([*parts, *lines(found, thresholds)])


def failed(found: Comparison) -> bool:
    """Whether the comparison fails the gate: a significant slowdown, a changed final loss or a lost cell."""
    slow = bool(found.times.slowdown.any()) if len(found.times) else False
    return slow or bool(found.losses.changed.any()) or bool(found.losses.lost.any())
