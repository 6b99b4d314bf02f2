"""The report's tables: per model × backend timing summary, final losses, cross-backend agreement."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from suite.choices import BACKENDS, COMPLETED, Status
from suite.formatting import lr_label
from suite.grid import FULL_TRAIN, LEARNING_RATES
from suite.processes import STATES, modes, per_process
from suite.profiles import PROFILES
from suite.store.derived import CELL_JOIN, epoch_frame, final_losses, steady_epochs
from suite.store.loading import expected, model_order
from suite.uncertainty import geometric_interval, holm, ratio_test, verdict

TIMING_COLUMNS = [
    "cells",
    "cells_ok",
    "statuses",
    "processes",
    "steady_epoch_s",
    "steady_epoch_ci_low_s",
    "steady_epoch_ci_high_s",
    "steady_epoch_ci_level",
    "process_min_s",
    "process_max_s",
    "between_process_cv",
    "within_process_cv",
    "steady_epochs",
    "steady_states",
    "modes",
    "ratio_to_fastest",
    "ratio_ci_low",
    "ratio_ci_high",
    "ratio_ci_level",
    "p_differ",
    "p_alike",
    "verdict",
    "first_epoch_s",
    "compile_overhead_s",
    "samples_per_s",
    "train_memory_mb",
]
"""Summary columns after profile, model and backend; `final_<loss>_lr<lr>` columns follow."""


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
    """One row per profile × model × backend (every backend, present or not); timings over processes
    (`process_timing`)."""
    frame = epoch_frame(chosen, epochs)
    keys = ["profile", "label", "backend"]
    first = frame[frame.status.isin(COMPLETED) & (frame.epoch == 1)].groupby(keys).epoch_time_s.median()
    grid = expected(chosen)
    table = grid.groupby(keys).agg(
        cells=("status", "size"),
        cells_ok=("status", lambda s: int(s.isin(COMPLETED).sum())),
    )
    table = table.join(process_timing(per_process(steady_epochs(frame), keys))).join(first.rename("first_epoch_s"))
    ok = chosen[chosen.status.isin(COMPLETED)]
    added = ok.train_peak_rss_mb - ok.rss_before_train_mb  # what training adds to the process, per cell
    table = table.join(added.groupby([ok.profile, ok.label, ok.backend]).median().rename("train_memory_mb"))
    table["compile_overhead_s"] = table.first_epoch_s - table.steady_epoch_s
    table["statuses"] = statuses(grid)
    losses = final_losses(chosen, frame)
    if not losses.empty:
        losses["column"] = "final_" + losses.loss + "_lr" + losses.lr.map(lr_label)
        table = table.join(losses.pivot_table(index=keys, columns="column", values="value"))
    table = table[
        [c for c in TIMING_COLUMNS if c in table.columns] + [c for c in table.columns if c.startswith("final_")]
    ]
    return in_order(table.reset_index()).rename(columns={"label": "model"})


def process_timing(processes: pd.DataFrame) -> pd.DataFrame:
    """Per profile × model × backend, over its processes (each cell one; learning rates and seeds do not change
    what a step computes, so a model's cells are replicates of its speed): the geometric mean of the processes'
    median steady epochs with the t interval of their mean log (95%), their range and spread, the spread within a
    process, the processes' steady states and modes; and the ratio to the fastest backend's with Welch's t interval
    (95%) and its tests (`uncertainty.ratio_test`), read after Holm's adjustment over every ratio of the profile."""
    keys = ["profile", "label", "backend"]
    columns = TIMING_COLUMNS[TIMING_COLUMNS.index("processes") : TIMING_COLUMNS.index("first_epoch_s")]
    rows = {}
    for key, group in processes.groupby(keys):
        centre, found = geometric_interval(group.median_s)
        logs = np.log(group.median_s.to_numpy(float))
        mixture = modes(group.median_s)
        rows[key] = {
            "processes": len(group),
            "steady_epoch_s": centre,
            "steady_epoch_ci_low_s": found.low,
            "steady_epoch_ci_high_s": found.high,
            "steady_epoch_ci_level": found.level,
            "process_min_s": group.median_s.min(),
            "process_max_s": group.median_s.max(),
            "between_process_cv": float(np.std(logs, ddof=1)) if len(logs) > 1 else math.nan,
            "within_process_cv": float(group.within_sd.median()),
            "steady_epochs": int(group.epochs.sum()),
            "steady_states": state_counts(group.state),
            "modes": mixture.describe() if mixture else "",
            "samples_per_s": float(group.samples_per_s.median()),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    if table.empty:
        empty = pd.MultiIndex.from_tuples([], names=keys)
        return pd.DataFrame(columns=[*columns, "samples_per_s"], index=empty)
    table.index = pd.MultiIndex.from_tuples(table.index, names=keys)
    fastest = table.groupby(["profile", "label"]).steady_epoch_s.transform("min")
    tests = {}
    for key, group in processes.groupby(keys):
        best = table.loc[key[:2]].steady_epoch_s.idxmin()
        if key[2] != best:
            reference = processes[(processes.profile == key[0]) & (processes.label == key[1])]
            tests[key] = ratio_test(group.median_s, reference[reference.backend == best].median_s)
    table["ratio_to_fastest"] = table.steady_epoch_s / fastest
    for column in ("ratio_ci_low", "ratio_ci_high", "ratio_ci_level", "p_differ", "p_alike", "verdict"):
        table[column] = math.nan if column != "verdict" else ""
    for profile in table.index.get_level_values("profile").unique():
        mine = [key for key in tests if key[0] == profile]
        differ, alike = holm([tests[k].p_differ for k in mine]), holm([tests[k].p_alike for k in mine])
        for key, p_differ, p_alike in zip(mine, differ, alike, strict=True):
            test = tests[key]
            table.loc[key, ["ratio_ci_low", "ratio_ci_high", "ratio_ci_level"]] = [
                test.interval.low,
                test.interval.high,
                test.interval.level,
            ]
            table.loc[key, ["p_differ", "p_alike"]] = [p_differ, p_alike]
            table.loc[key, "verdict"] = verdict(test.ratio, p_differ, p_alike)
    return table


def state_counts(states: pd.Series) -> str:
    """`9 flat, 1 warm-up`: how many processes reached each steady-state class, in `STATES` order."""
    counts = states.value_counts()
    return ", ".join(f"{counts[s]} {s}" for s in STATES if s in counts)


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
    for row in summary.dropna(subset=["steady_epoch_s"]).itertuples():
        profile = PROFILES[row.profile]
        steps = math.ceil((profile.train_images or FULL_TRAIN) / profile.batch_size)
        per_step = row.steady_epoch_s / steps
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
