"""The spec objects: variants differ exactly where MODELS.md says."""

from __future__ import annotations

import dataclasses

import pytest

from architectures.spec import MODELS, SPECS, Choice, get_spec


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
