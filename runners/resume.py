"""A long cell picks up where it stopped: after each epoch its weights, optimizer state and records are saved.

A `paper` cell trains for an hour or more; without this, an interrupted one (a signal, a lost machine,
the OOM killer) would start again from epoch 1. Keras' `BackupAndRestore` writes its weights and its epoch
counter as two files, one after the other, and keeps none of the cell's own records (the per-epoch times and
losses of the epochs already done). Here the state file, written last and atomically, names the weights file
it belongs to, so an interruption at any moment leaves a consistent pair.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from runners.resume_state import STATE_FILE, CheckpointMismatch, State
from suite.contract import EpochRecord, Facts
from suite.files import atomic_write


@dataclass
class Resumed:
    """What a cell takes over from the processes that trained it before this one."""

    epoch: int = 0
    """Epochs already done (0: a fresh start)."""
    wall_s: float = 0.0
    """Wall seconds the earlier processes spent, up to their last saved epoch."""
    started_at: str | None = None
    resumed_epochs: list[int] = field(default_factory=list)
    """1-based epochs that began in a new process (each includes a fresh trace/compile)."""


def restore(folder: Path, cell_id: str, model: keras.Model, epochs: list[EpochRecord]) -> Resumed:
    """Load the last saved epoch's weights, optimizer state and noise generator's state into `model`, and its
    records into `epochs`.

    Call it before `fit`, also for a fresh start: it builds the optimizer over `model.trainable_variables`, so
    that its slots are saved and loaded in one order (a step that applies gradients network by network would
    otherwise build them in its own order on one backend and in the model's on another)."""
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    path = folder / STATE_FILE
    if not path.exists():
        return Resumed()
    state = State.read(path)
    if state.cell_id != cell_id:
        raise CheckpointMismatch(f"{folder} holds a checkpoint of {state.cell_id}, not of {cell_id}; remove it")
    model.load_weights(folder / state.weights)
    model.seed_generator.state.assign(np.asarray(state.seed_generator_state, dtype=model.seed_generator.state.dtype))
    epochs[:] = state.epochs
    return Resumed(state.epoch, state.wall_s, state.started_at, [*state.resumed_epochs, state.epoch + 1])


class EpochCheckpoint(keras.callbacks.Callback):
    """After each finite epoch: the weights file (with the optimizer's state), then the state file that names it
    (with the epoch records and the noise generator's state, which `save_weights` leaves out); then older weights
    go."""

    def __init__(
        self, folder: Path, cell_id: str, epochs: list[EpochRecord], facts: Facts, resumed: Resumed, start: float
    ):
        """`start`: the `time.perf_counter()` at which this process began the cell."""
        super().__init__()
        self.folder, self.cell_id, self.epochs, self.facts, self.resumed = folder, cell_id, epochs, facts, resumed
        self._start = start

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not self.epochs or not self.epochs[-1].finite:
            return  # a diverged epoch is not worth resuming from
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{epoch + 1:04d}.weights.h5"
        partial = self.folder / f"partial-{name}"
        self.model.save_weights(partial)
        os.replace(partial, self.folder / name)
        state = State(
            cell_id=self.cell_id,
            epoch=epoch + 1,
            weights=name,
            epochs=list(self.epochs),
            wall_s=self.resumed.wall_s + time.perf_counter() - self._start,
            started_at=self.facts.started_at,
            resumed_epochs=self.resumed.resumed_epochs,
            seed_generator_state=keras.ops.convert_to_numpy(self.model.seed_generator.state).tolist(),
        )
        with atomic_write(self.folder / STATE_FILE) as f:
            f.write(state.to_json().encode())
        for old in self.folder.glob("*.weights.h5"):
            if old.name != name:
                old.unlink()
