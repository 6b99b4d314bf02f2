"""Generator and discriminator trained together from one forward pass (paper Section 2.1)."""

from __future__ import annotations

import numpy as np
from keras import ops

from architectures.base import GenerativeModel, Steps
from architectures.losses import gan_losses


class GANSteps(Steps):
    """A GAN's forward pass and losses, for a model of either Keras."""

    def call(self, z, training: bool = False):
        return self.generator(z, training=training)

    def compute_losses(self, x, noise=None, training: bool = True) -> dict:
        if noise is None:
            noise = self.draw_noise(self.noise_shape(ops.shape(x)[0]))
        bn = self.bn_training(training)
        fake = self.generator(noise, training=bn)
        losses = gan_losses(self.discriminator(x, training=bn), self.discriminator(fake, training=bn))
        return dict(zip(self.loss_names, losses, strict=True))


class GAN(GANSteps, GenerativeModel):
    def generate(self, noise: np.ndarray) -> np.ndarray:
        """Images in [0, 1], shape (n, 28, 28), from the given noise (compiled inference: `predict_on_batch`)."""
        out = self.generator.predict_on_batch(noise)
        return np.clip((out[..., 0] + 1.0) / 2.0, 0.0, 1.0)
