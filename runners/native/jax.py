"""JAX baseline: jax.numpy and jax.lax layers in NHWC, one jax.vjp per step, optax.adam; jax.jit or not.

Two gradients that XLA computes slowly on the CPU come from `jax.custom_vjp` rules instead, each
the same sum in a form XLA runs fast (`gvbench profile`'s layers, benchmarks/xla_conv_transpose_grad.py):
- the kernel gradient of a strided transposed convolution (`deconv`): XLA's is a convolution with
  a dilated input, up to 33× slower than one matrix product of the cotangent's strided windows
  (at stride 1 XLA's own is faster);
- the input gradient of a strided convolution whose input size is not a multiple of the stride
  (`conv`; 7×7 → 4×4 in the discriminators and encoders): 8× slower than the kernel-weighted
  cotangent placed back window by window.
Forward passes, and every other gradient, are XLA's own.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from architectures.family import GAN, VAE, unknown
from architectures.spec import BLOCK_KINDS, KERNEL_SIZE, LEAKY_RELU_SLOPE, LOG_2PI, ModelSpec, noise_rows
from runners.native import (
    ADAM_BETA_1,
    ADAM_BETA_2,
    ADAM_EPSILON,
    BN_EPSILON,
    BN_MOMENTUM,
    loss_groups,
    merge,
    optimizer_applications,
    plans,
    same_padding,
    split,
)
from runners.phases import ALL_NETWORKS, BACKWARD, FORWARD, OPTIMIZER, Phase

ACTIVATIONS = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "leaky_relu": lambda x: jax.nn.leaky_relu(x, LEAKY_RELU_SLOPE),
}
CONV_DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def windows(padded: jax.Array, strides: int, height: int, width: int) -> jax.Array:
    """The KERNEL_SIZE² strided windows of a padded NHWC array, stacked: (k·k, n, height, width, c) (im2col)."""
    rows, cols = strides * (height - 1) + 1, strides * (width - 1) + 1
    return jnp.stack(
        [
            padded[:, i : i + rows : strides, j : j + cols : strides, :]
            for i in range(KERNEL_SIZE)
            for j in range(KERNEL_SIZE)
        ]
    )


def overlap_add(columns: jax.Array, strides: int) -> jax.Array:
    """The inverse placement of `windows` (col2im): each of the k·k slices added at its offset and stride."""
    _, n, height, width, channels = columns.shape
    rows, cols = strides * (height - 1) + KERNEL_SIZE, strides * (width - 1) + KERNEL_SIZE
    out = jnp.zeros((n, rows, cols, channels), columns.dtype)
    zero = jnp.zeros((), columns.dtype)
    for p in range(KERNEL_SIZE**2):
        i, j = divmod(p, KERNEL_SIZE)
        placed = [
            (i, rows - i - strides * (height - 1) - 1, strides - 1),
            (j, cols - j - strides * (width - 1) - 1, strides - 1),
        ]
        out = out + jax.lax.pad(columns[p], zero, [(0, 0, 0), *placed, (0, 0, 0)])
    return out


def conv_forward(x: jax.Array, kernel: jax.Array, strides: int) -> jax.Array:
    """Keras' Conv2D ("same"): kernel (k, k, in, out)."""
    pads = [same_padding(n, strides) for n in x.shape[1:3]]
    return jax.lax.conv_general_dilated(x, kernel, (strides, strides), pads, dimension_numbers=CONV_DIMENSIONS)


