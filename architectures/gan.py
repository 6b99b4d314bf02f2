"""Generator and discriminator trained together from one forward pass (paper Section 2.1)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from architectures.base import GenerativeModel
from architectures.losses import gan_losses


class GAN(GenerativeModel):
    def call(self, z, training: bool = False):
        return self.generator(z, training=training)

    def compute_losses(self, x, noise=None, training: bool = True) -> dict:
        if noise is None:
            noise = keras.random.normal(self.noise_shape(ops.shape(x)[0]), seed=self.seed_generator)
        bn = self.bn_training(training)
        fake = self.generator(noise, training=bn)
        losses = gan_losses(self.discriminator(x, training=bn), self.discriminator(fake, training=bn))
        return dict(zip(self.loss_names, losses, strict=True))

    def generate(self, noise: np.ndarray) -> np.ndarray:
        """Images in [0, 1], shape (n, 28, 28), from the given noise (compiled inference: `predict_on_batch`)."""
        out = self.generator.predict_on_batch(noise)
        return np.clip((out[..., 0] + 1.0) / 2.0, 0.0, 1.0)
