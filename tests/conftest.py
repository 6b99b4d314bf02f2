"""Shared fixtures (a small synthetic MNIST-shaped dataset, one probe process per backend) and the test tiers.

Every test that starts a process or trains a model is marked `process` at collection, from the names its code,
its fixtures and the module helpers it calls use (`STARTS_PROCESSES`). `pytest -m "not process"` (tox -e unit)
runs the rest in a few minutes, and there a test that starts a process anyway fails and says to add its name.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from suite.choices import BACKENDS
from suite.mnist import ARRAYS, CHECKSUMS_ENV, save_npz, sha256

ROOT = Path(__file__).resolve().parent.parent
STARTS_PROCESSES = frozenset(
    {
        "subprocess",
        "Popen",
        "run_gvbench",
        "probe_every_backend",
        "LocalExecutor",
        "RayExecutor",
        "run_grid",
        "fit",
        "sync_playwright",
    }
)
"""Names whose use means a test starts a process (a cell, a probe, a grid, a browser) or trains a model."""
UNIT_ENV = "GVBENCH_UNIT"
"""Set by tox -e unit: starting a process fails the test, so an unmarked one cannot slip into the fast tier."""


def _names(code: types.CodeType) -> set[str]:
    """Every global and attribute name a code object and the functions nested in it use."""
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= _names(const)
    return found


def _uses(function: object, module: types.ModuleType, seen: set) -> set[str]:
    """The names `function` uses, and those of the test-module helpers it calls, followed to any depth."""
    code = getattr(inspect.unwrap(function), "__code__", None)
    if code is None or code in seen:
        return set()
    seen.add(code)
    found = _names(code)
    for name in list(found):
        helper = getattr(module, name, None)
        if inspect.isfunction(helper) and helper.__module__.startswith("tests"):
            found |= _uses(helper, sys.modules[helper.__module__], seen)
    return found


def starts_processes(item: pytest.Item) -> bool:
    """Whether a test, its fixtures or the helpers they call name anything in `STARTS_PROCESSES`."""
    seen: set = set()
    functions = [(item.function, item.module)]
    for defs in item._fixtureinfo.name2fixturedefs.values():
        ours = [d.func for d in defs if d.func.__module__.startswith("tests") and d.func is not _GUARD]
        functions += [(f, sys.modules[f.__module__]) for f in ours]
    return any(_uses(f, m, seen) & STARTS_PROCESSES for f, m in functions if m is not None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "process: starts a process or trains a model (marked at collection)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.Function) and starts_processes(item):
            item.add_marker(pytest.mark.process)


@pytest.fixture(autouse=True)
def no_process_in_the_fast_tier(request, monkeypatch):
    """In tox -e unit: a test not marked `process` that starts one fails, naming what to add."""
    if not os.environ.get(UNIT_ENV) or request.node.get_closest_marker("process"):
        return

    def refuse(*args, **kwargs):
        raise AssertionError(
            f"{request.node.nodeid} starts a process but is not marked `process`: add the name it calls to "
            "tests/conftest.py STARTS_PROCESSES"
        )

    monkeypatch.setattr(subprocess, "Popen", refuse)


_GUARD = inspect.unwrap(no_process_in_the_fast_tier)


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
