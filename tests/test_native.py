"""Native baselines against their Keras twins: the same weights, images and noise give the same losses."""

from __future__ import annotations

import pytest

from architectures import MODELS, VARIANTS
from suite.choices import BACKENDS
from tests.conftest import probe_every_backend

# Both sides compute the same float32 math with differently ordered reductions (sums over up to
# 784 pixels × 16 images, convolutions of 3,200 products): they agree to ~1e-6 relative here.
# 1e-4 leaves room for other CPUs' kernels; a real difference (a padding off by one pixel, a
# transposed kernel, BatchNorm in the wrong mode, a loss term missing) moves a loss by > 1e-2.
RTOL = 1e-4


@pytest.fixture(scope="module")
def native_probes() -> dict[str, dict]:
    return probe_every_backend("native_probe.py")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("key", [f"{m}/{v}" for m in MODELS for v in VARIANTS])
def test_native_loss_equals_keras_loss_from_the_same_weights(native_probes, backend, key):
    entry = native_probes[backend][key]
    assert entry["keras"].keys() == entry["native"].keys()
    for name, value in entry["keras"].items():
        assert entry["native"][name] == pytest.approx(value, rel=RTOL), f"{backend} {key} {name}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_native_weights_round_trip_and_fresh_weights_fit_keras(native_probes, backend):
    for key, entry in native_probes[backend].items():
        assert entry["round_trip"], f"{key}: weights changed on the way into the native model and back"
        assert entry["init_shapes_fit"], f"{key}: init_weights does not match the Keras model's weight shapes"


def test_glorot_limit_and_batchnorm_defaults():
    import numpy as np

    from architectures import get_spec
    from runners.native import init_weights

    weights = init_weights(get_spec("CNNGAN"), 0)
    kernel = weights["discriminator"][0]  # Conv2D 5×5, 1 -> 32: limit sqrt(6 / (25 · (1 + 32)))
    assert kernel.shape == (5, 5, 1, 32) and np.abs(kernel).max() <= np.sqrt(6 / (25 * 33))
    assert np.abs(kernel).max() > 0.9 * np.sqrt(6 / (25 * 33)), "drawn over the whole Glorot range"
    gamma, beta, mean, variance = weights["discriminator"][2:6]
    assert (gamma == 1).all() and (beta == 0).all() and (mean == 0).all() and (variance == 1).all()
