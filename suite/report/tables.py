"""The report's tables: per model × backend timing summary, final losses, cross-backend agreement."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from suite.choices import BACKENDS, COMPLETED, Status
from suite.grid import FULL_TRAIN, LEARNING_RATES
from suite.profiles import PROFILES
from suite.report.formatting import lr_label
from suite.report.loading import LOSSES, expected, model_order, wide_epochs
from suite.uncertainty import NO_INTERVAL, log_t_interval, median_interval, shift_interval

CELL_JOIN = ["source", "run_id", "cell_id"]
TIMING_COLUMNS = [
    "cells",
    "cells_ok",
    "statuses",
    "steady_epoch_median_s",
    "steady_epoch_ci_low_s",
    "steady_epoch_ci_high_s",
    "steady_epoch_ci_level",
    "steady_epoch_iqr_s",
    "steady_epochs",
    "ratio_to_fastest",
    "ratio_ci_low",
    "ratio_ci_high",
    "ratio_ci_level",
    "processes",
    "between_process_cv",
    "ratio_process_ci_low",
    "ratio_process_ci_high",
    "ratio_process_ci_level",
    "first_epoch_s",
    "compile_overhead_s",
    "samples_per_s",
    "train_memory_mb",
]
"""Summary columns after profile, model and backend; `final_<loss>_lr<lr>` columns follow."""


def epoch_frame(chosen: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Wide epoch rows of the chosen cells, with each cell's profile, backend, label, mode, lr, seed and status."""
    cell_columns = [*CELL_JOIN, "profile", "backend", "label", "mode", "lr", "seed", "status"]
    return wide_epochs(epochs).merge(chosen[cell_columns], on=CELL_JOIN, how="inner")


def steady_epochs(frame: pd.DataFrame) -> pd.DataFrame:
    """Steady-state epochs (2..N) of completed cells: the only epochs timings are taken from (an epoch a time-to-target
    cell stopped inside is not one)."""
    whole = frame.steps == frame.groupby(CELL_JOIN).steps.transform("max")
    return frame[frame.status.isin(COMPLETED) & (frame.epoch >= 2) & whole]


def last_epochs(frame: pd.DataFrame) -> pd.DataFrame:
    """The last epoch row of each `ok` cell."""
    ok = frame[frame.status.isin(COMPLETED)]
    return ok[ok.epoch == ok.groupby(CELL_JOIN).epoch.transform("max")]


