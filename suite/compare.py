"""`gvbench compare BASE NEW`: is NEW slower, or does it learn differently, beyond noise?

Timing is compared per backend × implementation × compile mode × model × variant × profile,
pooling the steady-state epochs of all learning rates and seeds (a step costs the same at any
learning rate), with a one-sided Mann–Whitney U test: a slowdown is flagged when the ratio of
medians exceeds `time_factor` *and* NEW's epochs are significantly slower (p < alpha), as asv
does. Final losses are compared per cell (the same, with lr and seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from scipy.stats import mannwhitneyu

from suite.choices import COMPLETED, MISSING
from suite.report.loading import LOSSES, latest, load
from suite.report.tables import epoch_frame, steady_epochs
from suite.uncertainty import epochs_to_detect, processes_to_detect

CONDITIONS = {"threads": "threads per cell", "parallel_cells": "cells at once", "cpu_model": "CPU"}
"""What a cell ran under that moves its times, as `gvbench compare` names it when the two runs differ."""
TIME_KEY = ["backend", "impl", "jit", "mode", "model", "variant", "profile"]
CELL_KEY = [*TIME_KEY, "lr", "seed"]


@dataclass(frozen=True)
class Thresholds:
    time_factor: float = 1.10
    alpha: float = 0.05
    loss_tol: float = 0.05
    """Relative: |new - base| / |base| of a final loss."""


def _side(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    cells, epochs, _ = load(root)
    chosen, _ = latest(cells)
    identity = ["source", "run_id", "cell_id", "model", "variant", "impl", "jit", "mode"]
    return chosen, epoch_frame(chosen, epochs).merge(chosen[identity])


def timing(base: pd.DataFrame, new: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """One row per backend × model × variant × profile timed on both sides."""
    rows = []
    steady_base = steady_epochs(base)
    steady_new = steady_epochs(new)
    for key, group in steady_base.groupby(TIME_KEY):
        other = steady_new.set_index(TIME_KEY).sort_index()
        if key not in other.index:
            continue
        a, b = group.epoch_time_s.to_numpy(), other.loc[[key]].epoch_time_s.to_numpy()
        per_process = group.groupby(["source", "run_id", "cell_id"]).epoch_time_s.median().to_numpy()
        ratio = pd.Series(b).median() / pd.Series(a).median()
        p = float(mannwhitneyu(b, a, alternative="greater").pvalue)
        slower = bool(ratio > thresholds.time_factor and p < thresholds.alpha)
        rows.append(
            dict(zip(TIME_KEY, key, strict=True))
            | {
                "base_median_s": pd.Series(a).median(),
                "new_median_s": pd.Series(b).median(),
                "ratio": ratio,
                "epochs_base": len(a),
                "epochs_new": len(b),
                "p_slower": p,
                "can_tell": 1 / math.comb(len(a) + len(b), len(a)) < thresholds.alpha,
                "epochs_needed": epochs_to_detect(a, thresholds.time_factor - 1, thresholds.alpha),
                "processes_base": len(per_process),
                "processes_needed": processes_to_detect(per_process, thresholds.time_factor - 1, thresholds.alpha),
                "slowdown": slower,
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
    return {f"{v:g}" if isinstance(v, float) else str(v) for v in column.dropna()}


def unlike(base_cells: pd.DataFrame, new_cells: pd.DataFrame) -> list[str]:
    """Each condition that moves times and differs between the runs (`threads: BASE 2, NEW 1`); one a side did not
    record (a run before `parallel_cells` existed) is not compared."""
    lines = []
    for column, what in CONDITIONS.items():
        a, b = _values(base_cells[column]), _values(new_cells[column])
        if a and b and a != b:
            lines.append(f"{what}: BASE {', '.join(sorted(a))}, NEW {', '.join(sorted(b))}")
    return lines


def compare_dirs(base_dir: Path, new_dir: Path, thresholds: Thresholds) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The timing and loss tables of NEW against BASE, and the conditions the two runs differ in."""
    base_cells, base = _side(base_dir)
    new_cells, new = _side(new_dir)
    times = timing(base, new, thresholds)
    return times, losses(base_cells, base, new_cells, new, thresholds.loss_tol), unlike(base_cells, new_cells)
