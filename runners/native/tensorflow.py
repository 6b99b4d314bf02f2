"""TensorFlow baseline: tf.nn layers in NHWC, tf.GradientTape, fused ResourceApplyAdam; tf.function, XLA or not."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from architectures.family import GAN, VAE, unknown
from architectures.spec import BLOCK_KINDS, LEAKY_RELU_SLOPE, LOG_2PI, ModelSpec, noise_rows
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
    split,
)
from runners.phases import ALL_NETWORKS, BACKWARD, FORWARD, OPTIMIZER, Phase

ACTIVATIONS = {
    "relu": tf.nn.relu,
    "tanh": tf.tanh,
    "sigmoid": tf.sigmoid,
    "leaky_relu": lambda x: tf.nn.leaky_relu(x, LEAKY_RELU_SLOPE),
}


def bce_with_logits(target: float, logits: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.fill(tf.shape(logits), target), logits))


def apply(network_blocks, shapes, trainable: list, moving: list, x: tf.Tensor, bn_training: bool):
    """One network forward; returns its output and its moving statistics (variables, assigned in place)."""
    t, m = iter(trainable), iter(moving)
    for block, shape in zip(network_blocks, shapes, strict=True):
        if block.kind == "dense":
            kernel, bias = next(t), next(t)
            x = tf.matmul(x, kernel) + bias
        elif block.kind == "conv":
            kernel, bias = next(t), next(t)
            x = tf.nn.conv2d(x, kernel, block.strides, "SAME") + bias
        elif block.kind == "deconv":
            kernel, bias = next(t), next(t)
            out = [tf.shape(x)[0], shape[0] * block.strides, shape[1] * block.strides, block.size]
            x = tf.nn.conv2d_transpose(x, kernel, out, block.strides, "SAME") + bias
        elif block.kind == "batchnorm":
            gamma, beta, mean, variance = next(t), next(t), next(m), next(m)
            if bn_training:
                batch_mean, batch_variance = tf.nn.moments(x, list(range(len(x.shape) - 1)))
                mean.assign(mean * BN_MOMENTUM + batch_mean * (1 - BN_MOMENTUM))
                variance.assign(variance * BN_MOMENTUM + batch_variance * (1 - BN_MOMENTUM))
                x = tf.nn.batch_normalization(x, batch_mean, batch_variance, beta, gamma, BN_EPSILON)
            else:
                x = tf.nn.batch_normalization(x, mean, variance, beta, gamma, BN_EPSILON)
        elif block.kind == "activation":
            x = ACTIVATIONS[block.size](x)
        elif block.kind == "reshape":
            x = tf.reshape(x, [-1, *block.size])
        elif block.kind == "flatten":
            x = tf.reshape(x, [tf.shape(x)[0], -1])
        else:
            raise unknown("block kind", block.kind, BLOCK_KINDS)
    return x, moving


class Model:
    def __init__(self, spec: ModelSpec, weights: dict, lr: float, jit: str, seed: int):
        self.spec, self.bn_training = spec, bool(spec.batchnorm_training)
        plan = plans(spec)
        self.blocks = {name: p[0] for name, p in plan.items()}
        self.shapes = {name: p[1] for name, p in plan.items()}
        pairs = {name: split(self.blocks[name], weights[name]) for name in plan}
        self.trainable = {name: [tf.Variable(a) for a in pair[0]] for name, pair in pairs.items()}
        self.moving = {name: [tf.Variable(a, trainable=False) for a in pair[1]] for name, pair in pairs.items()}
        groups = loss_groups(spec)
        self.loss_names = tuple(groups)
        self.groups = [[v for net in nets for v in self.trainable[net]] for nets in groups.values()]
        self.variables = [v for group in self.groups for v in group]
        self.slots = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in self.variables]
        self.beta_powers = tf.Variable([1.0, 1.0])
        index = {id(v): i for i, v in enumerate(self.variables)}
        self.applications = [
            [index[id(v)] for net in nets for v in self.trainable[net]] for nets in optimizer_applications(spec)
        ]
        self.counter = tf.Variable(0, dtype=tf.int64)
        self.lr = tf.constant(lr, tf.float32)
        self.seed, self.steps = seed, tf.Variable(0, dtype=tf.int64)
        self.jit_compile = jit == "on"
        self._step = tf.function(self._train_step, jit_compile=self.jit_compile)

    def _run(self, name: str, x: tf.Tensor) -> tf.Tensor:
        weights = self.trainable[name], self.moving[name]
        return apply(self.blocks[name], self.shapes[name], *weights, x, self.bn_training)[0]

    def _losses(self, x: tf.Tensor, noise: tf.Tensor) -> tuple[tf.Tensor, ...]:
        """One forward pass of both networks; the family's losses."""
        if self.spec.family == GAN:
            fake = self._run("generator", noise)
            real_logits, fake_logits = self._run("discriminator", x), self._run("discriminator", fake)
            d_loss = bce_with_logits(1.0, real_logits) + bce_with_logits(0.0, fake_logits)
            return d_loss, bce_with_logits(1.0, fake_logits)
        if self.spec.family == VAE:
            mean, logvar = tf.split(self._run("encoder", x), 2, axis=-1)
            z = mean + noise * tf.exp(0.5 * logvar)
            logits = self._run("decoder", z)
            cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(x, logits)
            log_px_z = -tf.reduce_sum(tf.reshape(cross_entropy, [tf.shape(x)[0], -1]), -1)
            log_pz = tf.reduce_sum(-0.5 * (tf.square(z) + LOG_2PI), -1)
            log_qz_x = tf.reduce_sum(-0.5 * (tf.square(z - mean) * tf.exp(-logvar) + logvar + LOG_2PI), -1)
            return (-tf.reduce_mean(log_px_z + log_pz - log_qz_x),)
        raise unknown("model family", self.spec.family.name, ("gan", "vae"))

    @property
    def iterations(self) -> int:
        return int(self.counter.numpy())

    def _losses_and_gradients(self, x: tf.Tensor, noise: tf.Tensor) -> tuple[tuple, list]:
        with tf.GradientTape(persistent=True) as tape:
            losses = self._losses(x, noise)
        return losses, [g for loss, group in zip(losses, self.groups, strict=True) for g in tape.gradient(loss, group)]

    def _apply(self, grads: list) -> None:
        for application in self.applications:  # each advances the one Adam's counter (its beta powers)
            self.beta_powers.assign(self.beta_powers * [ADAM_BETA_1, ADAM_BETA_2])
            self.counter.assign_add(1)
            for i in application:
                (m, v), variable = self.slots[i], self.variables[i]
                tf.raw_ops.ResourceApplyAdam(
                    var=variable.handle,
                    m=m.handle,
                    v=v.handle,
                    beta1_power=self.beta_powers[0],
                    beta2_power=self.beta_powers[1],
                    lr=self.lr,
                    beta1=ADAM_BETA_1,
                    beta2=ADAM_BETA_2,
                    epsilon=ADAM_EPSILON,
                    grad=grads[i],
                )

    def _train_step(self, x: tf.Tensor, noise: tf.Tensor | None = None) -> tuple[tf.Tensor, ...]:
        self.steps.assign_add(1)
        if noise is None:
            seed = tf.stack([tf.constant(self.seed, tf.int64), self.steps])
            noise = tf.random.stateless_normal([noise_rows(self.spec, tf.shape(x)[0]), self.spec.latent_dim], seed)
        losses, grads = self._losses_and_gradients(x, noise)
        self._apply(grads)
        return losses

    def phases(self, calls: dict, x: np.ndarray, noise: np.ndarray) -> list[Phase]:
        """Each network's forward calls, the backward and the update, each a `tf.function` of the step's code."""

        def compiled(function):
            return tf.function(function, jit_compile=self.jit_compile)

        forwards = forward_calls(self._run, calls, compiled)
        x, noise = tf.constant(x), tf.constant(noise)
        with_grads = compiled(lambda: self._losses_and_gradients(x, noise)[1])
        losses_only = compiled(lambda: self._losses(x, noise))
        update = compiled(self._apply)
        return step_phases(forwards, losses_only, with_grads, update, "ResourceApplyAdam updates")

    def step(self, x: np.ndarray, noise: np.ndarray | None = None) -> list:
        if noise is None:
            return list(self._step(tf.convert_to_tensor(x)))
        return list(self._step(tf.convert_to_tensor(x), tf.convert_to_tensor(np.asarray(noise, np.float32))))

    def losses(self, x: np.ndarray, noise: np.ndarray) -> dict[str, float]:
        values = self._losses(tf.convert_to_tensor(x), tf.convert_to_tensor(np.asarray(noise, np.float32)))
        return {name: float(v) for name, v in zip(self.loss_names, values, strict=True)}

    def get_weights(self) -> dict[str, list[np.ndarray]]:
        return {
            name: [v.numpy() for v in merge(self.blocks[name], self.trainable[name], self.moving[name])]
            for name in self.blocks
        }


