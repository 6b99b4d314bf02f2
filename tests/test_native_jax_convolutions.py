"""The native JAX baseline's convolution gradient rules equal XLA's own gradients, for every strided layer shape."""

from __future__ import annotations

import numpy as np
import pytest

from architectures import MODELS, VARIANTS, get_spec
from runners.native import plan

jax = pytest.importorskip("jax")
convolutions = pytest.importorskip("runners.native.jax")

BATCH = 4
# Float32 sums of up to 25 · 128 · 4 · 14 · 14 products per kernel-gradient entry, taken in another
# order than XLA's: measured differences are ~1e-6 of the largest entry. A wrong window offset,
# stride or kernel orientation moves entries by the size of the entries themselves.
RTOL_OF_MAX = 1e-4


def layers() -> list[tuple[str, tuple[int, ...], int, int]]:
    """(kind, per-sample input shape, filters, strides) of every strided or transposed convolution of every model."""
    found = set()
    for model in MODELS:
        for variant in VARIANTS:
            spec = get_spec(model, variant)
            for network in spec.family.networks:
                for block, shape in zip(*plan(spec, network), strict=True):
                    if block.kind == "deconv" or (block.kind == "conv" and block.strides > 1):
                        found.add((block.kind, shape, block.size, block.strides))
    return sorted(found)


def errors(kind: str, shape: tuple[int, ...], filters: int, strides: int) -> dict[str, float]:
    """Largest difference of the custom rule from XLA's output, input gradient and kernel gradient (relative to max)."""
    rng = np.random.default_rng(0)
    k = 5
    kernel_shape = (k, k, shape[-1], filters) if kind == "conv" else (k, k, filters, shape[-1])
    custom = {"conv": convolutions.conv, "deconv": convolutions.deconv}[kind]
    plain = {"conv": convolutions.conv_forward, "deconv": convolutions.deconv_forward}[kind]
    x = rng.standard_normal((BATCH, *shape)).astype(np.float32)
    kernel = (0.1 * rng.standard_normal(kernel_shape)).astype(np.float32)
    out = np.asarray(plain(x, kernel, strides))
    g = rng.standard_normal(out.shape).astype(np.float32)
    found = {"output": np.abs(np.asarray(custom(x, kernel, strides)) - out).max() / np.abs(out).max()}
    grads = {}
    for name, function in (("custom", custom), ("xla", plain)):
        vjp = jax.jit(lambda a, b, f=function: jax.vjp(lambda p, q: f(p, q, strides), a, b)[1](g))
        grads[name] = [np.asarray(v) for v in vjp(x, kernel)]
    for label, mine, reference in zip(("input", "kernel"), grads["custom"], grads["xla"], strict=True):
        found[label] = np.abs(mine - reference).max() / np.abs(reference).max()
    return found


def test_every_strided_layer_shape_is_covered():
    kinds = {(kind, strides) for kind, _, _, strides in layers()}
    assert kinds == {("conv", 2), ("deconv", 1), ("deconv", 2)}
    assert len(layers()) >= 8  # both variants' generators, decoders, discriminators and encoders


@pytest.mark.parametrize(
    "layer", layers(), ids=lambda layer: f"{layer[0]}-{'x'.join(map(str, layer[1]))}-{layer[2]}-s{layer[3]}"
)
def test_custom_gradients_equal_xla_gradients(layer):
    found = errors(*layer)
    assert max(found.values()) < RTOL_OF_MAX, found


def test_a_window_off_by_one_pixel_in_the_kernel_gradient_is_caught(monkeypatch):
    real = convolutions.windows
    monkeypatch.setattr(convolutions, "windows", lambda padded, *a: real(jax.numpy.roll(padded, 1, axis=1), *a))
    found = errors("deconv", (7, 7, 128), 64, 2)
    assert found["kernel"] > 100 * RTOL_OF_MAX and found["input"] < RTOL_OF_MAX, found


def test_a_placement_off_by_one_pixel_in_the_input_gradient_is_caught(monkeypatch):
    real = convolutions.overlap_add
    monkeypatch.setattr(convolutions, "overlap_add", lambda *a: jax.numpy.roll(real(*a), 1, axis=2))
    found = errors("conv", (7, 7, 64), 128, 2)
    assert found["input"] > 100 * RTOL_OF_MAX and found["kernel"] < RTOL_OF_MAX, found


def test_only_the_uneven_strided_convolutions_take_the_custom_conv_rule():
    x = np.zeros((1, 7, 7, 64), np.float32)
    assert convolutions.uneven(x, 2) and not convolutions.uneven(x, 1)
    assert not convolutions.uneven(np.zeros((1, 14, 14, 32), np.float32), 2)
