"""The cells' quality metrics as the report's sections read them: which metrics are shown, the wide table of an
ok cell's metrics, its training time, and the judge's reference sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from architectures.judge import REFERENCE
from suite.choices import COMPLETED, Status
from suite.profiles import PROFILES
from suite.report.tables import CELL_JOIN

SHOWN = {
    "frechet_distance": "Fréchet distance ↓",
    "classifier_score": "classifier score ↑",
    "readable_share": "share readable (p ≥ 0.9, on the digit manifold, sharp) ↑",
    "confident_share": "share the judge is sure of (p ≥ 0.9)",
    "on_manifold_share": "share on the digit manifold ↑",
    "sharp_share": "share with an edge as sharp as ink ↑",
    "precision": "precision (looks real) ↑",
    "recall": "recall (reaches real variety) ↑",
    "density": "density ↑",
    "coverage": "coverage ↑",
    "mean_confidence": "mean confidence ↑",
    "digits_covered": "digits covered ↑",
    "label_kl_to_uniform": "label KL to uniform ↓",
    "haze_share": "haze (smooth mid-tone pixels)",
    "speckle_share": "speckle (pixels off their neighbourhood)",
    "mid_tone_share": "mid-tone pixel share",
    "test_nelbo": "test −ELBO (nats/image) ↓",
    "test_reconstruction_mse": "test reconstruction MSE ↓",
    "recon_accuracy": "reconstructions read as their digit ↑",
}
"""The metrics the report's tables show, in order, with their direction of better."""


def wide(chosen: pd.DataFrame, quality: pd.DataFrame) -> pd.DataFrame:
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


def reference(profile: str, path: Path = REFERENCE) -> pd.DataFrame:
    """Metrics of the real / noise / blank reference sets at the profile's number of scored images."""
    if not path.is_file():
        return pd.DataFrame()
    frame = pd.read_csv(path)
    frame = frame[frame.images == PROFILES[profile].quality_images]
    return frame.pivot_table(index="source", columns="metric", values="value").reindex(["real", "noise", "blank"])
