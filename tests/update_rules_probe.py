"""Run under one backend (KERAS_BACKEND): the `code` variant's two training-step rules, Keras and native.

Prints one JSON line:
- per VAE and variant: Adam's iteration count after 3 steps (Keras, native); each network's
  first update from fixed weights, images and noise, against a NumPy Adam step at t = 1 and
  t = 2 from the same gradient (the gradient is read off one step of SGD with rate 1);
- per GAN variant: the noise rows a step draws for a 12-image batch, and whether the losses of
  that draw equal the losses given the same noise explicitly (Keras: the seed generator's next
  draw; native: the backend's own draw, replayed).
"""

from __future__ import annotations

import json

import keras
import numpy as np

from architectures import VARIANTS, get_spec
from architectures.spec import ModelSpec
from runners import native
from runners.backends import build_trainable

LR = 1e-3
BATCH, SHORT, STEPS = 16, 12, 3
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7


def adam_first_update(gradient: np.ndarray, t: int) -> np.ndarray:
    """Keras' Adam update of a variable at step t with zero moments (its first update at counter t - 1)."""
    alpha = LR * np.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
    m, v = (1 - BETA_1) * gradient, (1 - BETA_2) * np.square(gradient)
    return -alpha * m / (np.sqrt(v) + EPSILON)


def weights(model) -> dict[str, list[np.ndarray]]:
    return {name: network.get_weights() for name, network in model.networks().items()}


def trained(spec: ModelSpec, start: dict, optimizer, batches: list) -> tuple[dict, int]:
    """Weights after one train_on_batch per batch from `start`, and the optimizer's iteration count."""
    model = build_trainable(spec, seed=0)
    for name, arrays in start.items():
        getattr(model, name).set_weights(arrays)
    model.compile(optimizer=optimizer)
    for x, noise in batches:
        model.train_on_batch(x, noise)
    return weights(model), int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def update_rule(spec: ModelSpec, backend: str, rng: np.random.Generator) -> dict:
    start = weights(build_trainable(spec, seed=0))
    batches = [
        (spec_input(spec, rng, BATCH), rng.standard_normal((BATCH, spec.latent_dim)).astype(np.float32))
        for _ in range(STEPS)
    ]
    after_sgd, _ = trained(spec, start, keras.optimizers.SGD(1.0), batches[:1])
    after_adam, _ = trained(spec, start, keras.optimizers.Adam(LR), batches[:1])
    _, iterations = trained(spec, start, keras.optimizers.Adam(LR), batches)
    twin = native.build(spec, backend, start, LR, "auto", 0)
    twin.step(*batches[0])
    native_after = twin.get_weights()
    for x, noise in batches[1:]:
        twin.step(x, noise)
    found = {"keras_iterations": iterations, "native_iterations": twin.iterations}
    for name in spec.family.networks:
        kernels = [i for i, a in enumerate(start[name]) if a.ndim >= 2]
        gradient = np.concatenate([(start[name][i] - after_sgd[name][i]).ravel() for i in kernels])
        keras_step = np.concatenate([(after_adam[name][i] - start[name][i]).ravel() for i in kernels])
        native_step = np.concatenate([(native_after[name][i] - start[name][i]).ravel() for i in kernels])
        steady = np.abs(gradient) > 1e-4  # where Adam's first step is lr-sized, not rounding-sized
        found[name] = {
            "error_t1": float(np.abs(keras_step - adam_first_update(gradient, 1)).max() / LR),
            "error_t2": float(np.abs(keras_step - adam_first_update(gradient, 2)).max() / LR),
            "keras_ratio_to_t1": float(
                np.median(np.abs(keras_step[steady]) / np.abs(adam_first_update(gradient, 1))[steady])
            ),
            "native_ratio_to_t1": float(
                np.median(np.abs(native_step[steady]) / np.abs(adam_first_update(gradient, 1))[steady])
            ),
        }
    return found


def spec_input(spec: ModelSpec, rng: np.random.Generator, n: int) -> np.ndarray:
    from architectures.inputs import preprocess

    return preprocess(spec, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))


def native_noise(backend: str, seed: int, rows: int, latent: int) -> np.ndarray:
    """The first noise a native baseline of `backend` draws (its own generator, replayed)."""
    if backend == "torch":
        import torch

        return torch.randn((rows, latent), generator=torch.Generator().manual_seed(seed)).numpy()
    if backend == "jax":
        import jax

        _, draw = jax.random.split(jax.random.key(seed))
        return np.asarray(jax.random.normal(draw, (rows, latent)))
    import tensorflow as tf

    return tf.random.stateless_normal([rows, latent], tf.constant([seed, 1], tf.int64)).numpy()


def noise_rule(spec: ModelSpec, backend: str, rng: np.random.Generator) -> dict:
    x = spec_input(spec, rng, SHORT)
    drawing, replaying = (build_trainable(spec, seed=3) for _ in range(2))
    for name, arrays in weights(drawing).items():
        getattr(replaying, name).set_weights(arrays)
    drawn = drawing.compute_losses(x)
    noise = keras.random.normal(replaying.noise_shape(SHORT), seed=replaying.seed_generator)
    given = replaying.compute_losses(x, noise)
    rows = int(noise.shape[0])
    twins = [native.build(spec, backend, weights(drawing), LR, "auto", 7) for _ in range(2)]
    own = [float(v) for v in twins[0].step(x)]
    replayed = [float(v) for v in twins[1].step(x, native_noise(backend, 7, rows, spec.latent_dim))]
    return {
        "keras_rows": rows,
        "keras_same": all(
            np.isclose(float(drawn[k]), float(keras.ops.convert_to_numpy(given[k])), rtol=1e-6) for k in drawn
        ),
        "native_same": bool(np.allclose(own, replayed, rtol=1e-6)),
    }


def main() -> None:
    backend = keras.backend.backend()
    report = {}
    for variant in VARIANTS:
        keras.utils.set_random_seed(0)
        for model in ("DenseVAE", "CNNVAE"):
            report[f"{model}/{variant}"] = update_rule(get_spec(model, variant), backend, np.random.default_rng(1))
        report[f"DenseGAN/{variant}"] = noise_rule(get_spec("DenseGAN", variant), backend, np.random.default_rng(2))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
