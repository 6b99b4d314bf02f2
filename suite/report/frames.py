"""What every section of one profile reads, computed once and handed to each section in turn."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from suite.store.derived import epoch_frame, final_losses
from suite.store.loading import expected


@dataclass
class ProfileFrames:
    """One profile's cells and the frames derived from them that more than one section reads."""

    root: Path
    """The folder the results were read from (sample files are under `root / source`)."""
    folder: Path
    """Where this profile's figures go."""
    profile: str
    chosen: pd.DataFrame
    """This profile's cells, one row per cell (`loading.latest`)."""
    summary: pd.DataFrame
    """Per model × backend: timings and final losses (`tables.summary`), without the profile column."""
    agreement: pd.DataFrame
    """Per model × loss × lr: the backends' final losses and their spread (`tables.agreement`)."""
    scored: pd.DataFrame
    """One row per ok cell with its quality metrics as columns."""
    steps: pd.DataFrame
    """Per-step losses of lockstep cells."""
    evaluations: pd.DataFrame
    """The evaluations of time-to-target cells."""
    grid: pd.DataFrame
    """Every backend × (model, lr, seed) any backend ran, `missing` where one did not (`loading.expected`)."""
    epochs: pd.DataFrame
    """Wide epoch rows of the chosen cells (`derived.epoch_frame`)."""
    losses: pd.DataFrame
    """Each ok cell's final losses (`derived.final_losses`)."""
    all_epochs: pd.DataFrame
    """The tidy epoch rows as read, every profile's (for what is measured across whole cells)."""
    _computed: dict[str, Any] = field(default_factory=dict, repr=False)

    def once(self, name: str, compute: Callable[[ProfileFrames], Any]) -> Any:
        """`compute(self)`, computed the first time a section asks for `name` and shared from then on."""
        if name not in self._computed:
            self._computed[name] = compute(self)
        return self._computed[name]


def with_profile(frame: pd.DataFrame, profile: str) -> pd.DataFrame:
    """A report-wide table's rows of one profile as they were before the cut: `profile` as the first column."""
    if frame.columns.empty:
        return frame
    return frame.assign(profile=profile)[["profile", *frame.columns]]


def profile_frames(
    root: Path,
    out: Path,
    profile: str,
    chosen: pd.DataFrame,
    epochs: pd.DataFrame,
    summary: pd.DataFrame,
    agreement: pd.DataFrame,
    scored: pd.DataFrame,
    steps: pd.DataFrame,
    evaluations: pd.DataFrame,
) -> ProfileFrames:
    """The frames of `profile`, cut from the report-wide ones."""
    chosen = chosen[chosen.profile == profile]
    frame = epoch_frame(chosen, epochs)
    return ProfileFrames(
        root=root,
        folder=out / profile,
        profile=profile,
        chosen=chosen,
        summary=summary[summary.profile == profile].drop(columns="profile"),
        agreement=agreement[agreement.profile == profile].drop(columns="profile") if len(agreement) else agreement,
        scored=scored[scored.profile == profile],
        steps=steps[steps.profile == profile],
        evaluations=evaluations[evaluations.profile == profile],
        grid=expected(chosen),
        epochs=frame,
        losses=final_losses(chosen, frame),
        all_epochs=epochs,
    )