def final_losses(chosen: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Tidy: each `ok` cell's loss in its last epoch (median over seeds), per profile, model, backend, lr, loss."""
    last = last_epochs(frame)
    present = [loss for loss in LOSSES if loss in last.columns]
    long = last.melt(id_vars=["profile", "label", "backend", "lr", "seed"], value_vars=present, var_name="loss")
    long = long.dropna(subset=["value"])
    return long.groupby(["profile", "label", "backend", "lr", "loss"], as_index=False).value.median()


def statuses(grid: pd.DataFrame) -> pd.Series:
    """Per profile, model and backend: each learning rate's status, e.g. `1e-04 ok · 1e-05 diverged@3`."""

    def describe(row: pd.Series) -> str:
        text = f"{lr_label(row.lr)} {row.status}"
        if row.status == Status.DIVERGED and pd.notna(row.diverged_epoch):
            text += f"@{int(row.diverged_epoch)}"
        return text

    described = grid.sort_values("lr", ascending=False, kind="stable")
    described = described.assign(text=described.apply(describe, axis=1))
    return described.groupby(["profile", "label", "backend"]).text.agg(" · ".join)


def summary(chosen: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """One row per profile × model × backend (every backend, present or not)."""
    frame = epoch_frame(chosen, epochs)
    steady = steady_epochs(frame)
    keys = ["profile", "label", "backend"]
    timing = steady.groupby(keys).agg(
        steady_epoch_median_s=("epoch_time_s", "median"),
        steady_epoch_q1_s=("epoch_time_s", lambda s: s.quantile(0.25)),
        steady_epoch_q3_s=("epoch_time_s", lambda s: s.quantile(0.75)),
        steady_epochs=("epoch_time_s", "size"),
        samples_per_s=("samples_per_s", "median"),
    )
    timing["steady_epoch_iqr_s"] = timing.pop("steady_epoch_q3_s") - timing.pop("steady_epoch_q1_s")
    first = frame[frame.status.isin(COMPLETED) & (frame.epoch == 1)].groupby(keys).epoch_time_s.median()
    grid = expected(chosen)
    table = grid.groupby(keys).agg(
        cells=("status", "size"),
        cells_ok=("status", lambda s: int(s.isin(COMPLETED).sum())),
    )
    table = table.join(timing).join(first.rename("first_epoch_s"))
    ok = chosen[chosen.status.isin(COMPLETED)]
    added = ok.train_peak_rss_mb - ok.rss_before_train_mb  # what training adds to the process, per cell
    table = table.join(added.groupby([ok.profile, ok.label, ok.backend]).median().rename("train_memory_mb"))
    table["ratio_to_fastest"] = table.steady_epoch_median_s / table.groupby(
        ["profile", "label"]
    ).steady_epoch_median_s.transform("min")
    table = table.join(intervals(steady, table)).join(process_intervals(steady, table))
    table["compile_overhead_s"] = table.first_epoch_s - table.steady_epoch_median_s
    table["statuses"] = statuses(grid)
    losses = final_losses(chosen, frame)
    if not losses.empty:
        losses["column"] = "final_" + losses.loss + "_lr" + losses.lr.map(lr_label)
        table = table.join(losses.pivot_table(index=keys, columns="column", values="value"))
    table = table[
        [c for c in TIMING_COLUMNS if c in table.columns] + [c for c in table.columns if c.startswith("final_")]
    ]
    return in_order(table.reset_index()).rename(columns={"label": "model"})


def intervals(steady: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Each steady-state median's order-statistic interval, and its ratio to the fastest backend's with the exact
    Mann–Whitney interval of the shift of log epoch times, each with the confidence it really has.

    The epochs are treated as replicates: the interval covers the noise between epochs of the cells run, not the
    noise between processes, which only more processes (seeds, reruns) measure. The fastest backend's own ratio
    has no interval: it is 1 by definition; the next one's tells whether the two can be told apart.
    """
    times = steady.groupby(["profile", "label", "backend"]).epoch_time_s.apply(lambda s: s.to_numpy())
    rows = {}
    for key, values in times.items():
        profile, label, _ = key
        fastest = table.loc[(profile, label)].steady_epoch_median_s.idxmin()
        median = median_interval(values)
        ratio = NO_INTERVAL if key[2] == fastest else shift_interval(values, times[(profile, label, fastest)])
        rows[key] = {
            "steady_epoch_ci_low_s": median.low,
            "steady_epoch_ci_high_s": median.high,
            "steady_epoch_ci_level": median.level,
            "ratio_ci_low": ratio.low,
            "ratio_ci_high": ratio.high,
            "ratio_ci_level": ratio.level,
        }
    columns = [
        "steady_epoch_ci_low_s",
        "steady_epoch_ci_high_s",
        "steady_epoch_ci_level",
        "ratio_ci_low",
        "ratio_ci_high",
        "ratio_ci_level",
    ]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["profile", "label", "backend"])
    return frame


def process_intervals(steady: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Across processes: each cell (a process of its own) one median steady epoch, and per model × backend how many
    processes, their coefficient of variation, and the ratio to the fastest backend's with Welch's t interval of
    the processes' log medians (95%; it holds the noise between processes, which the epochs' interval leaves out).
    The learning rates and seeds of a model do not change what its step computes, so their cells are replicates."""
    per_cell = steady.groupby(["profile", "label", "backend", *CELL_JOIN]).epoch_time_s.median()
    medians = per_cell.groupby(["profile", "label", "backend"]).apply(lambda s: s.to_numpy())
    rows = {}
    for key, values in medians.items():
        profile, label, backend = key
        fastest = table.loc[(profile, label)].steady_epoch_median_s.idxmin()
        ratio = NO_INTERVAL if backend == fastest else log_t_interval(values, medians[(profile, label, fastest)])
        cv = float(np.std(values, ddof=1) / np.mean(values)) if len(values) > 1 else math.nan
        rows[key] = {
            "processes": len(values),
            "between_process_cv": cv,
            "ratio_process_ci_low": ratio.low,
            "ratio_process_ci_high": ratio.high,
            "ratio_process_ci_level": ratio.level,
        }
    columns = ["processes", "between_process_cv", "ratio_process_ci_low", "ratio_process_ci_high"]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=[*columns, "ratio_process_ci_level"])
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["profile", "label", "backend"])
    return frame


def in_order(table: pd.DataFrame, *then: str) -> pd.DataFrame:
    """Rows by profile, the paper's model order, backend order (where there is a backend column), then `then`."""
    keys = {"profile": table.profile, "_label": pd.Categorical(table.label, model_order(table.label), ordered=True)}
    if "backend" in table.columns:
        keys["_backend"] = pd.Categorical(table.backend, BACKENDS, ordered=True)
    ranked = table.assign(**{k: v for k, v in keys.items() if k.startswith("_")})
    ranked = ranked.sort_values([*keys, *then], kind="stable")
    return ranked.drop(columns=[k for k in keys if k.startswith("_")]).reset_index(drop=True)


def agreement(chosen: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Per profile, model, loss and lr: the backends' final losses side by side and their spread."""
    losses = final_losses(chosen, epoch_frame(chosen, epochs))
    if losses.empty:
        return pd.DataFrame()
    table = losses.pivot_table(index=["profile", "label", "loss", "lr"], columns="backend", values="value")
    table = table.reindex(columns=[b for b in BACKENDS if b in table.columns])
    table["backends"] = table.notna().sum(axis=1)
    values = table[[b for b in BACKENDS if b in table.columns]]
    table["spread"] = values.max(axis=1) - values.min(axis=1)
    table["relative_spread"] = table.spread / values.abs().mean(axis=1)
    return in_order(table.reset_index(), "loss", "lr").rename(columns={"label": "model"})


def paper_cost(chosen: pd.DataFrame, epochs: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """What one `paper` cell (and the 3 learning rates of a model) would take, from a profile's measured step time.

    Seconds per step = median steady epoch ÷ steps per epoch at that profile; a paper cell is
    50 epochs × 469 steps of that, plus the measured first-epoch excess and the measured time a
    cell spends outside its epochs (process start, imports, data, samples, quality scoring).
    """
    paper = PROFILES["paper"]
    paper_steps = paper.epochs * math.ceil(FULL_TRAIN / paper.batch_size)
    frame = epoch_frame(chosen, epochs)
    ok = chosen[chosen.status.isin(COMPLETED)]
    trained = frame[frame.status.isin(COMPLETED)].groupby(CELL_JOIN).epoch_time_s.sum().rename("trained_s")
    outside = ok.join(trained, on=CELL_JOIN).assign(outside_s=lambda f: f.cell_wall_s - f.trained_s)
    outside = outside.groupby(["profile", "label", "backend"]).outside_s.median()
    rows = []
    for row in summary.dropna(subset=["steady_epoch_median_s"]).itertuples():
        profile = PROFILES[row.profile]
        steps = math.ceil((profile.train_images or FULL_TRAIN) / profile.batch_size)
        per_step = row.steady_epoch_median_s / steps
        extra = outside.get((row.profile, row.model, row.backend), float("nan"))
        cell_s = paper_steps * per_step + max(row.compile_overhead_s, 0) + (0.0 if math.isnan(extra) else extra)
        rows.append(
            {
                "profile": row.profile,
                "model": row.model,
                "backend": row.backend,
                "s_per_step": per_step,
                "paper_cell_h": cell_s / 3600,
                "paper_model_cell_h": len(LEARNING_RATES) * cell_s / 3600,
            }
        )
    return pd.DataFrame(rows)
