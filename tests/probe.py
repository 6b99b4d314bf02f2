"""Run under one backend (KERAS_BACKEND): shapes, sizes and one training step of every model × variant.

Prints one JSON line that the tests compare across backends and against hand counts.
"""

from __future__ import annotations

import json

import keras
import numpy as np

from architectures import MODELS, VARIANTS, get_spec
from runners.backends import build_trainable

BATCH = 32


def to_numpy(variables) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(v).copy() for v in variables]


def shapes(model) -> dict:
    x = np.zeros((2, 28, 28, 1), "float32")
    z = np.zeros((2, model.spec.latent_dim), "float32")
    if model.spec.family.name == "gan":
        return {"generator": model.generator(z).shape, "discriminator": model.discriminator(x).shape}
    return {"encoder": model.encoder(x).shape, "decoder": model.decoder(z).shape}


def one_step(model, images: np.ndarray) -> dict:
    """One fit step on one batch: which variables moved, and the losses it reported."""
    trainable, moving = model.trainable_variables, [v for v in model.variables if "moving_mean" in v.path]
    before, before_moving = to_numpy(trainable), to_numpy(moving)
    history = model.fit(model.preprocess(images), batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    after, after_moving = to_numpy(trainable), to_numpy(moving)
    return {
        "losses": {k: v[-1] for k, v in history.history.items()},
        "trainable_changed": sum(not np.array_equal(a, b) for a, b in zip(before, after, strict=True)),
        "trainable_total": len(trainable),
        "moving_changed": sum(not np.array_equal(a, b) for a, b in zip(before_moving, after_moving, strict=True)),
        "moving_total": len(moving),
    }


def main() -> None:
    images = np.random.default_rng(0).integers(0, 256, (BATCH, 28, 28), dtype=np.uint8)
    report = {}
    for name in MODELS:
        for variant in VARIANTS:
            keras.utils.set_random_seed(0)
            model = build_trainable(get_spec(name, variant), seed=0)
            model.compile(optimizer=keras.optimizers.Adam(1e-4))
            entry = {
                "params": model.count_params(),
                "shapes": {k: [None if d is None else int(d) for d in s] for k, s in shapes(model).items()},
                "step": one_step(model, images),
            }
            if variant == "paper" and name in ("DenseGAN", "DenseVAE"):
                keras.utils.set_random_seed(0)
                twin = build_trainable(get_spec(name, variant), seed=0)
                twin.compile(optimizer=keras.optimizers.Adam(1e-4))
                entry["repeat_losses"] = one_step(twin, images)["losses"]
            report[f"{name}/{variant}"] = entry
    print(json.dumps(report))


if __name__ == "__main__":
    main()
