"""Train the judge and score the reference image sets.

    python -m runners.judge_training train       # architectures/judge.weights.h5 and judge.json
    python -m runners.judge_training reference   # judge-reference.csv, judge-test-stats.npz and digit-manifold.npz
    python -m runners.judge_training paper       # judge-paper-figures.csv: the paper's own 4 × 4 figures scored

Both run under $KERAS_BACKEND (the shipped files came from `torch`) and read MNIST as
`gvbench run` does (`--data` or $GVBENCH_DATA, else Keras' cache or a download).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import time

import numpy as np
import pandas as pd

from suite.files import atomic_write

SEED = 0
EPOCHS = 12
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
REFERENCE_SEED = 4321
"""Seed of which training images, and which noise, the reference sets hold."""


def save_weights(weights: list) -> None:
    """Write the judge's weights alone (an uncompiled model: no optimizer state), atomically."""
    from architectures import judge

    bare = judge.build_judge()
    bare.set_weights(weights)
    partial = judge.WEIGHTS.with_name(".judge.partial.weights.h5")
    bare.save_weights(partial)
    os.replace(partial, judge.WEIGHTS)


def train(data: str | None) -> dict:
    """Train the judge on the 60,000 training images with a fixed seed; save weights and card."""
    import keras

    from architectures import judge
    from runners.cell import set_random_seed
    from suite.mnist import load_mnist

    set_random_seed(SEED)
    arrays = load_mnist(data)
    model = judge.build_judge()
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(
        judge.to_input(arrays["x_train"]),
        arrays["y_train"].astype("int32"),
        batch_size=BATCH_SIZE,
        epochs=EPOCHS,
        shuffle=True,
        verbose=2,
    )
    seconds = time.perf_counter() - start
    save_weights(model.get_weights())
    probs, _ = judge.Judge()(arrays["x_test"])
    accuracy = float((probs.argmax(axis=1) == arrays["y_test"]).mean())
    facts = {
        "test_accuracy": accuracy,
        "test_images": int(len(arrays["y_test"])),
        "trained_on": "MNIST training set, 60,000 images, x/255, no augmentation",
        "epochs": EPOCHS,
        "batch_size": BATCH_SIZE,
        "optimizer": f"Adam({LEARNING_RATE})",
        "seed": SEED,
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "train_seconds": round(seconds, 1),
        "weights_sha256": hashlib.sha256(judge.WEIGHTS.read_bytes()).hexdigest(),
        "command": "python -m runners.judge_training train",
    }
    with atomic_write(judge.CARD) as f:
        f.write((json.dumps(facts, indent=2) + "\n").encode())
    return facts


def reference_sets(arrays: dict, n: int) -> dict[str, np.ndarray]:
    """n real training images (the best a generator can do), n uniform-noise images and n blank ones."""
    rng = np.random.default_rng(REFERENCE_SEED)
    pick = rng.choice(len(arrays["x_train"]), size=min(n, len(arrays["x_train"])), replace=False)
    return {
        "real": arrays["x_train"][np.sort(pick)],
        "noise": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        "blank": np.zeros((n, 28, 28), dtype=np.uint8),
    }


def save_test_stats(stats: tuple[np.ndarray, np.ndarray]) -> None:
    """Write the test images' feature mean and covariance beside the judge, atomically."""
    from architectures.judge import TEST_STATS

    with atomic_write(TEST_STATS) as f:
        np.savez(f, mean=stats[0], cov=stats[1])


def reference(data: str | None) -> pd.DataFrame:
    """The test images' feature statistics, and every image metric of the reference sets at each profile's size."""
    from architectures.judge import MANIFOLD, REFERENCE, Judge
    from suite.mnist import load_mnist
    from suite.profiles import PROFILES
    from suite.sample_metrics import feature_stats, fit_manifold, score_images

    arrays = load_mnist(data)
    judge = Judge()
    test_stats = feature_stats(judge(arrays["x_test"])[1])
    save_test_stats(test_stats)
    manifold = fit_manifold(arrays["x_train"], arrays["x_test"])
    with atomic_write(MANIFOLD) as f:
        np.savez_compressed(f, **manifold)
    rows = []
    for n in sorted({p.quality_images for p in PROFILES.values()}):
        for source, images in reference_sets(arrays, n).items():
            probs, features = judge(images)
            for metric, value in score_images(images, probs, features, test_stats, manifold).items():
                rows.append({"source": source, "images": n, "metric": metric, "value": value})
    frame = pd.DataFrame(rows)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    with atomic_write(REFERENCE) as f:
        f.write(buffer.getvalue().encode())
    return frame


def paper_figures() -> pd.DataFrame:
    """The judge's metrics of each of the paper's own 4 × 4 figures (its 16 digits), from shared/paper/figures/."""
    from architectures.judge import PAPER_SCORES, Judge, digit_manifold
    from suite.paper_figures import FIGURES, GRIDS, digit_tiles
    from suite.sample_metrics import CONFIDENT, haze_share, manifold_residuals, readability, speckle_share

    judge, manifold, rows = Judge(), digit_manifold(), []
    for name in GRIDS:
        tiles = digit_tiles(FIGURES / name)
        probs = judge(tiles)[0]
        on = manifold_residuals(tiles, manifold) <= manifold["threshold"]
        readable = (probs.max(axis=1) >= CONFIDENT) & on
        scores = readability(probs, on) | {"haze_share": haze_share(tiles), "speckle_share": speckle_share(tiles)}
        scores["digits_read"] = float(len(set(probs.argmax(axis=1)[readable].tolist())))
        rows += [{"figure": name, "metric": metric, "value": value} for metric, value in scores.items()]
    frame = pd.DataFrame(rows)
    with atomic_write(PAPER_SCORES) as f:
        f.write(frame.to_csv(index=False).encode())
    return frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runners.judge_training", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["train", "reference", "paper"])
    parser.add_argument("--data", help="an mnist.npz (default: $GVBENCH_DATA, Keras' cache or a download)")
    args = parser.parse_args(argv)
    if args.what == "train":
        print(json.dumps(train(args.data), indent=2))
    elif args.what == "paper":
        print(paper_figures().pivot_table(index="metric", columns="figure", values="value").to_string())
    else:
        frame = reference(args.data)
        print(frame.pivot_table(index=["images", "metric"], columns="source", values="value").to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