def conv_gradients(strides: int, x: jax.Array, kernel: jax.Array, g: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`conv_forward`'s gradients: the input's as the kernel-weighted cotangent placed back by `overlap_add`."""
    (d_kernel,) = jax.vjp(lambda k: conv_forward(x, k, strides), kernel)[1](g)
    k, c_in, c_out = KERNEL_SIZE, kernel.shape[2], kernel.shape[3]
    columns = jnp.einsum("nhwo,pio->pnhwi", g, kernel.reshape(k * k, c_in, c_out))
    (top, _), (left, _) = (same_padding(n, strides) for n in x.shape[1:3])
    d_x = overlap_add(columns, strides)[:, top : top + x.shape[1], left : left + x.shape[2], :]
    return d_x, d_kernel


def deconv_forward(x: jax.Array, kernel: jax.Array, strides: int) -> jax.Array:
    """Keras' Conv2DTranspose ("same"): kernel (k, k, out, in); the input gradient of a "same" convolution."""
    pads = [same_padding(n * strides, strides) for n in x.shape[1:3]]
    # The gradient of a "same" convolution: pad the dilated input by k-1 less the forward padding.
    padding = [(KERNEL_SIZE - 1 - before, KERNEL_SIZE - 1 - after) for before, after in pads]
    return jax.lax.conv_transpose(
        x, kernel, (strides, strides), padding, dimension_numbers=CONV_DIMENSIONS, transpose_kernel=True
    )


def deconv_gradients(strides: int, x: jax.Array, kernel: jax.Array, g: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`deconv_forward`'s gradients: the kernel's as one matrix product of the cotangent's `windows` and the input."""
    (d_x,) = jax.vjp(lambda a: deconv_forward(a, kernel, strides), x)[1](g)
    height, width = x.shape[1:3]
    g_pad = jnp.pad(g, ((0, 0), *(same_padding(n * strides, strides) for n in (height, width)), (0, 0)))
    d_kernel = jnp.einsum("pnhwo,nhwi->poi", windows(g_pad, strides, height, width), x)
    return d_x, d_kernel.reshape(kernel.shape)


def with_gradients(forward, gradients):
    """`forward(x, kernel, strides)` whose gradients come from `gradients(strides, x, kernel, cotangent)`."""
    layer = jax.custom_vjp(forward, nondiff_argnums=(2,))
    layer.defvjp(
        lambda x, kernel, strides: (forward(x, kernel, strides), (x, kernel)), lambda s, r, g: gradients(s, *r, g)
    )
    return layer


conv = with_gradients(conv_forward, conv_gradients)
deconv = with_gradients(deconv_forward, deconv_gradients)


def uneven(x: jax.Array, strides: int) -> bool:
    """Whether a strided convolution's input size is not a multiple of its stride (XLA:CPU's slow input gradient)."""
    return strides > 1 and any(n % strides for n in x.shape[1:3])


def bce_with_logits(target: float, logits: jax.Array) -> jax.Array:
    return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, jnp.full_like(logits, target)))


def apply(network_blocks, shapes, trainable: list, moving: list, x: jax.Array, bn_training: bool):
    """One network forward; returns its output and its updated moving statistics.

    `shapes` (each block's input shape) is part of the shared signature; JAX reads the shapes off the arrays."""
    t, m, new_moving = iter(trainable), iter(moving), []
    for block in network_blocks:
        if block.kind == "dense":
            kernel, bias = next(t), next(t)
            x = x @ kernel + bias
        elif block.kind == "conv":
            kernel, bias = next(t), next(t)
            x = (conv if uneven(x, block.strides) else conv_forward)(x, kernel, block.strides) + bias
        elif block.kind == "deconv":
            kernel, bias = next(t), next(t)
            x = (deconv if block.strides > 1 else deconv_forward)(x, kernel, block.strides) + bias
        elif block.kind == "batchnorm":
            gamma, beta, mean, variance = next(t), next(t), next(m), next(m)
            if bn_training:
                axes = tuple(range(x.ndim - 1))
                batch_mean, batch_variance = jnp.mean(x, axes), jnp.var(x, axes)
                new_moving += [
                    mean * BN_MOMENTUM + batch_mean * (1 - BN_MOMENTUM),
                    variance * BN_MOMENTUM + batch_variance * (1 - BN_MOMENTUM),
                ]
                mean, variance = batch_mean, batch_variance
            else:
                new_moving += [mean, variance]
            x = (x - mean) * jax.lax.rsqrt(variance + BN_EPSILON) * gamma + beta
        elif block.kind == "activation":
            x = ACTIVATIONS[block.size](x)
        elif block.kind == "reshape":
            x = x.reshape(x.shape[0], *block.size)
        elif block.kind == "flatten":
            x = x.reshape(x.shape[0], -1)
        else:
            raise unknown("block kind", block.kind, BLOCK_KINDS)
    return x, new_moving


