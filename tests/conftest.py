"""Shared fixtures: a small synthetic MNIST-shaped dataset and one probe process per backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from suite.choices import BACKENDS
from suite.mnist import ARRAYS, CHECKSUMS_ENV, save_npz, sha256

ROOT = Path(__file__).resolve().parent.parent


def make_fixture(folder: Path, n_train: int = 512, n_test: int = 64) -> tuple[Path, Path, dict]:
    """An mnist.npz-shaped file of random digits-like arrays and a JSON of its checksums."""
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    data, checksums = folder / "mini-mnist.npz", folder / "mini-mnist.sha256.json"
    save_npz(arrays, data)
    checksums.write_text(json.dumps({k: sha256(arrays[k]) for k in ARRAYS}))
    return data, checksums, arrays


@pytest.fixture(scope="session")
def fixture_data(tmp_path_factory) -> tuple[Path, Path, dict]:
    return make_fixture(tmp_path_factory.mktemp("data"))


@pytest.fixture
def fixture_env(fixture_data, monkeypatch, tmp_path) -> dict:
    """Environment in which the fixture is accepted and Keras' cache is an empty temp folder."""
    data, checksums, _ = fixture_data
    monkeypatch.setenv(CHECKSUMS_ENV, str(checksums))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv("GVBENCH_DATA", raising=False)
    return dict(os.environ)


def run_gvbench(args: list[str], env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "suite", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def probe_every_backend(script: str) -> dict[str, dict]:
    """The JSON line `tests/<script>` prints under each backend, each in a process of its own."""
    results = {}
    for backend in BACKENDS:
        env = os.environ | {"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        done = subprocess.run(
            [sys.executable, str(ROOT / "tests" / script)], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{script} failed on {backend}:\n{done.stderr[-3000:]}"
        results[backend] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


@pytest.fixture(scope="session")
def probes() -> dict[str, dict]:
    """What `tests/probe.py` reports under each backend."""
    return probe_every_backend("probe.py")
