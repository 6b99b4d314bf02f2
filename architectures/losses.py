"""The loss math of both model families, written once in `keras.ops`."""

from __future__ import annotations

from keras import ops

from architectures.spec import LOG_2PI


def _bce_from_logits(target: float, logits):
    return ops.mean(ops.binary_crossentropy(ops.full_like(logits, target), logits, from_logits=True))


def gan_losses(real_logits, fake_logits) -> tuple:
    """Discriminator loss BCE(1, D(x)) + BCE(0, D(G(z))) and non-saturating generator loss BCE(1, D(G(z)))."""
    d_loss = _bce_from_logits(1.0, real_logits) + _bce_from_logits(0.0, fake_logits)
    return d_loss, _bce_from_logits(1.0, fake_logits)


def log_normal(x, mean, logvar):
    """Log density of a diagonal Gaussian, summed over the last axis (paper eq. 4)."""
    return ops.sum(-0.5 * (ops.square(x - mean) * ops.exp(-logvar) + logvar + LOG_2PI), axis=-1)


def elbo_loss(x, logits, z, mean, logvar):
    """Negative single-sample Monte-Carlo ELBO, averaged over the batch (paper eq. 3)."""
    cross_entropy = ops.binary_crossentropy(x, logits, from_logits=True)
    log_px_z = -ops.sum(ops.reshape(cross_entropy, (ops.shape(x)[0], -1)), axis=-1)
    log_pz = log_normal(z, ops.zeros_like(z), ops.zeros_like(z))
    log_qz_x = log_normal(z, mean, logvar)
    return -ops.mean(log_px_z + log_pz - log_qz_x)
