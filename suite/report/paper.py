"""What the report takes from the paper itself: its protocol and its two groups of models."""

from __future__ import annotations

PROTOCOL = "paper"
"""The profile whose cells end as the paper's training did."""
GANS, VAES = ("DenseGAN", "DenseGAN-Deep", "CNNGAN"), ("DenseVAE", "CNNVAE")
