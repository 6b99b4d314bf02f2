"""Gather every results folder under a directory into one frame of cells and one of epochs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from architectures import MODELS, get_spec
from architectures.family import LOSS_LABELS
from suite.choices import BACKENDS, COMPLETED, MISSING
from suite.store.folder import (
    CELLS_CSV,
    EPOCHS_CSV,
    QUALITY_CSV,
    ResultsError,
    check_header,
    read_evaluations,
    read_quality,
    read_results,
    read_steps,
)
from suite.store.schema import CELL_COLUMNS, EPOCH_COLUMNS, EPOCH_METRICS, KEY_COLUMNS, QUALITY_COLUMNS

CELL_KEY = [*(c for c in KEY_COLUMNS if c not in ("schema_version", "run_id", "cell_id")), "epochs"]
"""What makes two rows the same cell (a `Cell`'s fields but its threads and budget); a rerun of a cell is a new row
with the same key."""
LOSSES = LOSS_LABELS
"""Each model's epoch-mean losses, as recorded in epochs.csv, and how figures name them."""
MODEL_OF: dict[str, str] = {model: model for model in MODELS}
"""Each label `label` has made, and each model's own name, to its model: how a label is ordered and which losses
it has, looked up rather than read back out of the label."""


def loss_names(label: str) -> list[str]:
    """The losses a model records: a GAN's two, a VAE's one."""
    return list(get_spec(MODEL_OF[label], "paper").family.loss_names)


def result_folders(root: Path, exclude: tuple[str, ...] = ()) -> list[Path]:
    """Every folder at or under `root` that holds a `cells.csv`, except those under `root/<exclude>`."""
    skipped = [root / name for name in exclude]
    folders = {path.parent for path in root.rglob(CELLS_CSV)}
    return sorted(f for f in folders if not any(f == s or s in f.parents for s in skipped))


def load(root: Path, exclude: tuple[str, ...] = ()) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """All cells and committed epoch and quality rows under `root`; `source` is each row's folder relative to `root`."""
    folders = result_folders(root, exclude)
    if not folders:
        raise ResultsError(f"no {CELLS_CSV} in {root} or below; run `gvbench run ... --out {root}` first")
    all_cells, all_epochs, all_quality = [], [], []
    for folder in folders:
        check_header(folder / CELLS_CSV, CELL_COLUMNS, older_ok=True)
        check_header(folder / EPOCHS_CSV, EPOCH_COLUMNS, older_ok=True)
        check_header(folder / QUALITY_CSV, QUALITY_COLUMNS, older_ok=True)
        cells, epochs = read_results(folder)
        source = str(folder.relative_to(root))
        all_cells.append(cells.assign(source=source))
        all_epochs.append(epochs.assign(source=source))
        all_quality.append(read_quality(folder).assign(source=source))
    return tuple(pd.concat(frames, ignore_index=True) for frames in (all_cells, all_epochs, all_quality))


def load_steps(root: Path, exclude: tuple[str, ...] = ()) -> pd.DataFrame:
    """The committed rows of every `steps.csv` under `root` (lockstep cells), with `source` as `load` gives it."""
    frames = [
        read_steps(folder).assign(source=str(folder.relative_to(root))) for folder in result_folders(root, exclude)
    ]
    return pd.concat(frames, ignore_index=True)


def load_evaluations(root: Path, exclude: tuple[str, ...] = ()) -> pd.DataFrame:
    """The committed rows of every `evaluations.csv` under `root` (time-to-target cells), with `source`."""
    frames = [
        read_evaluations(folder).assign(source=str(folder.relative_to(root)))
        for folder in result_folders(root, exclude)
    ]
    return pd.concat(frames, ignore_index=True)


def label(frame: pd.DataFrame) -> pd.Series:
    """The model as figures name it: `CNNGAN`; `CNNGAN (code)` for the authors'-code variant;
    `CNNGAN [native]`, `CNNGAN [jit on]`, `CNNGAN [lockstep]` for a native baseline, a compile mode other than
    the default, or lockstep training."""
    named = frame.model.where(frame.variant == "paper", frame.model + " (" + frame.variant + ")")
    named = named.where(frame.impl == "keras", named + " [" + frame.impl + "]")
    named = named.where(frame.jit == "auto", named + " [jit " + frame.jit.astype(str) + "]")
    named = named.where(frame["mode"] == "independent", named + " [" + frame["mode"] + "]")
    MODEL_OF.update(zip(named, frame.model, strict=True))
    return named


def model_order(labels: pd.Series) -> list[str]:
    """Labels in the paper's model order, variants after their model."""
    rank = {model: i for i, model in enumerate(MODELS)}
    return sorted(labels.unique(), key=lambda name: (rank.get(MODEL_OF.get(name), len(rank)), name))


def latest(cells: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One row per cell: its latest `ok` row, else its latest row; and how many rows were set aside."""
    ordered = cells.assign(_ok=cells.status.isin(COMPLETED)).sort_values(["_ok", "run_id"], kind="stable")
    chosen = ordered.drop_duplicates(CELL_KEY, keep="last").drop(columns="_ok")
    chosen = chosen.assign(label=label(chosen)).sort_values(["profile", "backend", "label", "lr"])
    return chosen.reset_index(drop=True), len(cells) - len(chosen)


def expected(chosen: pd.DataFrame) -> pd.DataFrame:
    """The grid each profile implies: every backend × every (model, learning rate, seed) run on any backend.

    Rows of `chosen` keep their status; the others are `missing`. A seed run for some models only
    (`--models A --seeds 0 1 2`) does not make every other model's extra seeds missing.
    """
    combos = chosen[["profile", "label", "lr", "seed"]].drop_duplicates()
    grid = combos.merge(pd.DataFrame({"backend": list(BACKENDS)}), how="cross")
    merged = grid.merge(chosen, on=["profile", "backend", "label", "lr", "seed"], how="left")
    merged["status"] = merged.status.fillna(MISSING)
    return merged


def wide_epochs(epochs: pd.DataFrame) -> pd.DataFrame:
    """One row per cell and epoch, one column per metric (each loss's epoch mean and last batch, NaN where a cell
    did not record it)."""
    keys = ["source", "run_id", "cell_id", "epoch"]
    metrics = [*EPOCH_METRICS, *LOSSES, *(f"{loss}_last" for loss in LOSSES)]
    if epochs.empty:
        return pd.DataFrame(columns=keys + metrics).astype({"epoch": int, **dict.fromkeys(metrics, float)})
    # `pivot`, not `pivot_table(dropna=False)`: the latter fills the product of every cell and every epoch
    # number seen, giving a 5-epoch cell empty epochs 6..40 beside a 40-epoch one.
    wide = epochs.pivot(index=keys, columns="metric", values="value").reset_index()
    return wide.reindex(columns=[*wide.columns, *[m for m in metrics if m not in wide.columns]])
