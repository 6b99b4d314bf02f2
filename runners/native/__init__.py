"""Native baselines: the models of architectures/spec.py written in one backend alone, without Keras.

Each backend module (`torch`, `jax`, `tensorflow`) builds the same blocks (`spec.blocks`) with the
backend's own ops, the same losses, one Adam over all weights with Keras' defaults, and trains on
the same batches. They start from `init_weights`: Keras' initialisation scheme (Glorot-uniform
kernels, zero biases, BatchNorm γ=1, β=0, moving mean 0 and variance 1), drawn with NumPy.
Weights cross the boundary in Keras' layout and order (`get_weights()` of each network), so a
native model can start from a Keras model's weights and hand its own back to one.

Every backend module has one layout: `ACTIVATIONS`, `bce_with_logits`, `apply` (one network's
forward pass over the blocks), and `Model` (`NativeModel` below) holding per network its blocks,
input shapes, trainable weights and moving statistics, with `_losses` (one forward pass of both
networks giving the family's losses), `step`, `losses` and `get_weights`.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from architectures.family import unknown
from architectures.spec import BLOCK_KINDS, KERNEL_SIZE, Block, ModelSpec, blocks, network_inputs, output_shape
from suite.contract import EpochRecord

BN_MOMENTUM = 0.99
BN_EPSILON = 1e-3
ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7
"""Keras' defaults for BatchNormalization and Adam.

