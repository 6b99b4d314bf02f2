"""The five Keras 3 models of "GAN and VAE for MNIST", defined once for every backend."""

from __future__ import annotations

import importlib

from architectures.family import FAMILIES, GAN, VAE, Family
from architectures.spec import MODELS, VARIANTS, ModelSpec, get_spec

__all__ = [
    "FAMILIES",
    "GAN",
    "MODELS",
    "VAE",
    "VARIANTS",
    "Family",
    "ModelSpec",
    "get_spec",
    "model_class",
    "steps_class",
]


def load(path: str) -> type:
    """The class a `module:Class` path names."""
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def model_class(spec: ModelSpec) -> type:
    """The Keras model class (GAN or VAE) of a spec; imports Keras."""
    return load(spec.family.model_class)


def steps_class(spec: ModelSpec) -> type:
    """The family's forward pass and losses (GANSteps or VAESteps), for a model of either Keras; imports Keras."""
    return load(spec.family.steps_class)
