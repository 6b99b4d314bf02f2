"""The `code` variant's training-step rules on every backend, Keras and native (tests/update_rules_probe.py).

VAEs: one Adam applied once per network (encoder, then decoder), so its counter moves by two per
step and the decoder's first update is a t = 2 step. GANs: a step draws BATCH_SIZE noise rows, also
for a shorter batch. `paper` keeps one update per step and as many noise rows as images.
"""

from __future__ import annotations

import pytest

from suite.choices import BACKENDS
from tests.conftest import probe_every_backend

STEPS = 3
T2_OVER_T1 = (
    0.7441  # sqrt(1 - 0.999**2) / (1 - 0.9**2) * (1 - 0.9) / sqrt(1 - 0.999): Adam's first step at t = 2 over t = 1
)
# Largest difference between an update and the NumPy Adam step, in units of the learning rate. The
# gradient is read off one SGD step (W0 - W1) and carries float32 rounding, which matters only where
# the gradient is so small that Adam's epsilon shapes the step: measured <= 1.3e-3 lr. A step at the
# wrong t differs by 1 - 0.744 = 0.256 lr.
STEP_TOL = 1e-2
# Native baselines: torch.optim.Adam and optax add epsilon after the bias correction (Keras before it),
# which moves the median ratio by up to 2.5e-3 (measured); a wrong t moves it by 0.256.
RATIO_TOL = 1e-2


@pytest.fixture(scope="module")
def rules() -> dict[str, dict]:
    return probe_every_backend("update_rules_probe.py")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model", ["DenseVAE", "CNNVAE"])
def test_code_vae_applies_its_one_adam_once_per_network(rules, backend, model):
    found = rules[backend][f"{model}/code"]
    assert found["keras_iterations"] == found["native_iterations"] == 2 * STEPS
    assert found["encoder"]["error_t1"] < STEP_TOL, "the encoder's first update is Adam's step at t = 1"
    assert found["decoder"]["error_t2"] < STEP_TOL, "the decoder's first update is Adam's step at t = 2"
    assert found["decoder"]["keras_ratio_to_t1"] == pytest.approx(T2_OVER_T1, abs=1e-3)
    assert found["encoder"]["native_ratio_to_t1"] == pytest.approx(1.0, abs=RATIO_TOL)
    assert found["decoder"]["native_ratio_to_t1"] == pytest.approx(T2_OVER_T1, abs=RATIO_TOL)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model", ["DenseVAE", "CNNVAE"])
def test_paper_vae_updates_every_network_once_per_step(rules, backend, model):
    found = rules[backend][f"{model}/paper"]
    assert found["keras_iterations"] == found["native_iterations"] == STEPS
    for network in ("encoder", "decoder"):
        assert found[network]["error_t1"] < STEP_TOL
        assert found[network]["native_ratio_to_t1"] == pytest.approx(1.0, abs=RATIO_TOL)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("variant", "rows"), [("code", 128), ("paper", 12)])
def test_gan_noise_rows_for_a_short_batch(rules, backend, variant, rows):
    found = rules[backend][f"DenseGAN/{variant}"]
    assert found["keras_rows"] == rows
    assert found["keras_same"], "the step's own draw gives the losses of that noise given explicitly"
    assert found["native_same"], f"the native step draws {rows} rows: replaying that draw gives its losses"
