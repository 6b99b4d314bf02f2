"""A test-only hook that makes a cell fail on purpose, to prove the suite survives it.

`GVBENCH_FAULT=KIND[:MODEL[:EPOCH]][,...]` in a cell's environment injects KIND into cells
of MODEL (default: every model) at EPOCH (default 1). It is read only by the cell process.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import keras

FAULT_ENV = "GVBENCH_FAULT"
KINDS = ("crash", "nostart", "segfault", "kill", "killparent", "diverge", "sleep")
"""crash: raise; nostart: raise before the first epoch (as a compiler rejecting the model would);
segfault: SIGSEGV; kill: SIGKILL (as the OOM killer does); killparent: SIGKILL to
the process that started the cell (a Ray worker lost mid-cell); diverge: NaN weights at the start
of EPOCH, so its losses are NaN; sleep: hang after EPOCH (for timeouts, interrupts)."""


class FaultInjector(keras.callbacks.Callback):
    """Injects one fault into training at a given epoch (1-based)."""

    def __init__(self, kind: str, epoch: int):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"{FAULT_ENV}: unknown fault {kind!r}; valid: {', '.join(KINDS)}")
        self.kind, self.epoch = kind, epoch

    def _announce(self) -> None:
        print(f"injected fault: {self.kind} at epoch {self.epoch}", file=sys.stderr, flush=True)

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.kind == "nostart":
            self._announce()
            raise RuntimeError("injected failure before the first epoch")

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.kind == "diverge" and epoch + 1 == self.epoch:
            self._announce()
            for variable in self.model.trainable_variables:
                variable.assign(keras.ops.full(variable.shape, float("nan"), variable.dtype))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch + 1 != self.epoch or self.kind in ("diverge", "nostart"):
            return
        self._announce()
        if self.kind == "crash":
            raise RuntimeError("injected crash")
        if self.kind == "segfault":
            os.kill(os.getpid(), signal.SIGSEGV)
        if self.kind == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if self.kind == "killparent":
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(60)  # the parent's death kills this process too (PR_SET_PDEATHSIG)
        if self.kind == "sleep":
            time.sleep(24 * 3600)


def from_env(model: str) -> list[FaultInjector]:
    """The injectors `GVBENCH_FAULT` asks for in a cell of `model`."""
    injectors = []
    for fault in filter(None, os.environ.get(FAULT_ENV, "").split(",")):
        kind, target, epoch = (fault.split(":") + ["", ""])[:3]
        if target in ("", model):
            injectors.append(FaultInjector(kind, int(epoch or 1)))
    return injectors
