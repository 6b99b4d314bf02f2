"""What a GAN and a VAE share: the steps' rules (`Steps`, any Keras), loss trackers and the contract the per-backend
train steps use (`GenerativeModel`, Keras 3)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from architectures.inputs import preprocess
from architectures.network import build_network
from architectures.spec import ModelSpec, network_inputs, noise_rows


class LastValue(keras.metrics.Metric):
    """The value of the most recent `update_state` call (a loss's last-batch value)."""

    def __init__(self, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        self.last = self.add_variable(shape=(), initializer="zeros", name="last")

    def update_state(self, value) -> None:
        self.last.assign(ops.cast(value, self.dtype))

    def result(self):
        return ops.convert_to_tensor(self.last)


class Steps:
    """The rules of a training step that do not depend on which Keras builds the model: the family's losses, which
    variables each trains, how the optimizer applies them, and the noise's shape.

    `GenerativeModel` (Keras 3) and `runners.keras2` (Keras 2) both build on it; each family's losses
    (`architectures.gan.GANSteps`, `architectures.vae.VAESteps`) are written once in `keras.ops`, which on
    TensorFlow are TensorFlow's own operations. A model using it has `spec`, `optimizer`, one attribute per network
    and `draw_noise`.
    """

    spec: ModelSpec

    @property
    def loss_names(self) -> tuple[str, ...]:
        return self.spec.family.loss_names

    def draw_noise(self, shape):
        """Standard-normal noise of `shape`, from the model's own seeded generator."""
        raise NotImplementedError

    def bn_training(self, training: bool) -> bool:
        """BatchNormalization mode inside a step (the `code` VAEs keep it in inference mode)."""
        return bool(training and self.spec.batchnorm_training)

    def compute_losses(self, x, noise=None, training: bool = True) -> dict:
        """All losses of one step from one forward pass; `noise` replaces the drawn noise."""
        raise NotImplementedError

    def loss_groups(self) -> list[tuple[str, list]]:
        """(loss name, variables that loss updates) pairs; together they cover every trainable variable."""
        return [
            (loss.name, [v for network in loss.trains for v in getattr(self, network).trainable_variables])
            for loss in self.spec.family.losses
        ]

    def optimizer_applications(self, grads: list, variables: list) -> list[tuple[list, list]]:
        """The (gradients, variables) of each optimizer application in a step.

        One application over every variable; with the spec's `separate_updates`, one per network in
        the family's order, each advancing the optimizer's step counter (the authors' VAE scripts call
        `apply_gradients` for the encoder, then for the decoder). Every backend's step applies these
        in order, so the rule lives here and not in the three train steps.
        """
        if not self.spec.separate_updates:
            return [(list(grads), list(variables))]
        self.build_optimizer()  # else the first application would build it for one network's variables
        by_variable = {id(v): g for g, v in zip(grads, variables, strict=True)}
        return [
            ([by_variable[id(v)] for v in network.trainable_variables], list(network.trainable_variables))
            for network in self.networks().values()
        ]

    def build_optimizer(self) -> None:
        """Build the optimizer over every trainable variable, once."""
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)

    def networks(self) -> dict[str, keras.Model]:
        """The two networks by their family names."""
        return {name: getattr(self, name) for name in self.spec.family.networks}

    def noise_shape(self, n: int) -> tuple[int, ...]:
        """Shape of the noise a training step draws for a batch of n images (the spec's `noise_rows`)."""
        return (noise_rows(self.spec, n), self.spec.latent_dim)


class GenerativeModel(Steps, keras.Model):
    """A model trained by minimising named losses, each over its own group of variables.

    Both networks of the spec's family are attributes by their family names (`generator`,
    `encoder`, ...); the losses and what each trains are the family's. Subclasses define
    `compute_losses`; the backend's `train_step` (see `runners.backends`) does the rest. Data
    given to `fit` or `train_on_batch` as `(x, noise)` fixes each step's noise (as the parity
    tests do); with `x` alone each step draws its own.
    """

    def __init__(self, spec: ModelSpec, seed: int | None = None, **kwargs):
        super().__init__(name=spec.name.replace("-", "_"), **kwargs)
        self.spec = spec
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_means = [keras.metrics.Mean(name=name) for name in self.loss_names]
        self.loss_lasts = [LastValue(name=f"{name}_last") for name in self.loss_names]
        for name, (shape, network) in network_inputs(spec).items():
            setattr(self, name, build_network(network, shape, spec.hidden_activation, name))
        self.built = True  # both networks are built from their Input shapes

    @property
    def metrics(self) -> list:
        return self.loss_means + self.loss_lasts

    def draw_noise(self, shape):
        return keras.random.normal(shape, seed=self.seed_generator)

    def record_losses(self, losses: dict) -> dict:
        """Update the epoch-mean and last-batch trackers; return the logs `fit` reports."""
        for name, mean, last in zip(self.loss_names, self.loss_means, self.loss_lasts, strict=True):
            mean.update_state(losses[name])
            last.update_state(losses[name])
        return {metric.name: metric.result() for metric in self.metrics}

    def sample_arrays(self, generated: np.ndarray, test_images: np.ndarray) -> dict[str, np.ndarray]:
        """What a cell's samples file holds besides `generated`: VAEs add reconstructions of test images."""
        return {"generated": generated}

    def test_fit(self, test_images: np.ndarray) -> dict[str, float]:
        """Quality metrics of the test set besides the judge's (the family's `test_metrics`)."""
        return {}

    def preprocess(self, images: np.ndarray) -> np.ndarray:
        """uint8 images (n, 28, 28) to the float32 input of this model, shape (n, 28, 28, 1)."""
        return preprocess(self.spec, images)
