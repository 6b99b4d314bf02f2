"""`gvbench history DIR...`: the step time of every model × backend across Keras and backend versions, and the
releases where it changed, found by a maintained change-point library (ruptures) and confirmed against the noise.

Each version set (Keras and the backend's version) is one point of a series, over all its runs (`gvbench versions`
runs each set in several rounds). The round is the independent replicate: the processes of one round ran back to
back in one state of the machine, and rounds of one set lie up to 1.5× apart, so a round's value is the median of
its processes' steady step times and a point's value the geometric mean of its rounds' values (`step_s`, with the t
interval of their mean log). ruptures' PELT proposes change points on the log point values, with its penalty on
the scale of one point's noise; a proposal stands only where the rounds after it differ from the rounds before it
beyond the noise between rounds: Welch's t interval of the ratio, at a Bonferroni level for the places PELT chose
among, lies wholly beyond the threshold (above it for a regression, below its inverse for an improvement). Too few
rounds on a side give no interval, and no change. What a sweep could have missed (`sensitivity`) is the smallest
step this rule finds with 80% probability, simulated at the sweep's measured noise between rounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import t as student

from suite.choices import COMPLETED, KERAS2, NOT_RUN
from suite.processes import modes
from suite.store.loading import load
from suite.store.version_steps import VERSIONS_CSV, read_steps, steps_frame
from suite.uncertainty import CONFIDENCE, SEED, Interval, geometric_interval, log_t_interval

SERIES = ["profile", "backend", "impl", "jit", "mode", "model", "variant"]
"""What one line of the history follows across versions."""
PENALTY = 3.0
"""PELT's penalty per change point, in units of one point's noise variance times log(points)."""
DETECTION_POWER = 0.8
STEPS_TRIED = (1.02, 1.05, 1.1, 1.15, 1.2, 1.3, 1.5, 1.75, 2.0, 3.0, 5.0)
"""The step sizes the detection limit is simulated at, smallest first."""
SIMULATIONS = 200


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
    rounds: tuple[int, int]


def version_key(version: str) -> tuple:
    """A version as a sortable tuple: `3.15.1` → (3, 15, 1); text parts sort after numbers."""
    parts = []
    for piece in str(version).replace("+", ".").replace("-", ".").split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return tuple(parts)


def points(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per series × version set: when its runs ran, its rounds' values (each the median of the round's
    processes' steady step times), their geometric mean with the t interval over rounds, how far its runs lie apart
    (`run_spread`: largest ÷ smallest, 1 for one run), and its processes' modes where they fall into two."""
    ok = cells[cells.status.isin(COMPLETED)].dropna(subset=["steady_step_median_s"])
    ok = ok.assign(version_set=version_sets(ok))
    rows = []
    for key, group in ok.groupby([*SERIES, "version_set"], sort=False):
        by_run = group.groupby("run_id").steady_step_median_s.median()
        centre, found = geometric_interval(by_run.to_numpy(float))
        mixture = modes(group.steady_step_median_s.to_numpy(float))
        rows.append(
            dict(zip([*SERIES, "version_set"], key, strict=True))
            | {
                "runs": len(by_run),
                "run_ids": ";".join(by_run.index),
                "started_at": group.started_at.min(),
                "keras_version": group.keras_version.iloc[0],
                "backend_version": group.backend_version.iloc[0],
                "git_commit": group.git_commit.iloc[0],
                "step_s": centre,
                "step_ci_low": found.low,
                "step_ci_high": found.high,
                "step_ci_level": found.level,
                "runs_s": by_run.to_numpy(float),
                "processes": len(group),
                "run_spread": float(by_run.max() / by_run.min()),
                "modes": mixture.describe() if mixture else "",
                "first_epoch_s": float(group.first_epoch_s.median()),
                "train_memory_mb": float((group.train_peak_rss_mb - group.rss_before_train_mb).median()),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    order = frame.apply(lambda r: (version_key(r.keras_version), version_key(r.backend_version), r.started_at), axis=1)
    return frame.assign(_order=order).sort_values([*SERIES, "_order"]).drop(columns="_order").reset_index(drop=True)


def version_sets(cells: pd.DataFrame) -> pd.Series:
    """Each cell's version set as the history names it: `keras 3.15.1, tensorflow 2.21.0` (`tf-keras 2.21.0, ...` for
    a Keras 2 cell)."""
    backend = cells.backend.astype(str) + " " + cells.backend_version.astype(str)
    keras = np.where(cells.impl == KERAS2, "tf-keras ", "keras ")
    return keras + cells.keras_version.astype(str) + ", " + backend


def not_run(cells: pd.DataFrame, folders: list[Path]) -> pd.DataFrame:
    """What did not give a step time: version sets that did not install or import (versions.csv), and cells that
    ended otherwise than ok, with their first error line, per series × version set."""
    rows = []
    for folder in folders:
        for step in read_steps(folder / VERSIONS_CSV):
            if step.status in NOT_RUN:
                rows.append({"version_set": step.set, "what": str(step.status), "cells": 0, "reason": step.reason})
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
    runs = steps_frame([folder / VERSIONS_CSV for folder in folders]).dropna(subset=["position"])
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
    keras = "tf-keras" if series.impl.iloc[0] == KERAS2 else "Keras"
    found = []
    for version, group in series.groupby("backend_version", sort=False):
        if group.keras_version.nunique() > 1 or series.keras_version.nunique() == 1:
            ordered = group.sort_values("keras_version", key=lambda v: v.map(version_key), kind="stable")
            found.append((f"{keras} versions at {backend} {version}", ordered))
    for version, group in series.groupby("keras_version", sort=False):
        if group.backend_version.nunique() > 1:
            ordered = group.sort_values("backend_version", key=lambda v: v.map(version_key), kind="stable")
            found.append((f"{backend} versions at {keras} {version}", ordered))
    return found


def round_noise(runs: list[np.ndarray]) -> float:
    """The spread of one round's log value: the pooled standard deviation of the points' log round values (NaN
    where no point has two rounds)."""
    centred = [np.log(r) - np.log(r).mean() for r in runs if len(r) > 1]
    if not centred:
        return math.nan
    return float(math.sqrt(sum((c**2).sum() for c in centred) / sum(len(c) - 1 for c in centred)))


def pooled_interval(after: np.ndarray, before: np.ndarray, runs: list[np.ndarray], confidence: float) -> Interval:
    """The t interval of after ÷ before (rounds' log values) with the spread between rounds pooled over every point
    of the sweep: the machine's noise between rounds is one, and two rounds alone estimate it too poorly (Welch's t
    on 2 rounds has about one degree of freedom, and two rounds that agree by chance give a narrow interval)."""
    noise = round_noise(runs)
    freedom = sum(len(r) - 1 for r in runs)
    if math.isnan(noise) or freedom < 1:
        return log_t_interval(after, before, confidence=confidence)
    diff = np.log(after).mean() - np.log(before).mean()
    half = student.ppf(0.5 + confidence / 2, freedom) * noise * math.sqrt(1 / len(after) + 1 / len(before))
    return Interval(math.exp(diff - half), math.exp(diff + half), confidence, "t on logs, rounds' spread pooled")


def confirmed_steps(runs: list[np.ndarray], threshold: float) -> list[tuple[int, float, object, tuple[int, int]]]:
    """The rule on one sweep's points (each its rounds' values, in version order): PELT's proposals on the log point
    values, penalised at one point's noise, each kept where Welch's t interval over the rounds after ÷ before (at
    the Bonferroni level for the places PELT chose among) lies wholly beyond `threshold`, either way. Each kept
    step: where the new segment starts, its ratio of geometric means, its interval, and the rounds before and after."""
    logs = np.array([np.log(r).mean() for r in runs])
    noise = round_noise(runs)
    per_point = [noise / math.sqrt(len(r)) for r in runs] if not math.isnan(noise) else []
    point_noise = float(np.median(per_point)) if per_point else (float(np.std(logs, ddof=1)) if len(logs) > 2 else 0.05)
    bounds = [0, *change_points(logs, point_noise), len(runs)]
    found = []
    for previous, start, following in zip(bounds, bounds[1:-1], bounds[2:], strict=False):
        # the segments either side of this change only: PELT's other changes bound them
        a, b = np.concatenate(runs[start:following]), np.concatenate(runs[previous:start])
        ratio = float(np.exp(np.log(a).mean() - np.log(b).mean()))
        interval = pooled_interval(a, b, runs, 1 - (1 - CONFIDENCE) / max(len(runs) - 1, 1))
        if interval.found and (interval.low > threshold or interval.high < 1 / threshold):
            found.append((start, ratio, interval, (len(b), len(a))))
    return found


def series_changes(series: pd.DataFrame, threshold: float, sweep: str = "") -> list[Change]:
    """The confirmed steps of one sweep (rows in version order), on rounds (`confirmed_steps`)."""
    runs = list(series.runs_s)
    found = []
    for start, ratio, interval, counts in confirmed_steps(runs, threshold):
        found.append(
            Change(
                tuple(series.iloc[0][SERIES]),
                sweep,
                series.version_set.iloc[start - 1],
                series.version_set.iloc[start],
                ratio,
                interval.low,
                interval.high,
                interval.level,
                counts,
            )
        )
    return found


def detection_limit(runs: list[np.ndarray], threshold: float) -> float:
    """The smallest step (in `STEPS_TRIED`) the rule finds at least `DETECTION_POWER` of the time, in sweeps
    simulated like this one (as many points and rounds, log-normal rounds at its measured noise between rounds) with
    the step after the middle point, found at that place or next to it; NaN where the noise is unmeasured, inf where
    no step tried is found so often."""
    noise = round_noise(runs)
    if math.isnan(noise) or len(runs) < 2:
        return math.nan
    rng = np.random.default_rng(SEED)
    middle = len(runs) // 2
    for step in STEPS_TRIED:
        hits = 0
        for _ in range(SIMULATIONS):
            simulated = [
                np.exp(rng.normal(math.log(step) if i >= middle else 0.0, max(noise, 1e-9), len(r)))
                for i, r in enumerate(runs)
            ]
            hits += any(abs(start - middle) <= 1 for start, *_ in confirmed_steps(simulated, threshold))
        if hits >= DETECTION_POWER * SIMULATIONS:
            return step
    return math.inf


def sensitivity(found: pd.DataFrame, threshold: float = 1.10) -> pd.DataFrame:
    """Per sweep, what it could have found: the detection limit of its rule at its noise between rounds."""
    rows = []
    for _, series in found.groupby(SERIES, sort=False) if len(found) else []:
        for sweep, points_of_sweep in sweeps(series):
            runs = list(points_of_sweep.runs_s)
            if len(runs) < 2:
                continue
            key = dict(zip(SERIES, series.iloc[0][SERIES], strict=True))
            rows.append(
                key
                | {
                    "sweep": sweep,
                    "versions": len(runs),
                    "rounds": ";".join(str(len(r)) for r in runs),
                    "round_sd": round_noise(runs),
                    "detects_from": detection_limit(runs, threshold),
                    "power": DETECTION_POWER,
                }
            )
    columns = [*SERIES, "sweep", "versions", "rounds", "round_sd", "detects_from", "power"]
    return pd.DataFrame(rows, columns=columns)


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
                "rounds_before": c.rounds[0],
                "rounds_after": c.rounds[1],
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
            "rounds_before",
            "rounds_after",
            "kind",
        ],
    )
    return found, table