Two library rules differ from Keras' and are kept as each library has them: torch.optim.Adam
and optax add epsilon after the bias correction (Keras and TensorFlow's ResourceApplyAdam
before it), a difference of order epsilon = 1e-7 in the denominator; and torch's batch_norm
updates the moving variance with the unbiased batch variance (Keras: the biased one), which
changes only the inference-time statistics (the samples), not the training losses.
"""


class NativeModel(Protocol):
    jit_compile: bool
    loss_names: tuple[str, ...]

    def losses(self, x: np.ndarray, noise: np.ndarray) -> dict[str, float]:
        """Training-mode losses of one batch for the given noise, without an update."""
        ...

    iterations: int
    """Applications of the optimizer so far (Adam's step counter)."""

    def step(self, x: np.ndarray, noise: np.ndarray | None = None) -> list:
        """One training step on a batch (noise drawn inside, `noise_rows` rows, unless given); the losses."""
        ...

    def get_weights(self) -> dict[str, list[np.ndarray]]:
        """Each network's weights in Keras' layout and order."""
        ...


def kernel_shape(block: Block, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Keras' kernel layout: Dense (in, units), Conv2D (k, k, in, out), Conv2DTranspose (k, k, out, in)."""
    if block.kind == "dense":
        return (shape[-1], block.size)
    if block.kind == "conv":
        return (KERNEL_SIZE, KERNEL_SIZE, shape[-1], block.size)
    if block.kind == "deconv":
        return (KERNEL_SIZE, KERNEL_SIZE, block.size, shape[-1])
    raise unknown("weighted block kind", block.kind, ("dense", "conv", "deconv"))


def glorot_uniform(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    receptive = math.prod(shape[:-2])
    limit = math.sqrt(6.0 / (receptive * (shape[-2] + shape[-1])))
    return rng.uniform(-limit, limit, shape).astype(np.float32)


def init_weights(spec: ModelSpec, seed: int) -> dict[str, list[np.ndarray]]:
    """Fresh weights of every network, in Keras' layout and order."""
    rng = np.random.default_rng(seed)
    weights = {}
    for name, (shape, network) in network_inputs(spec).items():
        arrays = []
        for block in blocks(network, spec.hidden_activation):
            trainable, moving = weight_counts(block)
            if trainable and not moving:
                arrays += [glorot_uniform(rng, kernel_shape(block, shape)), np.zeros(block.size, np.float32)]
            elif moving:
                ones, zeros = np.ones(shape[-1], np.float32), np.zeros(shape[-1], np.float32)
                arrays += [ones, zeros, zeros.copy(), ones.copy()]
            shape = output_shape(block, shape)
        weights[name] = arrays
    return weights


def weight_counts(block: Block) -> tuple[int, int]:
    """How many trainable weights and moving statistics a block has, in Keras' order (trainable first)."""
    if block.weighted:
        return 2, 0  # kernel, bias
    if block.kind == "batchnorm":
        return 2, 2  # gamma, beta; moving mean, moving variance
    if block.kind in BLOCK_KINDS:
        return 0, 0
    raise unknown("block kind", block.kind, BLOCK_KINDS)


def split(network_blocks: list[Block], arrays: list) -> tuple[list, list]:
    """Keras-ordered weights of one network as (trainable, moving statistics), each in order."""
    trainable, moving, i = [], [], 0
    for block in network_blocks:
        n_trainable, n_moving = weight_counts(block)
        trainable += arrays[i : i + n_trainable]
        moving += arrays[i + n_trainable : i + n_trainable + n_moving]
        i += n_trainable + n_moving
    return trainable, moving


def merge(network_blocks: list[Block], trainable: list, moving: list) -> list:
    """The inverse of `split`."""
    arrays, t, m = [], iter(trainable), iter(moving)
    for block in network_blocks:
        n_trainable, n_moving = weight_counts(block)
        arrays += [next(t) for _ in range(n_trainable)] + [next(m) for _ in range(n_moving)]
    return arrays


def plan(spec: ModelSpec, name: str) -> tuple[list[Block], list[tuple[int, ...]]]:
    """The blocks of one network of the model, and each block's per-sample input shape."""
    shape, network = network_inputs(spec)[name]
    network_blocks, shapes = blocks(network, spec.hidden_activation), []
    for block in network_blocks:
        shapes.append(shape)
        shape = output_shape(block, shape)
    return network_blocks, shapes


def loss_groups(spec: ModelSpec) -> dict[str, tuple[str, ...]]:
    """Each loss and the networks whose weights it trains (as `loss_groups` of the Keras models)."""
    return {loss.name: loss.trains for loss in spec.family.losses}


def optimizer_applications(spec: ModelSpec) -> list[tuple[str, ...]]:
    """The networks each application of the one Adam updates in a step, in order (the spec's `separate_updates`)."""
    if spec.separate_updates:
        return [(network,) for network in spec.family.networks]
    return [spec.family.networks]


def plans(spec: ModelSpec) -> dict[str, tuple[list[Block], list[tuple[int, ...]]]]:
    """`plan` of each network of the model."""
    return {name: plan(spec, name) for name in spec.family.networks}


def same_padding(size: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same" padding (before, after) of a KERNEL_SIZE convolution: the extra pixel goes after."""
    total = max((-(-size // stride) - 1) * stride + KERNEL_SIZE - size, 0)
    return total // 2, total - total // 2


def build(spec: ModelSpec, backend: str, weights: dict, lr: float, jit: str, seed: int) -> NativeModel:
    """The native model of `spec` in `backend` (the one KERAS_BACKEND names; Keras itself is not imported)."""
    module = importlib.import_module(f"runners.native.{backend}")
    return module.Model(spec, weights, lr, jit, seed)


def fit(
    model: NativeModel,
    x: np.ndarray,
    epochs: int,
    batch_size: int,
    seed: int,
    verbose: int,
    on_epoch: Callable[[EpochRecord], None],
) -> int | None:
    """Train like Keras' fit(shuffle=True): reshuffle each epoch, last batch partial; return the diverged epoch.

    Each epoch's losses (mean over its batches, and the last batch's) are fetched before the clock
    stops, which waits for every dispatched step.
    """
    rng = np.random.default_rng(seed)
    steps = -(-len(x) // batch_size)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        shuffled = x[rng.permutation(len(x))]
        history = [model.step(shuffled[i * batch_size : (i + 1) * batch_size]) for i in range(steps)]
        values = np.asarray([[float(v) for v in losses] for losses in history])
        seconds = time.perf_counter() - start
        losses = dict(zip(model.loss_names, values.mean(axis=0).tolist(), strict=True))
        losses |= {f"{name}_last": float(v) for name, v in zip(model.loss_names, values[-1], strict=True)}
        record = EpochRecord.timed(epoch, seconds, steps, len(x), losses)
        on_epoch(record)
        if verbose:
            shown = " - ".join(f"{k}: {v:.4f}" for k, v in losses.items())
            print(f"Epoch {epoch}/{epochs} - {seconds:.1f}s - {shown}", flush=True)
        if not record.finite:
            return epoch
    return None
