"""Lockstep training: every backend starts from the same weights and sees the same data order and noise.

All three are drawn in NumPy from the cell's seed: the weights as the native baselines make them
(`runners.native.init_weights`), each epoch's order of the training images, and each step's noise,
given to `fit` beside the images (a row per image). Each backend still runs its own `fit`, one call
per epoch, so only the floating-point arithmetic differs. The losses of single steps are recorded
(every step at first, then every `every`-th) so a report can show when the backends' runs part.
"""

from __future__ import annotations

import os

import keras
import numpy as np

from suite.contract import Cell, StepRecord

PERTURB_ENV = "GVBENCH_LOCKSTEP_PERTURB"
"""Test-only: `MODEL=NETWORK:DELTA` adds DELTA to the first entry of that network's first weight, on the backend
whose cell sees it, to prove that a check of the backends' agreement fails."""
EVERY_STEP_UNTIL = 100
"""Steps recorded one by one from the start; after them, about `LATER_STEPS` more, evenly spaced."""
LATER_STEPS = 400


def set_initial_weights(model: keras.Model, seed: int) -> None:
    """Every network's weights from NumPy (Glorot-uniform kernels, zero biases, BatchNormalization's identity)."""
    from runners.native import init_weights

    target, delta = perturbation(model.spec.name)
    for name, arrays in init_weights(model.spec, seed).items():
        if name == target:
            arrays[0].flat[0] += delta
        getattr(model, name).set_weights(arrays)


def perturbation(model_name: str) -> tuple[str | None, float]:
    """The network and delta `PERTURB_ENV` asks for in `model_name`, else (None, 0)."""
    wanted = os.environ.get(PERTURB_ENV, "")
    if not wanted.startswith(f"{model_name}="):
        return None, 0.0
    network, delta = wanted.split("=", 1)[1].rsplit(":", 1)
    return network, float(delta)


def epoch_data(x: np.ndarray, latent_dim: int, seed: int, epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """The images of 0-based `epoch` in their shuffled order, and a row of standard-normal noise for each."""
    order = np.random.default_rng([seed, epoch, 0]).permutation(len(x))
    noise = np.random.default_rng([seed, epoch, 1]).standard_normal((len(x), latent_dim), dtype=np.float32)
    return x[order], noise


class StepRecorder(keras.callbacks.Callback):
    """Each loss of single steps (the `<loss>_last` logs), numbered from 1 across epochs."""

    def __init__(self, steps_per_epoch: int, total_steps: int, steps: list[StepRecord]):
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.every = max(1, (total_steps - EVERY_STEP_UNTIL) // LATER_STEPS)
        self.steps = steps
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        step = self._epoch * self.steps_per_epoch + batch + 1
        if step <= EVERY_STEP_UNTIL or step % self.every == 0:
            names = self.model.loss_names
            self.steps.append(StepRecord(step, {name: float(logs[f"{name}_last"]) for name in names}))


class WholeRunProgbar(keras.callbacks.ProgbarLogger):
    """Keras' progress output, counting epochs of the whole run (`Epoch 7/40`) across one `fit` call per epoch."""

    def __init__(self, epochs: int):
        super().__init__()
        self.run_epochs = epochs

    def set_params(self, params: dict) -> None:
        super().set_params(params | {"epochs": self.run_epochs})


def fit(
    model: keras.Model, x: np.ndarray, cell: Cell, verbose: int, callbacks: list, recorder, steps: list[StepRecord]
) -> None:
    """Train `cell.epochs` epochs in lockstep, one `fit` call per epoch, appending recorded steps to `steps` as they
    finish (so an interrupted cell keeps them); stop after a diverged epoch."""
    steps_per_epoch = -(-len(x) // cell.batch_size)
    step_recorder = StepRecorder(steps_per_epoch, steps_per_epoch * cell.epochs, steps)
    if verbose:
        callbacks = [*callbacks, WholeRunProgbar(cell.epochs)]
    for epoch in range(cell.epochs):
        images, noise = epoch_data(x, model.spec.latent_dim, cell.seed, epoch)
        model.fit(
            images,
            noise,
            batch_size=cell.batch_size,
            epochs=epoch + 1,
            initial_epoch=epoch,
            shuffle=False,
            verbose=verbose,
            callbacks=[recorder, step_recorder, *callbacks],
        )
        if recorder.diverged_epoch:
            break


def final_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """Every network's weights after training, keyed `weights/<network>/<index>` (saved with the samples)."""
    return {
        f"weights/{name}/{i}": np.asarray(array)
        for name, network in model.networks().items()
        for i, array in enumerate(network.get_weights())
    }
