"""Columns of `cells.csv`, `epochs.csv`, `steps.csv`, `evaluations.csv` and `quality.csv`, schema SCHEMA_VERSION
(results/README.md)."""

from __future__ import annotations

import pandas as pd

SCHEMA_VERSION = 9

KEY_COLUMNS = (
    "schema_version",
    "run_id",
    "cell_id",
    "backend",
    "impl",
    "jit",
    "mode",
    "model",
    "variant",
    "lr",
    "profile",
    "seed",
)
"""Columns all three files share; `run_id` + `cell_id` identify a cell."""

CELL_COLUMNS = KEY_COLUMNS + (
    "epochs",
    "epochs_done",
    "batch_size",
    "train_images",
    "status",
    "diverged_epoch",
    "error",
    "started_at",
    "cell_wall_s",
    "resumed_epochs",
    "first_epoch_s",
    "steady_epoch_median_s",
    "steady_epoch_iqr_s",
    "steady_epochs",
    "steady_samples_per_s",
    "steady_step_median_s",
    "train_step_gflop",
    "steady_gflop_per_s",
    "ceiling_gflop_per_s",
    "ceiling_share",
    "budget_s",
    "target",
    "eval_every",
    "evaluations",
    "eval_total_s",
    "target_step",
    "target_train_s",
    "peak_rss_mb",
    "rss_before_train_mb",
    "train_peak_rss_mb",
    "jit_compile",
    "threads",
    "thread_controls",
    "parallel_cells",
    "ordering",
    "block",
    "position",
    "python_version",
    "keras_version",
    "backend_version",
    "numpy_version",
    "cpu_model",
    "cpu_count",
    "hostname",
    "platform",
    "git_commit",
    "samples_file",
    "log_file",
)
LIST_COLUMNS = ("resumed_epochs",)
"""Columns that hold a list of integers, spelt on disk as its items joined by `;` (`list_cell`), and read as text
even where every value looks like a number (`4` is the list of one epoch)."""
TEXT_COLUMNS = LIST_COLUMNS
EPOCH_COLUMNS = KEY_COLUMNS + ("epoch", "metric", "value")
EPOCH_METRICS = ("epoch_time_s", "steps", "samples_per_s")
"""Per-epoch timing metrics; each loss adds `<loss>` (epoch mean) and `<loss>_last` (last batch).

Statuses are `suite.contract.Status`; the facts a cell records are `suite.contract.Facts`."""
STEP_COLUMNS = KEY_COLUMNS + ("step", "metric", "value")
"""Lockstep cells only: each loss of single training steps (1-based across epochs), see `runners.lockstep`."""
EVALUATION_COLUMNS = KEY_COLUMNS + ("step", "epoch", "train_s", "metric", "value")
"""Time-to-target cells only: each quality metric of each evaluation, `eval_s` and `target_met`
(runners/target_watch.py)."""
QUALITY_COLUMNS = KEY_COLUMNS + ("image_set", "metric", "value")
"""One row per ok cell × image set × quality metric (see suite/sample_metrics.py, runners/scoring.py and
`suite.quality_sets`): every metric of one image set is measured on the same images."""

ADDED = {
    2: {
        "impl": "keras",
        "jit": "auto",
        "steady_step_median_s": None,
        "train_step_gflop": None,
        "steady_gflop_per_s": None,
        "ceiling_gflop_per_s": None,
        "ceiling_share": None,
    },
    3: {"rss_before_train_mb": None, "train_peak_rss_mb": None},
    4: {"mode": "independent"},
    5: {
        "budget_s": None,
        "target": None,
        "eval_every": None,
        "evaluations": None,
        "eval_total_s": None,
        "target_step": None,
        "target_train_s": None,
    },
    6: {"parallel_cells": None},
    7: {"resumed_epochs": None},
    8: {"ordering": None, "block": None, "position": None},
    9: {"image_set": None},
}
"""Columns each schema version added, with the value rows of the version before it take."""


def list_cell(values: list[int]) -> str | None:
    """A list column's cell: `3;12`; empty (None) for no items."""
    return ";".join(str(v) for v in values) or None


def cell_list(text: str | float | None) -> list[int]:
    """A list column's items from its cell (an empty cell reads back as NaN or None)."""
    return [int(v) for v in text.split(";") if v] if isinstance(text, str) else []


class UnknownColumn(ValueError):
    """A row carries a fact that no column of its file holds: add the column here and to results/README.md."""


def check_row(row: dict, columns: tuple[str, ...], where: str) -> None:
    """Refuse a row with a key that is not one of `columns` (pandas would drop it without a word)."""
    extra = [key for key in row if key not in columns]
    if extra:
        raise UnknownColumn(f"{where} has no column for {', '.join(map(repr, extra))}; add it to suite/store/schema.py")


def columns_of(version: int, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The header `columns` had in schema `version`."""
    added = {name for v, new in ADDED.items() if v > version for name in new}
    return tuple(c for c in columns if c not in added)


def upgrade(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Rows of any earlier schema version as rows of this one (columns in order, added columns filled)."""
    frame = frame.copy()
    for new in ADDED.values():
        for name, value in new.items():
            if name in columns and name not in frame.columns:
                frame[name] = value
    frame["schema_version"] = SCHEMA_VERSION
    return frame[list(columns)]
