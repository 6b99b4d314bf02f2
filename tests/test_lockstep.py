"""Lockstep runs: from the same NumPy weights, data order and noise, the backends' per-step losses agree.

Each backend trains DenseGAN and DenseVAE through the real `gvbench run --lockstep`, a process per
cell; a run whose torch cells start from one nudged weight must fail the same comparison. Keras 2 (tf-keras) trains
them in lockstep too and must take Keras 3's steps on TensorFlow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from runners.lockstep import PERTURB_ENV
from suite.choices import BACKENDS, KERAS2
from suite.store.folder import read_results, read_steps
from tests.test_smoke import smoke

pytestmark = pytest.mark.parity
MODELS = ["DenseGAN", "DenseVAE"]
LR = "1e-4"
EPOCHS = "3"
STEPS = 12
"""Three epochs of the 512 fixture images in batches of 128: every step is recorded."""
# Step 1 comes from identical weights, images and noise: the backends differ only in float32 reduction order
# (measured: at most 1.0e-7 relative, about float32's epsilon). Steps 2..12 start from weights that already differ
# by that rounding, passed through Adam; measured over these 12 steps: at most 2.0e-7 relative (DenseGAN) and
# 1.7e-6 (DenseVAE, whose loss sums 784 pixels per image). 1e-5 is 6x the largest. One generator weight nudged by
# 1e-2 moves DenseGAN's step-1 d_loss by 1.3e-4 and later steps by 2e-5 to 8e-4 (measured), 2x to 80x beyond it.
RTOL = 1e-5


def per_step(out) -> pd.DataFrame:
    """Per model, loss and step: each backend's value (a column per backend)."""
    steps = read_steps(out)
    return steps.pivot_table(index=["model", "metric", "step"], columns="backend", values="value")


def apart(values: pd.DataFrame, a: str, b: str) -> pd.Series:
    """Where backend a's losses are not within RTOL of b's."""
    return ~pd.Series(np.isclose(values[a], values[b], rtol=RTOL, atol=0), index=values.index)


@pytest.fixture(scope="module")
def lockstep_runs(tmp_path_factory, fixture_data):
    out, perturbed = tmp_path_factory.mktemp("lockstep"), tmp_path_factory.mktemp("perturbed")
    keras2 = tmp_path_factory.mktemp("keras2")
    args = ("--threads", "2", "--epochs", EPOCHS, "--lockstep", "--verbose", "0")
    runs = {b: smoke(b, MODELS, [LR], out, fixture_data, *args) for b in BACKENDS}
    runs[KERAS2] = smoke("tensorflow", MODELS, [LR], keras2, fixture_data, *args, "--impl", KERAS2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PERTURB_ENV, "DenseGAN=generator:1e-2")
        runs["perturbed"] = smoke("torch", MODELS, [LR], perturbed, fixture_data, *args)
    for name, done in runs.items():
        assert done.returncode == 0, f"{name}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return out, perturbed, keras2


def test_lockstep_cells_record_every_step_and_say_their_mode(lockstep_runs):
    out = lockstep_runs[0]
    cells, _ = read_results(out)
    assert (cells.status == "ok").all() and set(cells["mode"]) == {"lockstep"} and len(cells) == 6
    assert cells.cell_id.str.endswith(".lockstep").all()
    values = per_step(out)
    assert list(values.columns) == sorted(BACKENDS) and not values.isna().any().any()
    for (model, loss), group in values.groupby(level=["model", "metric"]):
        assert list(group.index.get_level_values("step")) == list(range(1, STEPS + 1)), (model, loss)
    samples = cells.samples_file.map(lambda name: np.load(out / name))
    assert all(any(key.startswith("weights/") for key in arrays.files) for arrays in samples)


@pytest.mark.parametrize("model", MODELS)
def test_the_backends_per_step_losses_agree_in_lockstep(lockstep_runs, model):
    values = per_step(lockstep_runs[0]).loc[model]
    for other in ("torch", "jax"):
        mismatch = apart(values, other, "tensorflow")
        assert not mismatch.any(), f"{model}: {other} vs tensorflow beyond {RTOL:g}:\n{values[mismatch]}"
    moved = values.tensorflow.groupby(level="metric").nunique()
    assert (moved == STEPS).all(), f"every step's loss differs from the others' (the steps train): {moved}"


def test_one_nudged_weight_on_one_backend_fails_the_agreement(lockstep_runs):
    out, perturbed, _ = lockstep_runs
    reference, nudged = per_step(out), per_step(perturbed)
    values = reference[["tensorflow"]].join(nudged[["torch"]])
    mismatch = apart(values, "torch", "tensorflow")
    assert mismatch.loc["DenseGAN"].groupby(level="step").any().loc[1], "the nudge shows from the first step"
    assert mismatch.loc["DenseGAN"].mean() > 0.5, "and in most steps after it"
    assert not mismatch.loc["DenseVAE"].any(), "the model not nudged still agrees"


def test_keras2_takes_keras3s_steps_on_tensorflow_in_lockstep(lockstep_runs):
    out, _, keras2 = lockstep_runs
    cells, _ = read_results(keras2)
    assert (cells.status == "ok").all() and set(cells.impl) == {KERAS2}
    assert cells.cell_id.str.endswith(".lockstep").all()
    assert cells.keras_version.str.startswith("2.").all(), "a Keras 2 cell records tf-keras's version"
    values = per_step(out)[["tensorflow"]].join(per_step(keras2).tensorflow.rename(KERAS2))
    assert len(values) == 3 * STEPS  # DenseGAN's two losses and DenseVAE's one, every step
    mismatch = apart(values, KERAS2, "tensorflow")
    assert not mismatch.any(), f"Keras 2 vs Keras 3 on tensorflow beyond {RTOL:g}:\n{values[mismatch]}"
