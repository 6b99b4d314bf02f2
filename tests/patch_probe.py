"""Run under JAX: Keras with `runners.backends.jax_patch` applied against Keras as released, from the same weights.

Prints one JSON line: per convolutional model, each side's losses over `TRAIN_STEPS` training steps on the same
batches and noise, the largest difference of their final weights, per network the largest difference of its
gradients (for its weights and its input, from the same weights, input and cotangent) over the largest gradient
entry, and whether each side's compiled step holds the patch's custom gradients (so the comparison is not
of Keras against itself).
"""

from __future__ import annotations

import json

import jax
import keras
import numpy as np

from architectures import get_spec
from runners import backends
from runners.backends import jax_patch
from suite.parity import LEARNING_RATE, TRAIN_STEPS

MODELS = ("CNNGAN", "CNNVAE")
BATCH = 16


def gradients(network, inputs: np.ndarray) -> list[np.ndarray]:
    """The gradients of a fixed random projection of the network's training-mode output, for its trainable
    weights and its input: what a training step's backward computes through each convolution."""
    trainable = [v.value for v in network.trainable_variables]
    non_trainable = [v.value for v in network.non_trainable_variables]

    def output(weights, x):
        return network.stateless_call(weights, non_trainable, x, training=True)[0]

    out, vjp = jax.vjp(output, trainable, inputs)
    cotangent = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    weight_grads, input_grad = vjp(cotangent)
    return [np.asarray(g) for g in [*weight_grads, input_grad]]


def train(spec, weights: list, batches: list) -> tuple[list[dict], list[np.ndarray], bool, dict]:
    model = backends.build_trainable(spec, seed=1)
    model.set_weights(weights)
    grads = {
        name: gradients(network, np.random.default_rng(2).standard_normal((BATCH, *network.input_shape[1:])))
        for name, network in model.networks().items()
    }
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE))
    jaxprs = [
        str(
            jax.make_jaxpr(network.stateless_call)(
                [v.value for v in network.trainable_variables],
                [v.value for v in network.non_trainable_variables],
                np.zeros((BATCH, *network.input_shape[1:]), np.float32),
            )
        )
        for network in model.networks().values()
    ]
    losses = [
        {k: float(v) for k, v in model.train_on_batch(x, noise, return_dict=True).items() if not k.endswith("_last")}
        for x, noise in batches
    ]
    return losses, model.get_weights(), any("custom_vjp_call" in text for text in jaxprs), grads


def main() -> None:
    inputs = {}
    for name in MODELS:
        spec = get_spec(name)
        rng = np.random.default_rng(0)
        shapes = ((BATCH, 28, 28, 1), (BATCH, spec.latent_dim))
        batches = [tuple(rng.standard_normal(s).astype(np.float32) for s in shapes) for _ in range(TRAIN_STEPS)]
        inputs[name] = spec, backends.build_trainable(spec, seed=1).get_weights(), batches
    released = {name: train(*inputs[name]) for name in MODELS}
    jax_patch.apply()
    report = {}
    for name in MODELS:
        (keras_losses, keras_weights, keras_custom, keras_grads), patched = released[name], train(*inputs[name])
        report[name] = {
            "keras_losses": keras_losses,
            "patched_losses": patched[0],
            "weights_max_diff": max(
                float(np.max(np.abs(a - b))) for a, b in zip(keras_weights, patched[1], strict=True)
            ),
            "gradients_max_relative_diff": {
                network: max(float(np.max(np.abs(a - b))) for a, b in zip(grads, patched[3][network], strict=True))
                / max(float(np.max(np.abs(a))) for a in grads)
                for network, grads in keras_grads.items()
            },
            "keras_has_custom_gradients": keras_custom,
            "patched_has_custom_gradients": patched[2],
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
