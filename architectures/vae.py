"""Encoder and decoder trained on the single-sample ELBO (paper Section 2.2)."""

from __future__ import annotations

import numpy as np
from keras import ops
from scipy.special import expit

from architectures.base import GenerativeModel, Steps
from architectures.losses import elbo_loss

TEST_ELBO_SEED = 5678
"""Seed of the reparameterisation noise of the test-set ELBO."""
TEST_BATCH = 500


class VAESteps(Steps):
    """A VAE's forward pass and loss, for a model of either Keras."""

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
            noise = self.draw_noise(ops.shape(mean))
        noise = ops.convert_to_tensor(noise, dtype=mean.dtype)
        z = mean + noise * ops.exp(0.5 * logvar)
        logits = self.decoder(z, training=bn)
        return dict(zip(self.loss_names, [elbo_loss(x, logits, z, mean, logvar)], strict=True))


class VAE(VAESteps, GenerativeModel):
    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and log-variance of q(z|x) in inference mode, as NumPy (compiled: `predict_on_batch`)."""
        mean, logvar = np.split(self.encoder.predict_on_batch(x), 2, axis=-1)
        return mean, logvar

    def generate(self, noise: np.ndarray) -> np.ndarray:
        """Decoded means sigmoid(decoder(z)) in [0, 1], shape (n, 28, 28), for latent codes z."""
        return expit(self.decoder.predict_on_batch(noise))[..., 0]

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """sigmoid(decoder(mean of q(z|x))) for preprocessed images x, shape (n, 28, 28)."""
        return self.generate(self.posterior(x)[0])

    def sample_arrays(self, generated: np.ndarray, test_images: np.ndarray) -> dict[str, np.ndarray]:
        """The generated images, the first test images and their reconstructions (uint8)."""
        inputs = test_images[: len(generated)]
        reconstructed = np.rint(self.reconstruct(self.preprocess(inputs)) * 255).astype(np.uint8)
        return {"generated": generated, "inputs": inputs, "reconstructed": reconstructed}

    def test_fit(self, test_images: np.ndarray) -> dict[str, float]:
        """Negative ELBO (nats/image, single sample) and per-pixel squared reconstruction error on the test images.

        BatchNormalization in inference mode; each network runs compiled (`predict_on_batch`), the ELBO is the
        training loss (`elbo_loss`) of their outputs."""
        x = self.preprocess(test_images)
        noise = np.random.default_rng(TEST_ELBO_SEED).standard_normal((len(x), self.spec.latent_dim))
        noise = noise.astype("float32")
        nelbo, squared = 0.0, 0.0
        for i in range(0, len(x), TEST_BATCH):
            batch = x[i : i + TEST_BATCH]
            mean, logvar = self.posterior(batch)
            z = mean + noise[i : i + TEST_BATCH] * np.exp(0.5 * logvar)
            logits = self.decoder.predict_on_batch(z)
            tensors = [ops.convert_to_tensor(a) for a in (batch, logits, z, mean, logvar)]
            nelbo += float(ops.convert_to_numpy(elbo_loss(*tensors))) * len(batch)
            squared += float(np.square(self.generate(mean) - batch[..., 0]).sum())
        return {"test_nelbo": nelbo / len(x), "test_reconstruction_mse": squared / x[..., 0].size}
