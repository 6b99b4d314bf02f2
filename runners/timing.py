"""Per-epoch wall time and losses, taken after the backend has finished the epoch."""

from __future__ import annotations

import time

import keras

from suite.contract import EpochRecord


class EpochRecorder(keras.callbacks.Callback):
    """Records each epoch's time and losses; stops training at the first non-finite loss.

    It defines no batch hooks, so Keras keeps dispatching batch callbacks asynchronously.
    """

    def __init__(self, samples_per_epoch: int):
        super().__init__()
        self.samples_per_epoch = samples_per_epoch
        self.epochs: list[EpochRecord] = []
        self.diverged_epoch: int | None = None
        self._start = 0.0
        self._excluded = 0.0
        self._cut: tuple[int, int] | None = None

    def exclude(self, seconds: float) -> None:
        """Leave `seconds` spent inside the current epoch on something other than training out of its time."""
        self._excluded += seconds

    def cut_short(self, steps: int, samples: int) -> None:
        """The current epoch stops after `steps` steps of `samples` images (a time-to-target cell's last epoch)."""
        self._cut = (steps, samples)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()
        self._excluded = 0.0
        self._cut = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        # Fetching the losses and a weight waits for every dispatched step (JAX runs asynchronously).
        losses = {name: float(keras.ops.convert_to_numpy(value)) for name, value in (logs or {}).items()}
        keras.ops.convert_to_numpy(self.model.trainable_variables[-1])
        seconds = time.perf_counter() - self._start - self._excluded
        steps, samples = self._cut or (self.params["steps"], self.samples_per_epoch)
        record = EpochRecord.timed(epoch + 1, seconds, steps, samples, losses)
        self.epochs.append(record)
        if not record.finite:
            self.diverged_epoch = epoch + 1
            self.model.stop_training = True
