"""Keras 3 on JAX, CPU: the backward pass of a strided Conv2DTranspose is slow, and how much a fix at the op buys.

    pip install keras jax
    KERAS_BACKEND=jax python keras_jax_conv_transpose_grad.py [--threads N]

Standalone: needs keras, jax and numpy only. One layer, as in a DCGAN generator: batch 128,
7×7×128 → 14×14×64, kernel 5, stride 2, padding "same". It times under `jax.jit` (median of 7
after 3 warm-ups, each waited for with `block_until_ready`):

1. the layer's forward (`keras.layers.Conv2DTranspose` through `stateless_call`);
2. its forward and backward as Keras computes it: `jax.vjp` of Keras' op, which calls
   `jax.lax.conv_transpose`; XLA computes the kernel's gradient as a convolution with a dilated input,
   the slow path on XLA:CPU (jax-ml/jax#23783, openxla/xla#34273);
3. the same with the op's kernel gradient written as one matrix product of the cotangent's strided
   windows and the input (explicit padding and slicing, no dilation), through `jax.custom_vjp`;
   the input gradient and the forward stay Keras' and XLA's own.

Before timing, it checks that (2) and (3) give the same gradients.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

BATCH, SIZE, C_IN, FILTERS, K, S = 128, 7, 128, 64, 5, 2


def timed(run, repeats: int = 7, warmup: int = 3) -> float:
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
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import jax
    import jax.numpy as jnp
    import keras
    import numpy as np

    assert keras.backend.backend() == "jax", "run with KERAS_BACKEND=jax"
    layer = keras.layers.Conv2DTranspose(FILTERS, K, strides=S, padding="same")
    layer.build((None, SIZE, SIZE, C_IN))
    weights = [v.value for v in layer.trainable_variables]
    x = jnp.asarray(np.random.default_rng(0).standard_normal((BATCH, SIZE, SIZE, C_IN), dtype=np.float32))

    def forward(weights, x):
        return layer.stateless_call(weights, [], x)[0]

    def padding(size: int) -> tuple[int, int]:
        """TensorFlow's "same" padding (before, after) of the strided convolution this layer transposes."""
        total = max((size - 1) * S + K - size * S, 0)
        return total // 2, total - total // 2

    @jax.custom_vjp
    def conv_transpose(x, kernel):
        return keras.ops.conv_transpose(x, kernel, S, "same")

    def conv_transpose_forward(x, kernel):
        return conv_transpose(x, kernel), (x, kernel)

    def conv_transpose_backward(residuals, g):
        x, kernel = residuals
        (d_x,) = jax.vjp(lambda a: keras.ops.conv_transpose(a, kernel, S, "same"), x)[1](g)
        g_pad = jnp.pad(g, ((0, 0), padding(SIZE), padding(SIZE), (0, 0)))
        span = S * (SIZE - 1) + 1
        windows = jnp.stack([g_pad[:, i : i + span : S, j : j + span : S, :] for i in range(K) for j in range(K)])
        d_kernel = jnp.einsum("pnhwo,nhwi->poi", windows, x).reshape(kernel.shape)  # kernel: (k, k, out, in)
        return d_x, d_kernel

    conv_transpose.defvjp(conv_transpose_forward, conv_transpose_backward)

    def fixed_forward(weights, x):
        kernel, bias = weights
        return conv_transpose(x, kernel) + bias

    def gradients(function):
        return jax.jit(lambda w, x: jax.vjp(function, w, x)[1](function(w, x)))

    keras_grads, fixed_grads = gradients(forward), gradients(fixed_forward)
    for a, b in zip(jax.tree.leaves(keras_grads(weights, x)), jax.tree.leaves(fixed_grads(weights, x)), strict=True):
        error = float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(a)))
        assert error < 1e-4, f"the fixed gradient differs by {error:.1e} (relative)"
    compiled = jax.jit(forward)
    print(
        f"keras {keras.__version__}, jax {jax.__version__}, {jax.devices()[0].platform}, "
        f"{len(os.sched_getaffinity(0))} CPUs"
    )
    print(f"Conv2DTranspose {BATCH}x{SIZE}x{SIZE}x{C_IN} -> {2 * SIZE}x{2 * SIZE}x{FILTERS}, {K}x{K}, stride {S}, same")
    rows = [
        ("forward", lambda: compiled(weights, x).block_until_ready()),
        ("forward + backward, Keras as released", lambda: jax.block_until_ready(keras_grads(weights, x))),
        (
            "forward + backward, kernel gradient as windows @ input",
            lambda: jax.block_until_ready(fixed_grads(weights, x)),
        ),
    ]
    for name, run in rows:
        print(f"{name:58s} {timed(run):8.1f} ms")


if __name__ == "__main__":
    main()
