"""Time to target: score the samples every few steps, off the training clock, and stop at the family's target.

The training clock runs from the start of `fit` (the first, compiling steps included) and pauses for
each evaluation, as AlgoPerf and MLPerf Training time a run. Each evaluation generates the fixed-noise
sample set and scores it with the judge (`runners.scoring`); the cell stops at the first evaluation
that meets its family's `Target`, or after the first step past its budget of training seconds.
"""

from __future__ import annotations

import time

import keras

from runners import scoring
from runners.timing import EpochRecorder
from suite.contract import Cell, EvaluationRecord, Result


class TargetWatch(keras.callbacks.Callback):
    """Evaluates every `cell.eval_every` steps; stops training at the target or past `cell.budget_s`.

    Its batch hook makes Keras run callbacks in step (no asynchronous dispatch), so every evaluation sees the
    weights of exactly its step."""

    def __init__(self, cell: Cell, arrays: dict, recorder: EpochRecorder, result: Result, steps_per_epoch: int):
        super().__init__()
        self.cell = cell
        self.arrays = arrays
        self.recorder = recorder
        self.result = result
        self.steps_per_epoch = steps_per_epoch
        self.step = 0
        self.train_s = 0.0
        self._resumed: float | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._resumed = time.perf_counter()

    def on_train_end(self, logs: dict | None = None) -> None:
        self._pause()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.step += 1
        over_budget = self.cell.budget_s is not None and self._clock() >= self.cell.budget_s
        if self.step % self.cell.eval_every == 0 or over_budget:
            self.evaluate()
        if self.result.target_step is not None or over_budget:
            self.model.stop_training = True
            done = (self.step - 1) % self.steps_per_epoch + 1
            if done < self.steps_per_epoch:
                self.recorder.cut_short(done, done * self.cell.batch_size)

    def finish(self) -> None:
        """After training: evaluate the last step unless it was evaluated (training ended between evaluations)."""
        evaluations = self.result.evaluations
        if self.step and (not evaluations or evaluations[-1].step != self.step):
            self.evaluate()

    def evaluate(self) -> None:
        """Score this step's samples with the clock paused; record it, and the time to target when it is met."""
        sync = getattr(self.model, "jax_state_sync", None)  # JAX keeps the weights apart from the model during fit
        if sync is not None:
            sync()
        keras.ops.convert_to_numpy(self.model.trainable_variables[-1])  # waits for every dispatched step
        self._pause()
        start = time.perf_counter()
        images = scoring.generated_images(self.model, self.cell.quality_images)
        scores = scoring.evaluate(self.model, self.arrays, images)
        met = self.model.spec.family.target.met(scores)
        epoch = (self.step - 1) // self.steps_per_epoch + 1
        eval_s = time.perf_counter() - start
        self.result.evaluations.append(EvaluationRecord(self.step, epoch, self.train_s, eval_s, met, scores))
        if met and self.result.target_step is None:
            self.result.target_step, self.result.target_train_s = self.step, self.train_s
        self.recorder.exclude(time.perf_counter() - self._paused_at)
        self._resumed = time.perf_counter()

    def _clock(self) -> float:
        """Training seconds so far."""
        return self.train_s + (time.perf_counter() - self._resumed if self._resumed is not None else 0.0)

    def _pause(self) -> None:
        now = time.perf_counter()
        if self._resumed is not None:
            self.train_s += now - self._resumed
        self._resumed = None
        self._paused_at = now
