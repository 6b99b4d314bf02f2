"""FLOP counts against hand counts, and the GFLOP/s columns a cell row derives from them."""

from __future__ import annotations

import pytest

from architectures import get_spec
from architectures.flops import block_flops, forward_flops, train_step_flops
from architectures.spec import Block
from suite.contract import Cell
from suite.run import rows
from tests.test_results import fake_result


def test_dense_layer_is_two_flops_per_weight():
    # Dense 784 -> 600: each of the 600 outputs is 784 multiply-adds.
    assert block_flops(Block("dense", 600), (784,)) == 2 * 784 * 600


def test_conv2d_transpose_counts_every_input_pixel_spreading_a_kernel():
    # CNNGAN's first Conv2DTranspose: 7×7×128 -> 14×14×64, 5×5 kernel, stride 2. Each of the 49 input
    # pixels × 128 channels adds a 5×5×64 patch into the output: 49 · 128 · 25 · 64 multiply-adds.
    assert block_flops(Block("deconv", 64, 2), (7, 7, 128)) == 2 * 49 * 128 * 25 * 64


def test_conv2d_counts_each_output_pixel():
    # 28×28×1 -> 14×14×32 with stride 2: 196 output pixels × 32 filters × 5×5×1 multiply-adds.
    assert block_flops(Block("conv", 32, 2), (28, 28, 1)) == 2 * 196 * 32 * 25


def test_batchnorm_activation_reshape_are_not_counted():
    for block in (Block("batchnorm"), Block("activation", "relu"), Block("reshape", (7, 7, 128)), Block("flatten")):
        assert block_flops(block, (6272,)) == 0


def test_dense_gan_step_by_hand():
    # Paper DenseGAN: G 10-100-300-600-784, D 784-600-300-100-1.
    generator = 2 * (10 * 100 + 100 * 300 + 300 * 600 + 600 * 784)
    discriminator = 2 * (784 * 600 + 600 * 300 + 300 * 100 + 100 * 1)
    spec = get_spec("DenseGAN")
    assert forward_flops(spec) == {"generator": generator, "discriminator": discriminator}
    assert train_step_flops(spec, 128) == 128 * (3 * generator + 7 * discriminator)


def test_vae_step_is_three_forward_passes_of_both_networks():
    spec = get_spec("DenseVAE")
    encoder = 2 * (784 * 600 + 600 * 300 + 300 * 100 + 100 * 50 + 50 * 4)  # the last layer gives mean and log-var
    decoder = 2 * (2 * 50 + 50 * 100 + 100 * 300 + 300 * 600 + 600 * 784)
    assert train_step_flops(spec, 10) == 10 * 3 * (encoder + decoder)


def test_cell_row_rate_is_flops_per_image_times_images_per_second():
    cell = Cell("jax", "CNNGAN", "paper", 1e-4, "smoke", 0, 3, 2)
    result = fake_result((3.0, 1.0, 2.0))
    result.facts.ceiling_gflop_per_s = 100.0
    row, *_ = rows("r1", cell, result, "s", "l")
    per_image = train_step_flops(get_spec("CNNGAN"), 1)
    assert row["train_step_gflop"] == pytest.approx(per_image * 128 / 1e9)
    assert row["steady_gflop_per_s"] == pytest.approx(per_image * 512 / 1.5 / 1e9)  # 512 images, median epoch 1.5 s
    assert row["ceiling_share"] == pytest.approx(row["steady_gflop_per_s"] / 100.0)
    assert row["steady_step_median_s"] == pytest.approx(1.5 / 4)
