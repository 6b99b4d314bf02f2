"""The columns of `cells.csv`, `epochs.csv` and `quality.csv`, version SCHEMA_VERSION (results/README.md)."""

from __future__ import annotations

SCHEMA_VERSION = 1

KEY_COLUMNS = ("schema_version", "run_id", "cell_id", "backend", "model", "variant", "lr", "profile", "seed")
"""Columns both files share; `run_id` + `cell_id` identify a cell."""

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
    "first_epoch_s",
    "steady_epoch_median_s",
    "steady_epoch_iqr_s",
    "steady_epochs",
    "steady_samples_per_s",
    "peak_rss_mb",
    "jit_compile",
    "threads",
    "thread_controls",
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
EPOCH_COLUMNS = KEY_COLUMNS + ("epoch", "metric", "value")
EPOCH_METRICS = ("epoch_time_s", "steps", "samples_per_s")
"""Per-epoch timing metrics; each loss adds `<loss>` (epoch mean) and `<loss>_last` (last batch)."""
QUALITY_COLUMNS = KEY_COLUMNS + ("metric", "value")
"""One row per ok cell × quality metric (see suite/quality.py and runners/quality.py)."""
STATUSES = ("ok", "diverged", "failed", "timeout", "interrupted")
