"""Cross-backend parity: the same weights, inputs and noise give the same numbers on every backend.

Each backend runs `runners.parity_probe` in a process of its own (tox -e parity). Tolerances and their
reasons are in `suite.parity.TOLERANCES`. Golden files: `gvbench parity --update-golden tests/golden`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from architectures import MODELS, VARIANTS, get_spec
from suite.choices import BACKENDS
from suite.parity import PERTURB_ENV, TRAIN_STEPS, compare, compare_backends, compare_golden, kind_of, probe

pytestmark = pytest.mark.parity
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, np.ndarray]]:
    return {backend: probe(backend, list(MODELS)) for backend in BACKENDS}


def only(arrays: dict[str, np.ndarray], model: str, kind: str | None = None) -> dict[str, np.ndarray]:
    return {k: v for k, v in arrays.items() if k.split("/")[0] == model and kind in (None, kind_of(k))}


@pytest.mark.parametrize("kind", ["forward", "train", "weights"])
@pytest.mark.parametrize("model", MODELS)
def test_backends_agree(results, model, kind):
    subset = {backend: only(arrays, model, kind) for backend, arrays in results.items()}
    assert all(subset.values()), f"every backend probed {model} {kind}"
    mismatches = compare_backends(subset)
    assert not mismatches, "\n".join(map(str, mismatches))


@pytest.fixture(scope="module")
def keras2() -> dict[str, np.ndarray]:
    return probe("tensorflow", list(MODELS), keras2=True)


@pytest.mark.parametrize("model", MODELS)
def test_keras2_computes_what_keras3_does_on_tensorflow(results, keras2, model):
    # The same TensorFlow kernels under both Keras, so the backends' tolerances (suite.parity.TOLERANCES) hold with
    # room; every key (every weight of every layer, by position and class) must exist in both.
    mine, reference = only(keras2, model), only(results["tensorflow"], model)
    assert mine.keys() == reference.keys()
    mismatches = compare(mine, reference, "tf_keras", "tensorflow")
    assert not mismatches, "\n".join(map(str, mismatches))


@pytest.mark.parametrize("model", MODELS)
def test_probe_covers_every_network_mode_variant_and_step(results, model):
    arrays = results["tensorflow"]
    family = get_spec(model).family.name
    nets = ("generator", "discriminator") if family == "gan" else ("encoder", "decoder")
    for variant in VARIANTS:
        for net in nets:
            inference = arrays[f"{model}/{variant}/forward/{net}/inference"]
            training = arrays[f"{model}/{variant}/forward/{net}/training"]
            assert inference.shape == training.shape and np.isfinite(training).all()
        for loss in ("d_loss", "g_loss") if family == "gan" else ("loss",):
            steps = arrays[f"{model}/{variant}/train/{loss}"]
            assert steps.shape == (TRAIN_STEPS,) and np.isfinite(steps).all()
        if get_spec(model, variant).batchnorm_training:
            key = f"{model}/{variant}/forward/{nets[0]}"
            same = np.allclose(arrays[f"{key}/inference"], arrays[f"{key}/training"])
            assert not same, "BatchNormalization's training mode (batch statistics) must be exercised"


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_matches_its_golden_history(results, backend):
    mismatches = compare_golden({backend: results[backend]}, GOLDEN)
    assert not mismatches, "\n".join(map(str, mismatches))


def test_a_perturbed_weight_on_one_backend_is_reported(results):
    weight = "generator/4-Conv2DTranspose/kernel"
    env = os.environ | {PERTURB_ENV: f"CNNGAN={weight}:1e-2"}
    perturbed = probe("torch", ["CNNGAN"], env=env)
    mismatches = compare(perturbed, only(results["tensorflow"], "CNNGAN"), "torch", "tensorflow")
    messages = "\n".join(map(str, mismatches))
    trained = [m for m in mismatches if m.key == f"CNNGAN/paper/weights/{weight}"]
    assert trained and trained[0].index == (0, 0, 0, 0) and trained[0].max_abs == pytest.approx(1e-2, abs=2e-3)
    assert f"CNNGAN (paper) trained weight {weight}: torch differs from tensorflow by" in messages
    assert "CNNGAN (paper) output of generator/training: torch differs from tensorflow by" in messages
    assert "CNNGAN (paper) per-step g_loss" in messages
    assert not any("output of discriminator" in str(m) for m in mismatches), "only what the weight feeds differs"
