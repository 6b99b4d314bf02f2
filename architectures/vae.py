"""Encoder and decoder trained on the single-sample ELBO (paper Section 2.2)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from architectures.base import GenerativeModel
from architectures.losses import elbo_loss
from architectures.network import build_network
from architectures.spec import ModelSpec, network_inputs


class VAE(GenerativeModel):
    loss_names = ("loss",)

    def __init__(self, spec: ModelSpec, seed: int | None = None, **kwargs):
        super().__init__(spec, seed, **kwargs)
        networks = {
            name: build_network(net, shape, spec.hidden_activation, name)
            for name, (shape, net) in network_inputs(spec).items()
        }
        self.encoder, self.decoder = networks["encoder"], networks["decoder"]
        self.built = True  # both networks are built from their Input shapes

    def encode(self, x, training: bool = False):
        """Mean and log-variance of q(z|x)."""
        mean, logvar = ops.split(self.encoder(x, training=training), 2, axis=-1)
        return mean, logvar

    def call(self, x, training: bool = False):
        mean, _ = self.encode(x, training=training)
        return self.decoder(mean, training=training)

    def compute_losses(self, x, noise=None, training: bool = True) -> dict:
        bn = self.bn_training(training)
        mean, logvar = self.encode(x, training=bn)
        if noise is None:
            noise = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        noise = ops.convert_to_tensor(noise, dtype=mean.dtype)
        z = mean + noise * ops.exp(0.5 * logvar)
        logits = self.decoder(z, training=bn)
        return {"loss": elbo_loss(x, logits, z, mean, logvar)}

    def loss_groups(self) -> list[tuple[str, list]]:
        return [("loss", self.trainable_variables)]

    def generate(self, noise: np.ndarray) -> np.ndarray:
        """Decoded means sigmoid(decoder(z)) in [0, 1], shape (n, 28, 28), for latent codes z."""
        return ops.convert_to_numpy(ops.sigmoid(self.decoder(noise, training=False)))[..., 0]

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """sigmoid(decoder(mean of q(z|x))) for preprocessed images x, shape (n, 28, 28)."""
        return ops.convert_to_numpy(ops.sigmoid(self(x, training=False)))[..., 0]