class Model:
    def __init__(self, spec: ModelSpec, weights: dict, lr: float, jit: str, seed: int):
        self.spec, self.bn_training = spec, bool(spec.batchnorm_training)
        plan = plans(spec)
        self.blocks = {name: p[0] for name, p in plan.items()}
        self.shapes = {name: p[1] for name, p in plan.items()}
        pairs = {name: split(self.blocks[name], [jnp.asarray(a) for a in weights[name]]) for name in plan}
        self.trainable = {name: pair[0] for name, pair in pairs.items()}
        self.moving = {name: pair[1] for name, pair in pairs.items()}
        self.groups = loss_groups(spec)
        self.loss_names = tuple(self.groups)
        self.optimizer = optax.adam(lr, b1=ADAM_BETA_1, b2=ADAM_BETA_2, eps=ADAM_EPSILON)
        self.applications = optimizer_applications(spec)
        # One optax state per application, each given the one Adam's counter before it is applied.
        self.opt_state = [self.optimizer.init({n: self.trainable[n] for n in nets}) for nets in self.applications]
        self.counter = jnp.zeros((), jnp.int32)
        self.key = jax.random.key(seed)
        self.jit_compile = jit != "off"
        self._step = jax.jit(self._train_step, donate_argnums=(0, 1, 2)) if self.jit_compile else self._train_step

    @property
    def iterations(self) -> int:
        return int(self.counter)

    def _losses(self, trainable: dict, moving: dict, x: jax.Array, noise: jax.Array):
        """One forward pass of both networks (a pure function); the family's losses and the new moving statistics."""

        def run(name, inputs):
            state = new_moving.get(name, moving[name])  # a second pass sees the first one's moving statistics
            out, new_moving[name] = apply(
                self.blocks[name], self.shapes[name], trainable[name], state, inputs, self.bn_training
            )
            return out

        new_moving = {}
        if self.spec.family == GAN:
            fake = run("generator", noise)
            real_logits, fake_logits = run("discriminator", x), run("discriminator", fake)
            d_loss = bce_with_logits(1.0, real_logits) + bce_with_logits(0.0, fake_logits)
            return (d_loss, bce_with_logits(1.0, fake_logits)), new_moving
        if self.spec.family == VAE:
            mean, logvar = jnp.split(run("encoder", x), 2, axis=-1)
            z = mean + noise * jnp.exp(0.5 * logvar)
            logits = run("decoder", z)
            log_px_z = -optax.sigmoid_binary_cross_entropy(logits, x).reshape(x.shape[0], -1).sum(-1)
            log_pz = (-0.5 * (jnp.square(z) + LOG_2PI)).sum(-1)
            log_qz_x = (-0.5 * (jnp.square(z - mean) * jnp.exp(-logvar) + logvar + LOG_2PI)).sum(-1)
            return (-jnp.mean(log_px_z + log_pz - log_qz_x),), new_moving
        raise unknown("model family", self.spec.family.name, ("gan", "vae"))

    def _losses_vjp(self, trainable: dict, moving: dict, x: jax.Array, noise: jax.Array):
        """The forward as `jax.vjp`: the losses, their pullback and the new moving statistics."""
        return jax.vjp(lambda t: self._losses(t, moving, x, noise), trainable, has_aux=True)

    def _gradients(self, losses, pullback) -> dict:
        """One pullback per loss, kept for the networks it trains."""
        grads = {}
        for k, nets in enumerate(self.groups.values()):
            (found,) = pullback(tuple(jnp.ones_like(v) if j == k else jnp.zeros_like(v) for j, v in enumerate(losses)))
            grads |= {net: found[net] for net in nets}
        return grads

    def _apply(self, trainable: dict, opt_state: list, counter, grads: dict):
        """Each application of the one Adam in turn, each given the counter before it: new weights, state, counter."""
        trainable, opt_state = dict(trainable), list(opt_state)
        for i, nets in enumerate(self.applications):
            params = {n: trainable[n] for n in nets}
            state = optax.tree_utils.tree_set(opt_state[i], count=counter)
            updates, opt_state[i] = self.optimizer.update({n: grads[n] for n in nets}, state, params)
            trainable |= optax.apply_updates(params, updates)
            counter = counter + 1
        return trainable, opt_state, counter

    def _train_step(self, trainable: dict, moving: dict, opt_state: list, counter, key, x: jax.Array, noise):
        key, draw = jax.random.split(key)
        if noise is None:
            noise = jax.random.normal(draw, (noise_rows(self.spec, x.shape[0]), self.spec.latent_dim))
        losses, pullback, moving = self._losses_vjp(trainable, moving, x, noise)
        grads = self._gradients(losses, pullback)
        trainable, opt_state, counter = self._apply(trainable, opt_state, counter, grads)
        return trainable, moving, opt_state, counter, key, losses

    def phases(self, calls: dict, x: np.ndarray, noise: np.ndarray) -> list[Phase]:
        """Each network's forward calls, the backward and the update, each `jax.jit`-compiled from the step's code,
        on a copy of the state (the step itself donates the model's)."""
        trainable, moving, opt_state = jax.tree.map(jnp.copy, (self.trainable, self.moving, self.opt_state))
        found = []
        for name, inputs in calls.items():
            forward = jax.jit(
                lambda t, m, inputs, name=name: [
                    apply(self.blocks[name], self.shapes[name], t, m, batch, self.bn_training) for batch in inputs
                ]
            )
            args = trainable[name], moving[name], [jnp.asarray(a) for a in inputs]
            found.append(Phase(FORWARD, name, lambda _, f=forward, a=args: jax.block_until_ready(f(*a))))
        x, noise = jnp.asarray(x), jnp.asarray(noise)
        losses, pullback, _ = jax.jit(self._losses_vjp)(trainable, moving, x, noise)
        backward, update = jax.jit(self._gradients), jax.jit(self._apply)
        grads = backward(losses, pullback)
        state = trainable, opt_state, self.counter, grads
        return found + [
            Phase(
                BACKWARD,
                ALL_NETWORKS,
                lambda _: jax.block_until_ready(backward(losses, pullback)),
                method="jax.jit of the step's own pullbacks, given the forward's residuals",
            ),
            Phase(
                OPTIMIZER,
                ALL_NETWORKS,
                lambda _: jax.block_until_ready(update(*state)),
                method="jax.jit of the step's own optax updates",
            ),
        ]

    def step(self, x: np.ndarray, noise: np.ndarray | None = None) -> list:
        noise = None if noise is None else jnp.asarray(noise, jnp.float32)
        self.trainable, self.moving, self.opt_state, self.counter, self.key, losses = self._step(
            self.trainable, self.moving, self.opt_state, self.counter, self.key, jnp.asarray(x), noise
        )
        return list(losses)

    def losses(self, x: np.ndarray, noise: np.ndarray) -> dict[str, float]:
        values, _ = self._losses(self.trainable, self.moving, jnp.asarray(x), jnp.asarray(noise, jnp.float32))
        return {name: float(v) for name, v in zip(self.loss_names, values, strict=True)}

    def get_weights(self) -> dict[str, list[np.ndarray]]:
        return {
            name: [np.asarray(a) for a in merge(self.blocks[name], self.trainable[name], self.moving[name])]
            for name in self.blocks
        }


def jitted_passes(forward, params, x) -> dict:
    """`LAYER_PASSES` of a layer's pure `forward(params, x)`, each `jax.jit`-compiled and waited for."""

    def gradients(wanted):
        def run(p, x):
            out, pullback = jax.vjp(forward, p, x)
            return [g for g, keep in zip(pullback(out), wanted, strict=True) if keep]

        compiled = jax.jit(run)
        return lambda: jax.block_until_ready(compiled(params, x))

    compiled = jax.jit(forward)
    return {
        "forward": lambda: compiled(params, x).block_until_ready(),
        "forward_backward": gradients((True, True)),
        "input_gradient": gradients((False, True)),
        "weight_gradient": gradients((True, False)),
    }


def layer_passes(block, shape: tuple, arrays: list, x: np.ndarray) -> dict:
    """One weighted block's `LAYER_PASSES` (the baseline's own layer code, its custom gradients included)."""
    forward = lambda p, x: apply([block], [shape], p, [], x, False)[0]  # noqa: E731
    return jitted_passes(forward, [jnp.asarray(a) for a in arrays], jnp.asarray(x))
