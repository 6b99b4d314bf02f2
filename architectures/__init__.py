"""The five Keras 3 models of "GAN and VAE for MNIST", defined once for every backend."""

from __future__ import annotations

from architectures.spec import MODELS, VARIANTS, ModelSpec, get_spec

__all__ = ["MODELS", "VARIANTS", "ModelSpec", "get_spec", "model_class"]


def model_class(spec: ModelSpec) -> type:
    """The Keras model class (GAN or VAE) of a spec; imports Keras."""
    if spec.family == "gan":
        from architectures.gan import GAN

        return GAN
    from architectures.vae import VAE

    return VAE
