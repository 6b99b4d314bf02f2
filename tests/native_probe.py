"""Run under one backend (KERAS_BACKEND): each native baseline against its Keras twin from the same weights.

Prints one JSON line: per model × variant, the Keras and native losses of one batch (same weights,
images and noise), whether the weights survive the trip into the native model and back, and
whether `init_weights` fits the Keras model's shapes.
"""

from __future__ import annotations

import json

import keras
import numpy as np

from architectures import MODELS, VARIANTS, get_spec, model_class
from runners import native

BATCH = 16


def keras_weights(model) -> dict[str, list[np.ndarray]]:
    return {name: network.get_weights() for name, network in model.networks().items()}


def main() -> None:
    backend = keras.backend.backend()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (BATCH, 28, 28), dtype=np.uint8)
    report = {}
    for name in MODELS:
        for variant in VARIANTS:
            spec = get_spec(name, variant)
            keras.utils.set_random_seed(1)
            model = model_class(spec)(spec, seed=1)
            weights = keras_weights(model)
            for arrays in weights.values():  # non-trivial BatchNorm statistics, so inference mode is checked too
                for i, a in enumerate(arrays):
                    arrays[i] = a + rng.uniform(0.0, 0.5, a.shape).astype(np.float32) if a.ndim == 1 else a
            for net, arrays in weights.items():
                getattr(model, net).set_weights(arrays)
            x = model.preprocess(images)
            noise = rng.standard_normal((BATCH, spec.latent_dim)).astype(np.float32)
            twin = native.build(spec, backend, weights, 1e-3, "auto", 0)
            back = twin.get_weights()
            fresh = native.init_weights(spec, 0)
            shapes_fit = all(
                [a.shape for a in fresh[net]] == [a.shape for a in arrays] for net, arrays in weights.items()
            )
            report[f"{name}/{variant}"] = {
                "keras": {k: float(v) for k, v in model.compute_losses(x, noise=noise, training=True).items()},
                "native": twin.losses(x, noise),
                "round_trip": all(
                    np.array_equal(a, b) for net in weights for a, b in zip(weights[net], back[net], strict=True)
                ),
                "init_shapes_fit": shapes_fit,
            }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
