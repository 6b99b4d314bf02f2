"""The quality metrics as the report's sections show them: which metrics are shown, and the judge's reference sets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from architectures.judge import REFERENCE
from suite.profiles import PROFILES

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


def reference(profile: str, path: Path = REFERENCE) -> pd.DataFrame:
    """Metrics of the real / noise / blank reference sets at the profile's number of scored images."""
    if not path.is_file():
        return pd.DataFrame()
    frame = pd.read_csv(path)
    frame = frame[frame.images == PROFILES[profile].quality_images]
    return frame.pivot_table(index="source", columns="metric", values="value").reindex(["real", "noise", "blank"])
