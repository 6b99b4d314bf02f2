"""Forward and backward time of each weighted layer of a model, in this process's backend (torch or jax).

    KERAS_BACKEND=jax python -m benchmarks.conv_layers CNNGAN [--xla-gradients]
    KERAS_BACKEND=torch python -m benchmarks.conv_layers CNNGAN

Each layer is the native baseline's own code (runners/native/), on a batch of 128, timed as
forward alone and as forward + gradients with respect to its input and its weights (JAX:
`jax.jit` of `jax.vjp`; torch: autograd). Median of 10 after 3 warm-ups, each finished
before the clock stops. It shows which layers a backend is slow on, which the epoch profile
cannot: the whole step is one compiled call there. `--xla-gradients` times JAX's convolutions
with XLA's own gradients instead of the baseline's `jax.custom_vjp` rules (the "before").
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import pandas as pd

from architectures import get_spec
from architectures.flops import block_flops
from runners.native import init_weights, plan, split
from runners.threads import pin

BATCH = 128
WARMUP, REPEATS = 3, 10


def timed(run) -> float:
    for _ in range(WARMUP):
        run()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def jax_layer(block, shape, arrays, x, xla_gradients: bool = False):
    import jax

    from runners.native.jax import apply, conv_forward, deconv_forward

    params = [jax.numpy.asarray(a) for a in arrays]
    if xla_gradients and block.kind in ("conv", "deconv"):
        plain = conv_forward if block.kind == "conv" else deconv_forward
        forward = jax.jit(lambda p, x: plain(x, p[0], block.strides) + p[1])
    else:
        forward = jax.jit(lambda p, x: apply([block], [shape], p, [], x, False)[0])
    both = jax.jit(lambda p, x: jax.vjp(forward, p, x)[1](forward(p, x)))
    x = jax.numpy.asarray(x)
    return (
        lambda: forward(params, x).block_until_ready(),
        lambda: jax.block_until_ready(both(params, x)),
    )


def torch_layer(block, shape, arrays, x, xla_gradients: bool = False):
    import torch

    from runners.native.torch import apply, to_torch_layout

    params = [to_torch_layout(a).requires_grad_() for a in arrays]
    x = torch.from_numpy(x)
    x = (x.permute(0, 3, 1, 2) if x.ndim == 4 else x).contiguous().requires_grad_()

    def both():
        out = apply([block], [shape], params, [], x, False)[0]
        torch.autograd.grad(out, [x, *params], torch.ones_like(out))

    return lambda: apply([block], [shape], params, [], x, False)[0], both


def layers(model: str, threads: int, xla_gradients: bool = False) -> pd.DataFrame:
    pin(threads)
    backend = os.environ.get("KERAS_BACKEND", "jax")
    make = {"jax": jax_layer, "torch": torch_layer}[backend]
    spec = get_spec(model)
    weights = init_weights(spec, 0)
    rng = np.random.default_rng(0)
    rows = []
    for name in weights:
        network_blocks, shapes = plan(spec, name)
        trainable, _ = split(network_blocks, weights[name])
        i = 0
        for block, shape in zip(network_blocks, shapes, strict=True):
            if block.kind == "batchnorm":
                i += 2  # its γ and β
            if block.kind not in ("dense", "conv", "deconv"):
                continue
            arrays, i = trainable[i : i + 2], i + 2
            x = rng.standard_normal((BATCH, *shape)).astype(np.float32)
            forward, both = make(block, shape, arrays, x, xla_gradients)
            gflop = block_flops(block, shape) * BATCH / 1e9
            row = {"network": name, "layer": f"{block.kind} {block.size}/{block.strides} on {shape}"}
            row |= {"forward_ms": 1e3 * timed(forward), "forward_backward_ms": 1e3 * timed(both), "gflop": gflop}
            row["gflop_per_s"] = 3 * gflop / (row["forward_backward_ms"] / 1e3)
            rows.append(row)
    table = pd.DataFrame(rows)
    table["share_of_layers"] = table.forward_backward_ms / table.forward_backward_ms.sum()
    return table.assign(backend=backend)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--xla-gradients", action="store_true", help="JAX: XLA's own convolution gradients")
    args = parser.parse_args()
    table = layers(args.model, args.threads, args.xla_gradients)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
