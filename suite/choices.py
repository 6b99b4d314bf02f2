"""The closed sets every layer names: backends, implementations, compile modes, training modes, and the statuses of
cells and of version-set steps.

Each is a value of a results column and, but for the statuses, a command-line choice. This module imports
nothing of gvbench's, so the lowest module may name them.
"""

from __future__ import annotations

from enum import StrEnum

BACKENDS = ("tensorflow", "torch", "jax")
"""Keras backends gvbench measures; each has a module of `runners/backends/` by that name."""
KERAS2 = "tf_keras"
IMPLS = ("keras", "native", KERAS2)
"""`keras`: the models of architectures/ trained by Keras 3's fit; `native`: runners/native/, no Keras; `tf_keras`:
the same models built and trained by Keras 2 (the `tf-keras` package, runners/keras2.py), on TensorFlow only."""
KERAS2_BACKENDS = ("tensorflow",)
KERAS2_ENV = {"TF_USE_LEGACY_KERAS": "1"}
"""The environment a `tf_keras` cell's process starts with, so that `tf.keras` there is Keras 2 too."""
PATCHED = "keras_patched"
"""`gvbench profile` only: the Keras models with a candidate fix of Keras' JAX convolution gradients applied at
Keras' operations (runners/backends/jax_patch.py); JAX only."""
PROFILE_DEFAULT = ("keras", "native")
PROFILE_IMPLS = (*PROFILE_DEFAULT, PATCHED)
PATCHED_BACKENDS = ("jax",)
JIT_MODES = ("auto", "on", "off")
"""Compile mode asked for: the backend's default (`auto`), compiled (`on`) or not (`off`)."""
MODES = ("independent", "lockstep")
"""`independent`: weights, data order and noise from the backend's own generator, seeded; `lockstep`: all three
made in NumPy from the seed, the same on every backend (`runners.lockstep`)."""


class Status(StrEnum):
    """How a cell ended (the `status` column)."""

    OK = "ok"
    DIVERGED = "diverged"
    """A non-finite epoch loss stopped training (`diverged_epoch`)."""
    FAILED = "failed"
    """The cell raised, or its process died (`error`)."""
    TIMEOUT = "timeout"
    """It ran past `--cell-timeout`; finished epochs kept."""
    INTERRUPTED = "interrupted"
    """SIGINT or SIGTERM stopped it; finished epochs kept."""
    UNSUPPORTED = "unsupported"
    """A compile mode other than `auto` failed before its first epoch finished (`error`)."""
    BUDGET = "budget"
    """A time-to-target cell trained its whole budget (seconds or epochs) without reaching its family's target."""

    @property
    def completed(self) -> bool:
        """Whether the cell trained to its planned end: all its epochs, its target or its budget."""
        return self in COMPLETED

    @property
    def acceptable(self) -> bool:
        """Whether a grid with this cell still exits 0 (`unsupported` and `budget` are findings, not failures)."""
        return self in (*COMPLETED, Status.UNSUPPORTED)


class StepStatus(StrEnum):
    """How a version set's step of `gvbench versions` ended (versions.csv's `status` column)."""

    NOT_INSTALLED = "not installed"
    """pip could not install the set."""
    DOES_NOT_IMPORT = "does not import"
    """Keras or a backend fails to import under the set."""
    RAN = "ran"
    """The set's run had every cell ok."""
    CELLS_FAILED = "cells failed"
    """The set's run ended with a cell not ok (see the run's cells.csv)."""
    INTERRUPTED = "interrupted"
    """SIGINT or SIGTERM stopped the run; the rounds stop there."""


NOT_RUN = (StepStatus.NOT_INSTALLED, StepStatus.DOES_NOT_IMPORT)
"""The steps of a set that never ran: what the history lists as not run."""
COMPLETED = (Status.OK, Status.BUDGET)
"""Statuses of cells that trained to their planned end and were scored: what timing and quality tables read."""
MISSING = "missing"
"""What reports and comparisons show for a cell of the grid that has no row; never a cell's own status."""
