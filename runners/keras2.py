"""Keras 2 (tf-keras): the models of architectures/ built with tf-keras's layers and trained by its `fit`.

The `tf_keras` implementation trains the way a Keras 2 user trains a model of two networks with custom losses: `fit`
with a custom `train_step` on `tf.GradientTape`, which `fit` compiles into a `tf.function`. The Keras 3 models train
the same way, so the two implementations differ in Keras alone, not in the loop around the step. (The authors'
scripts loop over a `tf.data` set and call a `tf.function` step themselves; `fit` is what gvbench's epochs, callbacks
and lockstep mode are built on.)

Nothing is defined twice: the networks come from `architectures.network` with tf-keras's layer module; the family's
losses and step rules are `architectures`' `Steps` classes (written in `keras.ops`, which on TensorFlow are
TensorFlow's operations); the tape and the gradient calls are the TensorFlow backend's `TrainStep`. Only the
optimizer's call, the loss trackers and the noise generator are tf-keras's and TensorFlow's own. gvbench's Keras 3
callbacks (the epoch recorder, lockstep's step recorder, fault injection) run inside tf-keras's `fit` through
`Keras3Callbacks`.

It runs on TensorFlow only, in a cell process of its own with `TF_USE_LEGACY_KERAS=1` (`suite.choices.KERAS2_ENV`),
so `tf.keras` in that process is tf-keras too. Its samples and scores come from a Keras 3 twin holding the trained
weights (`runners.cell.keras3_twin`), scored exactly as every other cell.
"""

from __future__ import annotations

import keras
import tensorflow as tf
import tf_keras

from architectures import steps_class
from architectures.base import Steps
from architectures.network import build_network
from architectures.spec import ModelSpec, network_inputs
from runners.backends.tensorflow import TrainStep

JIT = {"auto": None, "on": True, "off": False}
"""`--jit` as tf-keras's `compile(jit_compile=...)`: its default (None: no XLA, as Keras 3's `auto` resolves to on
TensorFlow on the CPU), XLA, or none."""


def version() -> str:
    return tf_keras.__version__


class Keras2Model(TrainStep, Steps, tf_keras.Model):
    """A model of either family in tf-keras: the same networks, losses and step as the Keras 3 model."""

    def __init__(self, spec: ModelSpec, seed: int | None = None):
        super().__init__(name=spec.name.replace("-", "_"))
        self.spec = spec
        if seed is None:
            self.noise_generator = tf.random.Generator.from_non_deterministic_state()
        else:
            self.noise_generator = tf.random.Generator.from_seed(seed)
        self.loss_means = [tf_keras.metrics.Mean(name=name) for name in self.loss_names]
        for name, (shape, network) in network_inputs(spec).items():
            setattr(self, name, build_network(network, shape, spec.hidden_activation, name, tf_keras))

    @property
    def metrics(self) -> list:
        return self.loss_means

    def draw_noise(self, shape):
        return self.noise_generator.normal(shape)

    def compile(self, *args, **kwargs) -> None:
        super().compile(*args, **kwargs)
        self.optimizer.build(self.trainable_variables)

    def build_optimizer(self) -> None:
        """Built by `compile` (tf-keras's optimizer keeps whether it is built private)."""

    def apply_gradients(self, grads: list, variables: list) -> None:
        for group_grads, group in self.optimizer_applications(grads, variables):
            self.optimizer.apply_gradients(zip(group_grads, group, strict=True))

    def record_losses(self, losses: dict) -> dict:
        """The logs `fit` reports: each loss's epoch mean so far and its last batch (`<loss>_last`)."""
        for name, mean in zip(self.loss_names, self.loss_means, strict=True):
            mean.update_state(losses[name])
        return {mean.name: mean.result() for mean in self.loss_means} | {
            f"{name}_last": losses[name] for name in self.loss_names
        }

    def fit(self, *args, callbacks=(), verbose="auto", **kwargs):
        """tf-keras's `fit`, driving gvbench's Keras 3 callbacks too; with Keras 3's progress bar among them, tf-keras
        prints none of its own."""
        theirs = [c for c in callbacks if isinstance(c, keras.callbacks.Callback)]
        own = [c for c in callbacks if not isinstance(c, keras.callbacks.Callback)]
        if any(isinstance(c, keras.callbacks.ProgbarLogger) for c in theirs):
            verbose = 0
        return super().fit(*args, callbacks=[*own, Keras3Callbacks(theirs)], verbose=verbose, **kwargs)


def build(spec: ModelSpec, seed: int | None = None) -> Keras2Model:
    """The tf-keras model of `spec`: `Keras2Model` with the family's forward pass and losses."""
    family = steps_class(spec)
    return type(f"Keras2{family.__name__.removesuffix('Steps')}", (family, Keras2Model), {})(spec, seed)


def adam(learning_rate: float) -> tf_keras.optimizers.Optimizer:
    """tf-keras's Adam with its defaults, which are Keras 3's (beta 0.9 and 0.999, epsilon 1e-7)."""
    return tf_keras.optimizers.Adam(learning_rate)


class Keras3Callbacks(tf_keras.callbacks.Callback):
    """Keras 3 callbacks run by tf-keras's `fit`: each hook passed on, the batch hooks only where one of them has any
    (else tf-keras keeps its batches free of callbacks, as Keras 3 does)."""

    def __init__(self, callbacks: list):
        super().__init__()
        self.callbacks = callbacks

    def set_model(self, model) -> None:
        super().set_model(model)
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        for callback in self.callbacks:
            callback.set_params(params)

    def _implements_train_batch_hooks(self) -> bool:
        base = keras.callbacks.Callback
        return any(
            type(c).on_train_batch_begin is not base.on_train_batch_begin
            or type(c).on_train_batch_end is not base.on_train_batch_end
            for c in self.callbacks
        )

    def on_train_begin(self, logs=None) -> None:
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_train_end(self, logs=None) -> None:
        for callback in self.callbacks:
            callback.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None) -> None:
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None) -> None:
        for callback in self.callbacks:
            callback.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None) -> None:
        for callback in self.callbacks:
            callback.on_train_batch_end(batch, logs)
