"""Generator and discriminator trained together from one forward pass (paper Section 2.1)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from architectures.base import GenerativeModel
from architectures.losses import gan_losses
from architectures.network import build_network
from architectures.spec import ModelSpec, network_inputs


class GAN(GenerativeModel):
    loss_names = ("d_loss", "g_loss")

    def __init__(self, spec: ModelSpec, seed: int | None = None, **kwargs):
        super().__init__(spec, seed, **kwargs)
        networks = {
            name: build_network(net, shape, spec.hidden_activation, name)
            for name, (shape, net) in network_inputs(spec).items()
        }
        self.generator, self.discriminator = networks["generator"], networks["discriminator"]
        self.built = True  # both networks are built from their Input shapes

    def call(self, z, training: bool = False):
        return self.generator(z, training=training)

    def compute_losses(self, x, noise=None, training: bool = True) -> dict:
        if noise is None:
            noise = keras.random.normal(self.noise_shape(ops.shape(x)[0]), seed=self.seed_generator)
        bn = self.bn_training(training)
        fake = self.generator(noise, training=bn)
        return gan_losses(self.discriminator(x, training=bn), self.discriminator(fake, training=bn))

    def loss_groups(self) -> list[tuple[str, list]]:
        return [
            ("d_loss", self.discriminator.trainable_variables),
            ("g_loss", self.generator.trainable_variables),
        ]

    def generate(self, noise: np.ndarray) -> np.ndarray:
        """Images in [0, 1], shape (n, 28, 28), from the given noise."""
        out = ops.convert_to_numpy(self.generator(noise, training=False))
        return np.clip((out[..., 0] + 1.0) / 2.0, 0.0, 1.0)
