"""`gvbench history DIR...`: the step time of every model × backend across Keras and backend versions, and the
releases where it changed, found by a maintained change-point library (ruptures) and confirmed against the noise.

Each version set (Keras and the backend's version) is one point of a series, over all its runs (`gvbench versions`
runs each set in several rounds); its value is the median steady step time of its cells, each a process of its
own, and `run_spread` says how far its runs' medians lie apart: the machine's drift and noise between rounds.
ruptures' PELT proposes change points on the log of the points; a proposal stands only where the cells after it
differ from the cells before it beyond the noise between processes: Welch's t interval of the ratio, at a
Bonferroni level for the places PELT chose among, lies wholly beyond the threshold (above it for a regression,
below its inverse for an improvement). Too few processes on a side give no interval, and no change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from suite.choices import COMPLETED
from suite.report.loading import load
from suite.uncertainty import CONFIDENCE, log_t_interval, median_interval
from suite.versions import VERSIONS_CSV

SERIES = ["profile", "backend", "impl", "jit", "mode", "model", "variant"]
"""What one line of the history follows across versions."""
PENALTY = 3.0
"""PELT's penalty per change point, in units of the series' noise variance times log(points)."""


@dataclass(frozen=True)
class Change:
    """A step in a series: between two version sets, the ratio after ÷ before with its interval."""

    series: tuple
    sweep: str
    before: str
    after: str
    ratio: float
    low: float
    high: float
    level: float
    processes: tuple[int, int]


def version_key(version: str) -> tuple:
    """A version as a sortable tuple: `3.15.1` → (3, 15, 1); text parts sort after numbers."""
    parts = []
    for piece in str(version).replace("+", ".").replace("-", ".").split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return tuple(parts)


def points(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per series × version set: when its runs ran, its cells' steady step times (one per process, over
    all its runs), and how far its runs' medians lie apart (`run_spread`: largest ÷ smallest, 1 for one run)."""
    ok = cells[cells.status.isin(COMPLETED)].dropna(subset=["steady_step_median_s"])
    ok = ok.assign(version_set=version_sets(ok))
    rows = []
    for key, group in ok.groupby([*SERIES, "version_set"], sort=False):
        by_run = group.groupby("run_id").steady_step_median_s.median()
        rows.append(
            dict(zip([*SERIES, "version_set"], key, strict=True))
            | {
                "runs": len(by_run),
                "run_ids": ";".join(by_run.index),
                "started_at": group.started_at.min(),
                "keras_version": group.keras_version.iloc[0],
                "backend_version": group.backend_version.iloc[0],
                "git_commit": group.git_commit.iloc[0],
                "step_s": float(group.steady_step_median_s.median()),
                "steps_s": group.steady_step_median_s.to_numpy(float),
                **step_interval(group.steady_step_median_s),
                "run_spread": float(by_run.max() / by_run.min()),
                "first_epoch_s": float(group.first_epoch_s.median()),
                "train_memory_mb": float((group.train_peak_rss_mb - group.rss_before_train_mb).median()),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    order = frame.apply(lambda r: (version_key(r.keras_version), version_key(r.backend_version), r.started_at), axis=1)
    return frame.assign(_order=order).sort_values([*SERIES, "_order"]).drop(columns="_order").reset_index(drop=True)


def step_interval(steps: pd.Series) -> dict:
    """The order-statistic interval of a point's median step time over its processes, at its real level."""
    found = median_interval(steps.to_numpy(float))
    return {"step_ci_low": found.low, "step_ci_high": found.high, "step_ci_level": found.level}


def version_sets(cells: pd.DataFrame) -> pd.Series:
    """Each cell's version set as the history names it: `keras 3.15.1, tensorflow 2.21.0`."""
    backend = cells.backend.astype(str) + " " + cells.backend_version.astype(str)
    return "keras " + cells.keras_version.astype(str) + ", " + backend


def not_run(cells: pd.DataFrame, folders: list[Path]) -> pd.DataFrame:
    """What did not give a step time: version sets that did not install or import (versions.csv), and cells that
    ended otherwise than ok, with their first error line, per series × version set."""
    rows = []
    for folder in folders:
        path = folder / VERSIONS_CSV
        if path.exists():
            steps = pd.read_csv(path, dtype=str)
            for step in steps[steps.status.isin(["not installed", "does not import"])].itertuples():
                rows.append({"version_set": step.set, "what": step.status, "cells": 0, "reason": step.reason})
    failed = cells[~cells.status.isin(COMPLETED)]
    failed = failed.assign(version_set=version_sets(failed))
    for key, group in failed.groupby(["backend", "model", "version_set", "status"], sort=False):
        backend, model, version_set, status = key
        error = next((str(e).splitlines()[0] for e in group.error if isinstance(e, str) and e.strip()), None)
        what = f"{model} on {backend}: {status}"
        rows.append({"version_set": version_set, "what": what, "cells": len(group), "reason": error})
    return pd.DataFrame(rows, columns=["version_set", "what", "cells", "reason"])


def run_order(folders: list[Path], cells: pd.DataFrame) -> list[str]:
    """The version sets in the order their runs were made (versions.csv's rounds, else the cells' start times)."""
    steps = [pd.read_csv(folder / VERSIONS_CSV, dtype=str) for folder in folders if (folder / VERSIONS_CSV).exists()]
    runs = pd.concat(steps, ignore_index=True).dropna(subset=["position"]) if steps else pd.DataFrame()
    if len(runs):
        return list(runs.sort_values("at", kind="stable").set)  # several `gvbench versions` may share a folder
    if cells.empty:
        return []
    firsts = (
        cells.assign(version_set=version_sets(cells))
        .groupby("run_id")
        .agg(version_set=("version_set", "first"), started_at=("started_at", "min"))
    )
    return list(firsts.sort_values("started_at").version_set)


def change_points(values: np.ndarray, noise: float) -> list[int]:
    """Indexes where a new segment starts, by ruptures' PELT on `values` with a penalty scaled to `noise` (the
    standard deviation of one point)."""
    import ruptures

    if len(values) < 2:
        return []
    sigma2 = max(noise, 1e-6) ** 2
    found = ruptures.Pelt(model="l2", min_size=1, jump=1).fit(values.reshape(-1, 1))
    return [i for i in found.predict(pen=PENALTY * sigma2 * math.log(len(values) + 1)) if i < len(values)]


def sweeps(series: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """A series' points as sweeps along one axis at a time: Keras versions at one backend version, and backend
    versions at one Keras version, each in version order. A step between a point of one Keras and backend and a
    point of another Keras and another backend would say nothing of which release made it."""
    backend = series.backend.iloc[0]
    found = []
    for version, group in series.groupby("backend_version", sort=False):
        if group.keras_version.nunique() > 1 or series.keras_version.nunique() == 1:
            ordered = group.sort_values("keras_version", key=lambda v: v.map(version_key), kind="stable")
            found.append((f"Keras versions at {backend} {version}", ordered))
    for version, group in series.groupby("keras_version", sort=False):
        if group.backend_version.nunique() > 1:
            ordered = group.sort_values("backend_version", key=lambda v: v.map(version_key), kind="stable")
            found.append((f"{backend} versions at Keras {version}", ordered))
    return found


def series_changes(series: pd.DataFrame, threshold: float, sweep: str = "") -> list[Change]:
    """The confirmed steps of one sweep (rows in version order): PELT's proposals on the log point values whose
    cells after ÷ before have a Welch t interval wholly beyond `threshold`, either way."""
    logs = np.log(series.step_s.to_numpy(float))
    within = [np.std(np.log(s), ddof=1) for s in series.steps_s if len(s) > 1]
    noise = float(np.median(within)) if within else float(np.std(logs, ddof=1)) if len(logs) > 2 else 0.05
    found = []
    bounds = [0, *change_points(logs, noise), len(series)]
    for previous, start, following in zip(bounds, bounds[1:-1], bounds[2:], strict=False):
        # the segments either side of this change only: PELT's other changes bound them
        before, after = series.iloc[previous:start], series.iloc[start:following]
        a, b = np.concatenate(list(after.steps_s)), np.concatenate(list(before.steps_s))
        ratio = float(np.exp(np.log(a).mean() - np.log(b).mean()))
        # PELT put the split where the two sides differ most, out of len(series) - 1 places: Bonferroni's level.
        interval = log_t_interval(a, b, confidence=1 - (1 - CONFIDENCE) / max(len(series) - 1, 1))
        if not interval.found or not (interval.low > threshold or interval.high < 1 / threshold):
            continue
        key = tuple(series.iloc[0][SERIES])
        found.append(
            Change(
                key,
                sweep,
                before.version_set.iloc[-1],
                after.version_set.iloc[0],
                ratio,
                interval.low,
                interval.high,
                interval.level,
                (len(b), len(a)),
            )
        )
    return found


def sensitivity(found: pd.DataFrame) -> pd.DataFrame:
    """Per sweep, what it could have seen: between each two neighbouring versions, Welch's t interval of the step
    time ratio at the sweep's Bonferroni level; `undetected_up_to` is the farthest end (or its inverse) of them, the
    largest step between neighbours that these processes could have left unseen."""
    rows = []
    for _, series in found.groupby(SERIES, sort=False) if len(found) else []:
        for sweep, points_of_sweep in sweeps(series):
            steps = list(points_of_sweep.steps_s)
            if len(steps) < 2:
                continue
            level = 1 - (1 - CONFIDENCE) / (len(steps) - 1)
            ends = []
            for before, after in zip(steps, steps[1:], strict=False):
                found_interval = log_t_interval(after, before, confidence=level)
                if found_interval.found:
                    ends += [found_interval.high, 1 / found_interval.low]
            key = dict(zip(SERIES, series.iloc[0][SERIES], strict=True))
            rows.append(
                key
                | {
                    "sweep": sweep,
                    "versions": len(steps),
                    "processes": ";".join(str(len(s)) for s in steps),
                    "undetected_up_to": max(ends) if ends else math.nan,
                    "level": level,
                }
            )
    return pd.DataFrame(rows, columns=[*SERIES, "sweep", "versions", "processes", "undetected_up_to", "level"])


def read_cells(folders: list[Path]) -> pd.DataFrame:
    return pd.concat([load(folder)[0] for folder in folders], ignore_index=True)


def history(
    folders: list[Path], threshold: float = 1.10, cells: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every series' points (one per version set) in version order, and the changes found (regressions: ratio > 1).
    `cells`: the folders' cells when the caller has read them already."""
    found = points(read_cells(folders) if cells is None else cells)
    changes = []
    for _, series in found.groupby(SERIES, sort=False) if len(found) else []:
        for sweep, points_of_sweep in sweeps(series):
            changes += series_changes(points_of_sweep.reset_index(drop=True), threshold, sweep)
    table = pd.DataFrame(
        [
            dict(zip(SERIES, c.series, strict=True))
            | {
                "sweep": c.sweep,
                "before": c.before,
                "after": c.after,
                "ratio": c.ratio,
                "ci_low": c.low,
                "ci_high": c.high,
                "ci_level": c.level,
                "processes_before": c.processes[0],
                "processes_after": c.processes[1],
                "kind": "regression" if c.ratio > 1 else "improvement",
            }
            for c in changes
        ],
        columns=[
            *SERIES,
            "sweep",
            "before",
            "after",
            "ratio",
            "ci_low",
            "ci_high",
            "ci_level",
            "processes_before",
            "processes_after",
            "kind",
        ],
    )
    return found, table
