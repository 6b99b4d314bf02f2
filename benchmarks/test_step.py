"""One steady-state training step of every model on this process's backend (KERAS_BACKEND), Keras and native (and
Keras 2, tf-keras, on TensorFlow).

Benchmarks, not tests: they assert nothing about speed. `tox -e perf-tf` (perf-torch, perf-jax)
runs them with pytest-benchmark and saves the JSON, so `pytest-benchmark compare` works across
commits. Each round is one step on the same batch of 128 images, finished before the clock stops
(losses fetched); warm-up rounds, which trace and compile, are not timed.
"""

from __future__ import annotations

import os

from runners.threads import pin

THREADS = int(os.environ.get("GVBENCH_THREADS", os.cpu_count() or 1))
THREAD_CONTROLS = pin(THREADS)
"""The threads are pinned before any backend is imported, as a cell does."""

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from architectures import MODELS, get_spec  # noqa: E402
from architectures.flops import train_step_flops  # noqa: E402
from architectures.inputs import preprocess  # noqa: E402
from suite.choices import IMPLS, KERAS2, KERAS2_BACKENDS, KERAS2_ENV  # noqa: E402

BATCH = 128
LR = 1e-4
WARMUP_ROUNDS = 3
ROUNDS = 20


def keras_step(spec, x: np.ndarray):
    import keras

    from runners import backends

    model = backends.build_trainable(spec, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(LR), jit_compile="auto")
    return lambda: model.train_on_batch(x, return_dict=True)


def keras2_step(spec, x: np.ndarray):
    from runners import keras2

    model = keras2.build(spec, seed=0)
    model.compile(optimizer=keras2.adam(LR), jit_compile=keras2.JIT["auto"])
    return lambda: model.train_on_batch(x, return_dict=True)


def native_step(spec, x: np.ndarray):
    from runners import native

    model = native.build(spec, os.environ["KERAS_BACKEND"], native.init_weights(spec, 0), LR, "auto", 0)
    return lambda: [float(loss) for loss in model.step(x)]


def keras2_version() -> str:
    from runners import keras2

    return keras2.version()


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("model", MODELS)
def test_train_step(benchmark, model: str, impl: str):
    import keras

    from runners import backends

    backend = backends.current()
    if impl == KERAS2 and keras.backend.backend() not in KERAS2_BACKENDS:
        pytest.skip(f"{KERAS2} runs on {', '.join(KERAS2_BACKENDS)} only")
    if impl == KERAS2 and any(os.environ.get(name) != value for name, value in KERAS2_ENV.items()):
        pytest.skip(f"{KERAS2} runs with {KERAS2_ENV} set (tox -e perf-tf sets it)")
    controls = f"{THREAD_CONTROLS}; {backend.configure_threads(THREADS)}"
    keras.utils.set_random_seed(0)
    spec = get_spec(model)
    images = np.random.default_rng(0).integers(0, 256, (BATCH, 28, 28), dtype=np.uint8)
    step = {"keras": keras_step, "native": native_step, KERAS2: keras2_step}[impl](spec, preprocess(spec, images))
    benchmark.group = f"{keras.backend.backend()} {model}"
    benchmark.extra_info |= {
        "backend": keras.backend.backend(),
        "backend_version": backend.version(),
        "keras_version": keras2_version() if impl == KERAS2 else keras.__version__,
        "impl": impl,
        "threads": THREADS,
        "thread_controls": controls,
        "train_step_gflop": train_step_flops(spec, BATCH) / 1e9,
    }
    benchmark.pedantic(step, rounds=ROUNDS, iterations=1, warmup_rounds=WARMUP_ROUNDS)
    benchmark.extra_info["median_gflop_per_s"] = benchmark.extra_info["train_step_gflop"] / benchmark.stats.stats.median
