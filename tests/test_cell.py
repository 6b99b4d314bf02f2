"""The cell process: seeding without importing other backends' frameworks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

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