def forward_calls(run, calls: dict, compiled) -> dict:
    """Per network, one `compiled` function that runs `run(name, batch)` on each of its batches in a step."""

    def forward(name: str, batches: list):
        return compiled(lambda: [run(name, batch) for batch in batches])

    return {name: forward(name, [tf.constant(a) for a in inputs]) for name, inputs in calls.items()}


def step_phases(forwards: dict, losses_only, with_grads, update, updates: str) -> list[Phase]:
    """The phases of a TensorFlow step from its `tf.function`s: each network's forward calls, the backward (the
    forward with its gradients less the forward alone: the tape records both in one function, so the gradients
    cannot run alone) and the update of the gradients `with_grads` returns."""
    grads = with_grads()
    found = [Phase(FORWARD, name, lambda _, f=forward: f()) for name, forward in forwards.items()]
    return found + [
        Phase(
            BACKWARD,
            ALL_NETWORKS,
            lambda _: with_grads(),
            minus=losses_only,
            method="derived: tf.function of the forward with its gradients less the forward alone",
        ),
        Phase(OPTIMIZER, ALL_NETWORKS, lambda _: update(grads), method=f"tf.function of the step's {updates}"),
    ]


def layer_passes(block, shape: tuple, arrays: list, x: np.ndarray) -> dict:
    """One weighted block's `LAYER_PASSES`, each a `tf.function` (the baseline's own layer code)."""
    params, x = [tf.Variable(a) for a in arrays], tf.constant(x)

    def forward():
        return apply([block], [shape], params, [], x, False)[0]

    def gradients(sources):
        def run():
            with tf.GradientTape() as tape:
                tape.watch(x)
                out = forward()
            return tape.gradient(out, sources, output_gradients=out)

        return tf.function(run)

    return {
        "forward": tf.function(forward),
        "forward_backward": gradients([x, *params]),
        "input_gradient": gradients([x]),
        "weight_gradient": gradients(params),
    }
