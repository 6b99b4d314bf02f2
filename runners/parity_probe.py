"""What every model computes under this process's backend, from fixed weights and fixed NumPy inputs.

`python -m runners.parity_probe OUT.npz [MODEL ...]` (with KERAS_BACKEND set) writes one array per
key: forward outputs of every network in inference and training mode, per-step losses of
TRAIN_STEPS Adam steps on fixed batches and noise, and the weights after them. Nothing is
drawn from a backend's random generator, so the three backends must agree up to float32
rounding; `suite.parity` compares them. With `IMPL_ENV=tf_keras` (and TF_USE_LEGACY_KERAS=1, on TensorFlow) it
probes the Keras 2 models (`runners.keras2`) instead, under the same keys.
"""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path

import keras
import numpy as np

from architectures import MODELS, VARIANTS, get_spec
from architectures.inputs import preprocess
from runners.backends import build_trainable
from suite.choices import KERAS2
from suite.files import atomic_write
from suite.parity import IMPL_ENV, LEARNING_RATE, PERTURB_ENV, TRAIN_STEPS

WEIGHTS_SEED = 2023
INPUTS_SEED = 7
FORWARD_BATCH = 4
TRAIN_BATCH = 16
NETWORKS = ("generator", "discriminator", "encoder", "decoder")


def networks(model: keras.Model) -> dict[str, keras.Model]:
    return {name: getattr(model, name) for name in NETWORKS if hasattr(model, name)}


def weights(model: keras.Model) -> dict[str, keras.Variable]:
    """Every weight of every network, keyed `network/<layer index>-<layer class>/<weight name>`.

    Keras' own variable paths number layers per process (`dense_14`), so they depend on what
    was built before; these keys do not (Keras 2's `dense_3/kernel:0` is `kernel` here too).
    """
    found = {}
    for network_name, network in networks(model).items():
        for index, layer in enumerate(network.layers):
            for variable in layer.weights:
                name = variable.name.rsplit("/", 1)[-1].split(":")[0]
                found[f"{network_name}/{index}-{type(layer).__name__}/{name}"] = variable
    return found


def fixed_value(key: str, shape: tuple[int, ...], seed: int = WEIGHTS_SEED) -> np.ndarray:
    """A deterministic float32 value for the weight called `key`, by kind (Glorot-normal kernels)."""
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    kind = key.rsplit("/", 1)[-1]
    if kind == "kernel":
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        scale = np.sqrt(2.0 / (receptive * (shape[-2] + shape[-1])))
        value = rng.normal(0.0, scale, shape)
    elif kind == "gamma":
        value = 1.0 + rng.uniform(-0.1, 0.1, shape)
    elif kind == "moving_variance":
        value = rng.uniform(0.8, 1.2, shape)
    else:
        value = rng.normal(0.0, 0.05, shape)
    return value.astype("float32")


def set_fixed_weights(model: keras.Model, perturb: str | None = None) -> None:
    """Every weight of every network from `fixed_value`; optionally nudge one (to prove a check fails)."""
    target, delta = None, 0.0
    if perturb:
        model_name, rest = perturb.split("=", 1)
        key, delta_text = rest.rsplit(":", 1)
        target, delta = (key, float(delta_text)) if model_name == model.spec.name else (None, 0.0)
    for key, variable in weights(model).items():
        value = fixed_value(key, tuple(variable.shape))
        if key == target:
            value.flat[0] += delta
        variable.assign(value)


def inputs(model: keras.Model, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A batch of preprocessed digit-like images and as many rows of noise, drawn in NumPy."""
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    return preprocess(model.spec, images), rng.standard_normal((n, model.spec.latent_dim)).astype("float32")


def probe(model_name: str, variant: str) -> dict[str, np.ndarray]:
    """Forward outputs, per-step losses and final weights of one model under this backend."""
    key = f"{model_name}/{variant}"
    perturb = os.environ.get(PERTURB_ENV)
    keras2 = os.environ.get(IMPL_ENV) == KERAS2
    if keras2:
        from runners import keras2 as keras2_models

        model = keras2_models.build(get_spec(model_name, variant), seed=0)
    else:
        model = build_trainable(get_spec(model_name, variant), seed=0)
    set_fixed_weights(model, perturb)
    rng = np.random.default_rng([INPUTS_SEED, zlib.crc32(key.encode())])
    x, z = inputs(model, FORWARD_BATCH, rng)
    out = {}
    for mode in ("inference", "training"):
        for name, network in networks(model).items():
            feed = x if name in ("discriminator", "encoder") else z
            value = network(feed, training=mode == "training")
            out[f"{key}/forward/{name}/{mode}"] = keras.ops.convert_to_numpy(value)
    set_fixed_weights(model, perturb)  # training-mode calls moved BatchNormalization's statistics
    model.compile(optimizer=keras2_models.adam(LEARNING_RATE) if keras2 else keras.optimizers.Adam(LEARNING_RATE))
    steps = {name: [] for name in model.loss_names}
    for _ in range(TRAIN_STEPS):
        x, noise = inputs(model, TRAIN_BATCH, rng)
        logs = model.train_on_batch(x, noise, return_dict=True)
        for name in model.loss_names:
            steps[name].append(float(logs[name]))
    out |= {f"{key}/train/{name}": np.array(values, "float32") for name, values in steps.items()}
    for name, variable in weights(model).items():
        out[f"{key}/weights/{name}"] = keras.ops.convert_to_numpy(variable)
    return out


def main(argv: list[str]) -> int:
    path, models = Path(argv[0]), argv[1:] or list(MODELS)
    arrays = {}
    for model_name in models:
        for variant in VARIANTS:
            arrays |= probe(model_name, variant)
    with atomic_write(path) as f:
        np.savez_compressed(f, **arrays)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
