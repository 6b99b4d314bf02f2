"""Reproducer: XLA:CPU's kernel gradient of a strided transposed convolution is slow.

    python benchmarks/xla_conv_transpose_grad.py [--threads N]

Needs only jax and numpy. One layer of CNNGAN's generator: batch 128, 7×7×128 → 14×14×64,
5×5 kernel, stride 2, "SAME". It times, under `jax.jit` (median of 7 after 3 warm-ups, each
finished with `block_until_ready`):

- the forward `lax.conv_transpose`;
- its gradient with respect to the input, and with respect to the kernel, as `jax.vjp`
  computes them (the kernel gradient is a convolution with a dilated input);
- the same kernel gradient written as a matrix product of the cotangent's strided windows,
  cut by slicing (what gvbench's native JAX baseline uses), or extracted by
  `lax.conv_general_dilated_patches`;
- the same layer written as zero-insertion followed by a stride-1 convolution, whose kernel
  gradient XLA computes without dilation (4× the FLOPs).

All kernel gradients are checked to agree before they are timed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

BATCH, SIZE, C_IN, C_OUT, K, S = 128, 7, 128, 64, 5, 2
DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def timed(run, repeats: int = 7, warmup: int = 3) -> float:
    """Median milliseconds of `run()` (which must wait for its result)."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, help="restrict the process to this many CPUs")
    args = parser.parse_args()
    if args.threads:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.threads])
    import jax
    import jax.numpy as jnp
    from jax import lax

    out_size = SIZE * S
    total = max((SIZE - 1) * S + K - out_size, 0)  # "SAME" padding of the matching forward convolution
    before, after = total // 2, total - total // 2
    padding = [(K - 1 - before, K - 1 - after)] * 2

    def deconv(x, kernel):
        return lax.conv_transpose(x, kernel, (S, S), padding, dimension_numbers=DIMENSIONS, transpose_kernel=True)

    def zero_insertion(x, kernel):
        dilated = lax.pad(x, jnp.array(0, x.dtype), [(0, 0, 0), (0, 0, S - 1), (0, 0, S - 1), (0, 0, 0)])
        flipped = jnp.flip(kernel, (0, 1)).transpose(0, 1, 3, 2)
        return lax.conv_general_dilated(dilated, flipped, (1, 1), padding, dimension_numbers=DIMENSIONS)

    def kernel_grad_patches(x, g):
        g_pad = jnp.pad(g, ((0, 0), (before, after), (before, after), (0, 0)))
        patches = lax.conv_general_dilated_patches(g_pad, (K, K), (S, S), "VALID", dimension_numbers=DIMENSIONS)
        product = jnp.einsum("nhwp,nhwi->pi", patches, x)  # patch features are (channel, row, column)
        return product.reshape(C_OUT, K, K, C_IN).transpose(1, 2, 0, 3)

    def kernel_grad_windows(x, g):
        g_pad = jnp.pad(g, ((0, 0), (before, after), (before, after), (0, 0)))
        span = S * (SIZE - 1) + 1
        windows = jnp.stack([g_pad[:, i : i + span : S, j : j + span : S, :] for i in range(K) for j in range(K)])
        return jnp.einsum("pnhwo,nhwi->poi", windows, x).reshape(K, K, C_OUT, C_IN)

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((BATCH, SIZE, SIZE, C_IN), dtype=np.float32))
    kernel = jnp.asarray(0.05 * rng.standard_normal((K, K, C_OUT, C_IN), dtype=np.float32))
    g = jnp.asarray(rng.standard_normal((BATCH, out_size, out_size, C_OUT), dtype=np.float32))

    forward = jax.jit(deconv)
    input_grad = jax.jit(lambda x, k: jax.vjp(lambda a: deconv(a, k), x)[1](g)[0])
    kernel_grad = jax.jit(lambda x, k: jax.vjp(lambda b: deconv(x, b), k)[1](g)[0])
    kernel_grad_zero = jax.jit(lambda x, k: jax.vjp(lambda b: zero_insertion(x, b), k)[1](g)[0])
    kernel_grad_win = jax.jit(lambda x, k: kernel_grad_windows(x, g))
    kernel_grad_patch = jax.jit(lambda x, k: kernel_grad_patches(x, g))

    reference = np.asarray(kernel_grad(x, kernel))
    candidates = (("zero insertion", kernel_grad_zero), ("windows", kernel_grad_win), ("patches", kernel_grad_patch))
    for name, other in candidates:
        error = np.abs(np.asarray(other(x, kernel)) - reference).max() / np.abs(reference).max()
        assert error < 1e-5, f"{name} kernel gradient differs by {error:.2e} (relative)"
    print(f"jax {jax.__version__}, {jax.devices()[0].platform}, {len(os.sched_getaffinity(0))} CPUs")
    print(f"conv_transpose {BATCH}x{SIZE}x{SIZE}x{C_IN} -> {out_size}x{out_size}x{C_OUT}, {K}x{K}, stride {S}, SAME")
    rows = [
        ("forward (lax.conv_transpose)", forward),
        ("gradient w.r.t. input (jax.vjp)", input_grad),
        ("gradient w.r.t. kernel (jax.vjp)", kernel_grad),
        ("kernel gradient, zero insertion + stride-1 conv", kernel_grad_zero),
        ("kernel gradient, strided windows @ input (einsum)", kernel_grad_win),
        ("kernel gradient, conv_general_dilated_patches @ input", kernel_grad_patch),
    ]
    for name, function in rows:
        print(f"{name:52s} {timed(lambda f=function: f(x, kernel).block_until_ready()):8.1f} ms")


if __name__ == "__main__":
    main()
