"""The frames more than one reader derives from loaded results: a cell's wide epochs, its steady epochs, its final
losses, the wide table of its quality metrics and whether it reached its target."""

from __future__ import annotations

import numpy as np
import pandas as pd

from suite.choices import COMPLETED, Status
from suite.store.loading import LOSSES, wide_epochs

CELL_JOIN = ["source", "run_id", "cell_id"]
"""What names one cell's row across cells.csv and its child files."""


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


def wide_quality(chosen: pd.DataFrame, quality: pd.DataFrame) -> pd.DataFrame:
    """One row per chosen ok cell with its quality metrics as columns (cells without metrics are left out)."""
    keys = ["profile", "label", "model", "variant", "impl", "jit", "mode", "backend", "lr", "seed", "epochs"]
    columns = [*CELL_JOIN, *keys]
    completed = chosen[chosen.status.isin(COMPLETED)]
    cells = completed[columns].assign(**to_target(completed))
    if quality.empty:
        return cells.iloc[:0]
    metrics = quality.pivot_table(index=CELL_JOIN, columns="metric", values="value").reset_index()
    return cells.merge(metrics, on=CELL_JOIN, how="inner")


def to_target(cells: pd.DataFrame) -> dict[str, pd.Series]:
    """`reached` (1 or 0) and `steps_to_target` (infinite when missed) of time-to-target cells; NaN for the others."""
    aimed = cells.eval_every.notna()
    reached = (cells.status == Status.OK).astype(float).where(aimed)
    steps = cells.target_step.astype(float).where(cells.status == Status.OK, np.inf).where(aimed)
    return {"reached": reached, "steps_to_target": steps}


def with_training_time(frame: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Add `train_s`: the seconds of all of a cell's epochs (its first, compiling epoch included)."""
    times = epochs[epochs.metric == "epoch_time_s"].groupby(CELL_JOIN).value.sum().rename("train_s")
    return frame.merge(times.reset_index(), on=CELL_JOIN, how="left")
