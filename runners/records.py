"""One epoch's record, as both the Keras callback and the native loop write it."""

from __future__ import annotations

import math


def epoch_record(epoch: int, seconds: float, steps: int, samples: int, losses: dict[str, float]) -> dict:
    """The per-epoch metrics of epochs.csv (1-based `epoch`)."""
    return {"epoch": epoch, "epoch_time_s": seconds, "steps": steps, "samples_per_s": samples / seconds, **losses}


def finite(losses: dict[str, float]) -> bool:
    return all(math.isfinite(v) for v in losses.values())
