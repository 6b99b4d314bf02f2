"""The five Keras 3 models of "GAN and VAE for MNIST", defined once for every backend."""

from __future__ import annotations

import importlib

from architectures.family import FAMILIES, GAN, VAE, Family
from architectures.spec import MODELS, VARIANTS, ModelSpec, get_spec

__all__ = ["FAMILIES", "GAN", "MODELS", "VAE", "VARIANTS", "Family", "ModelSpec", "get_spec", "model_class"]


def model_class(spec: ModelSpec) -> type:
    """The Keras model class (GAN or VAE) of a spec; imports Keras."""
    module, name = spec.family.model_class.split(":")
    return getattr(importlib.import_module(module), name)
