"""Per-backend code: the train step, thread controls and version of each backend.

Each module `runners/backends/<name>.py` holds what cannot be written in `keras.ops`: taking
gradients of each loss with respect to its own variables and applying them (one forward pass,
one optimizer update per step). What it must provide is `Backend`; everything else is shared.
Importing this package imports neither Keras nor any backend.
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import keras

    from architectures import ModelSpec

from suite.choices import BACKENDS


@runtime_checkable
class Backend(Protocol):
    """What each backend module provides."""

    TrainStep: type
    """A mixin defining Keras' `train_step` for this backend (its signature is the backend trainer's)."""

    def configure_threads(self, threads: int) -> str:
        """Set the backend's own thread controls to `threads`; say what was set."""
        ...

    def version(self) -> str:
        """The backend framework's version."""
        ...

    def phases(self, model: keras.Model, calls: dict, x, noise) -> list:
        """The `runners.phases.Phase`s of `model`'s train step on batch `x` and `noise`, built from the step's own
        code: each network's forward calls (`calls`: its inputs), the backward and the optimizer's update."""
        ...

    def compiled_step(self, model: keras.Model, x) -> object:
        """The `runners.phases.STEP` of `model`: its train step on batch `x`, compiled and called as `fit` calls it,
        without the loop around it (and without changing the state `fit` trains)."""
        ...

    def layer_passes(self, layer: keras.layers.Layer, x) -> dict:
        """`runners.phases.LAYER_PASSES` of one Keras layer on input `x`, each a callable waiting for its result."""
        ...

    def traced(self, run, folder, name: str) -> tuple:
        """Run `run()` under the backend's own profiler; save its trace in `folder` (a file named by `name`) and
        return its path with each operation's self seconds and count."""
        ...

    def cache_compilations(self, folder: str) -> None:
        """From now on keep what the backend compiles in `folder`, for later processes to load instead of compiling,
        where the backend can; cells call it after training, so that no epoch's time depends on it."""
        ...


def load(name: str) -> Backend:
    """The module of backend `name`, checked against `Backend`."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    module = importlib.import_module(f"runners.backends.{name}")
    check(module)
    return module


def check(module: ModuleType) -> None:
    """Raise TypeError naming what `module` lacks of the `Backend` contract."""
    wanted = (
        "TrainStep",
        "configure_threads",
        "version",
        "cache_compilations",
        "phases",
        "compiled_step",
        "layer_passes",
        "traced",
    )
    missing = [name for name in wanted if not hasattr(module, name)]
    if not missing and not callable(getattr(module.TrainStep, "train_step", None)):
        missing.append("TrainStep.train_step")
    if missing or not isinstance(module, Backend):
        raise TypeError(f"{module.__name__} does not provide the backend contract: lacks {', '.join(missing)}")


def current() -> Backend:
    """The module of the backend Keras was imported with."""
    import keras

    return load(keras.backend.backend())


@functools.cache
def _trainable_class(model_cls: type) -> type:
    return type(model_cls.__name__, (current().TrainStep, model_cls), {})


def build_trainable(spec: ModelSpec, seed: int | None = None) -> keras.Model:
    """The model of `spec` with this backend's `train_step`, ready for `compile` and `fit`."""
    from architectures import model_class

    return _trainable_class(model_class(spec))(spec, seed)
