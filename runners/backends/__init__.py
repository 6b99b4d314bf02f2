"""Per-backend code: the train step, thread controls and version of each backend.

Each module holds what cannot be written in `keras.ops`: taking gradients of each
loss with respect to its own variables and applying them (one forward pass, one
optimizer update per step). Everything else is shared.
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType

import keras

from architectures import ModelSpec, model_class


def current() -> ModuleType:
    """The module of the backend Keras was imported with."""
    return importlib.import_module(f"runners.backends.{keras.backend.backend()}")


@functools.cache
def _trainable_class(model_cls: type) -> type:
    return type(model_cls.__name__, (current().TrainStep, model_cls), {})


def build_trainable(spec: ModelSpec, seed: int | None = None) -> keras.Model:
    """The model of `spec` with this backend's `train_step`, ready for `compile` and `fit`."""
    return _trainable_class(model_class(spec))(spec, seed)
