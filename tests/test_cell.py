"""The cell process: importing Keras and seeding without other backends' frameworks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from suite.choices import BACKENDS
from tests.conftest import ROOT

CHECK = """
import sys, random
from runners.cell import set_random_seed
set_random_seed(7)
first = random.random()
import numpy as np
print("tensorflow" in sys.modules, first == random.Random(7).random(), np.random.get_state()[1][0] == 7)
"""


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_seeding_a_cell_does_not_import_tensorflow(backend):
    env = os.environ | {"KERAS_BACKEND": backend}
    done = subprocess.run([sys.executable, "-c", CHECK], env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "True", "True"]


IMPORTS = """
import os, sys
from runners.cell import import_keras
import_keras(os.environ["KERAS_BACKEND"])
import keras
from architectures import gan, judge, vae
from runners import backends, scoring
from suite import mnist
backends.current()
print(" ".join(sorted(m for m in ("tensorflow", "torch", "jax", "matplotlib.pyplot", "pandas") if sys.modules.get(m))))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cell_imports_its_own_framework_and_not_the_others(backend):
    # A plain `import keras` brings JAX into every process where JAX is installed, and matplotlib and pandas.
    env = os.environ | {"KERAS_BACKEND": backend}
    done = subprocess.run([sys.executable, "-c", IMPORTS], env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [backend]


def test_a_jax_cell_caches_what_its_scoring_compiles_and_nothing_of_its_training(tmp_path, fixture_data, fixture_env):
    """The run's compilation cache is turned on after the last epoch: every first epoch still compiles from nothing."""
    from suite.choices import Status
    from suite.contract import Cell, Task
    from suite.executor import LocalExecutor
    from suite.stop import StopRequest

    cache = tmp_path / "cache"
    cell = Cell("jax", "DenseVAE", "paper", 1e-4, "smoke", 0, 2, 1)
    task = Task(cell, str(fixture_data[0]), 0, compile_cache=str(cache))
    result = LocalExecutor().run(task, tmp_path / "s.npz", tmp_path, tmp_path / "cell.log", StopRequest())
    assert result.status == Status.OK, (tmp_path / "cell.log").read_text()[-2000:]
    programs = {path.name.rsplit("-", 2)[0] for path in cache.glob("*-cache")}
    assert "jit_predict_step" in programs, programs
    assert not [name for name in programs if "train" in name], f"training compiled into the cache: {programs}"
