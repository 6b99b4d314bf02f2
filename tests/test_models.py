"""Every model × variant on every backend: sizes, shapes, and one training step."""

from __future__ import annotations

import math

import pytest

from architectures import MODELS, VARIANTS, get_spec
from suite.choices import BACKENDS

# Parameter totals counted by hand from the tables in MODELS.md (Dense: in·out + out; Conv 5×5:
# 25·in·out + out; BatchNormalization: 4 per unit, 2 of them non-trainable), not from the code.
EXPECTED_PARAMS = {
    "DenseGAN/paper": 1_372_685,
    "DenseGAN/code": 1_381_685,
    "DenseGAN-Deep/paper": 2_401_885,
    "DenseGAN-Deep/code": 2_372_685,
    "CNNGAN/paper": 611_330,
    "CNNGAN/code": 1_180_034,
    "DenseVAE/paper": 1_382_388,
    "DenseVAE/code": 1_385_524,
    "CNNVAE/paper": 662_741,
    "CNNVAE/code": 596_677,
}
CELLS = [f"{m}/{v}" for m in MODELS for v in VARIANTS]


def expected_shapes(key: str) -> dict:
    spec = get_spec(*key.split("/"))
    image = [2, 28, 28, 1]
    if spec.family.name == "gan":
        return {"generator": image, "discriminator": [2, 1]}
    return {"encoder": [2, 2 * spec.latent_dim], "decoder": image}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("key", CELLS)
def test_parameter_count_matches_hand_count(probes, backend, key):
    assert probes[backend][key]["params"] == EXPECTED_PARAMS[key]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("key", CELLS)
def test_output_shapes(probes, backend, key):
    assert probes[backend][key]["shapes"] == expected_shapes(key)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("key", CELLS)
def test_one_step_updates_every_weight_with_finite_losses(probes, backend, key):
    step = probes[backend][key]["step"]
    names = {"d_loss", "g_loss"} if get_spec(*key.split("/")).family.name == "gan" else {"loss"}
    assert set(step["losses"]) == names | {f"{n}_last" for n in names}
    assert all(math.isfinite(v) for v in step["losses"].values())
    # Both networks of a GAN are updated in the same step: every trainable variable moves.
    assert step["trainable_changed"] == step["trainable_total"] > 0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("key", CELLS)
def test_batchnorm_mode_follows_variant(probes, backend, key):
    """The `code` VAEs run BatchNormalization in inference mode while training; all others update it."""
    step = probes[backend][key]["step"]
    spec = get_spec(*key.split("/"))
    assert step["moving_total"] > 0
    assert step["moving_changed"] == (step["moving_total"] if spec.batchnorm_training else 0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("key", ["DenseGAN/paper", "DenseVAE/paper"])
def test_same_seed_repeats_on_its_backend(probes, backend, key):
    entry = probes[backend][key]
    assert entry["repeat_losses"] == entry["step"]["losses"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_step_loss_is_the_loss_of_that_batch(probes, backend):
    """On a single batch the epoch mean and the last-batch value are the same number."""
    for key in CELLS:
        losses = probes[backend][key]["step"]["losses"]
        for name in [n for n in losses if not n.endswith("_last")]:
            assert losses[name] == pytest.approx(losses[f"{name}_last"], rel=1e-6)
