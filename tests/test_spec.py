"""The spec objects: variants differ exactly where MODELS.md says."""

from __future__ import annotations

import dataclasses

import pytest

from architectures.spec import MODELS, SPECS, VARIANTS, Choice, get_spec
from suite.grid import make_grid
from suite.profiles import PROFILES


def _has_choice(value) -> bool:
    if isinstance(value, Choice):
        return True
    if isinstance(value, tuple):
        return any(_has_choice(v) for v in value)
    if dataclasses.is_dataclass(value):
        return any(_has_choice(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("variant", ["paper", "code"])
def test_resolved_spec_has_no_choice_left(model, variant):
    spec = get_spec(model, variant)
    assert not _has_choice(spec)
    assert spec.variant == variant


@pytest.mark.parametrize(
    ("model", "paper", "code"),
    [("DenseGAN", 10, 100), ("DenseGAN-Deep", 392, 100), ("CNNGAN", 10, 100), ("DenseVAE", 2, 2), ("CNNVAE", 10, 2)],
)
def test_latent_dimensions(model, paper, code):
    assert get_spec(model, "paper").latent_dim == paper
    assert get_spec(model, "code").latent_dim == code


def test_variant_differences():
    assert get_spec("CNNGAN", "paper").second.layers[2].strides == 2
    assert get_spec("CNNGAN", "code").second.layers[2].strides == 1
    assert get_spec("DenseGAN", "paper").first.output_activation == "tanh"
    assert get_spec("DenseGAN", "code").first.output_activation == "linear"
    assert get_spec("CNNGAN", "code").first.output_activation == "tanh"
    assert get_spec("DenseVAE", "code").second.output_batchnorm is True
    assert get_spec("CNNVAE", "code").binarize_input and not get_spec("CNNVAE", "paper").binarize_input
    assert all(get_spec(m, "code").hidden_activation == "leaky_relu" for m in SPECS)
    assert all(get_spec(m, "paper").hidden_activation == "relu" for m in SPECS)


def test_unknown_model_and_variant_are_refused():
    with pytest.raises(ValueError, match="unknown model 'GAN'"):
        get_spec("GAN")
    with pytest.raises(ValueError, match="unknown variant 'book'"):
        get_spec("CNNGAN", "book")


@pytest.mark.parametrize("variant", VARIANTS)
def test_only_the_cnn_models_are_convolutional(variant):
    convolutional = {name for name in SPECS if get_spec(name, variant).convolutional}
    assert convolutional == {"CNNGAN", "CNNVAE"}


def test_the_quick_grid_trains_dense_models_longer_and_epochs_overrides_every_model():
    quick = PROFILES["quick"]
    grid = {cell.model: cell.epochs for cell in make_grid("torch", list(SPECS), [1e-4], "paper", "quick", [0], 2)}
    assert grid == {m: quick.epochs if m.startswith("CNN") else quick.dense_epochs for m in SPECS}
    assert quick.dense_epochs > quick.epochs, "a dense epoch costs a fraction of a convolutional one"
    assert {c.epochs for c in make_grid("jax", list(SPECS), [1e-4], "paper", "quick", [0], 2, epochs=7)} == {7}
    paper = make_grid("jax", list(SPECS), [1e-4], "paper", "paper", [0, 1], 2)
    assert {c.epochs for c in paper} == {50} and len(paper) == 2 * len(SPECS), "a cell per model and seed"
    assert len({c.cell_id for c in paper}) == len(paper)
