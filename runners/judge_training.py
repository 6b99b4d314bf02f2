"""Train the judge and score the reference image sets.

    python -m runners.judge_training train       # architectures/judge.weights.h5 and judge.json
    python -m runners.judge_training reference   # judge-reference.csv, judge-test-stats.npz, digit-manifold.npz and
                                                 # judge-controls.csv (the control panels scored)
    python -m runners.judge_training paper       # judge-paper-figures.csv: the paper's own 4 × 4 figures scored

Both run under $KERAS_BACKEND (the shipped files came from `torch`) and read MNIST as
`gvbench run` does (`--data` or $GVBENCH_DATA, else Keras' cache or a download).
"""

from __future__ import annotations

import argparse
import hashlib
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


def fitted_manifold(judge, arrays: dict) -> dict[str, np.ndarray]:
    """The digit manifold fitted on the training images and the `fit` half of the test images, with the edge
    threshold in the middle of the range that keeps, on the tuning panel (another seed and test half than the
    shipped panel), every negative control at most `NEGATIVE_MAX` readable and every positive one at least
    `POSITIVE_MIN`."""
    from suite.controls import NEGATIVE, NEGATIVE_MAX, POSITIVE_MIN, TUNING_SEED, panel, split
    from suite.sample_metrics import EDGE_GRID, fit_manifold, gates, readability

    manifold = fit_manifold(arrays["x_train"], split(arrays["x_test"], "fit"))
    tuning = {name: (images, judge(images)[0]) for name, images in panel(arrays, 1000, TUNING_SEED, "fit").items()}
    allowed = []
    for edge in EDGE_GRID:
        manifold["edge_threshold"] = np.array(edge)
        read = {
            name: readability(probs, gates(images, manifold))["readable_share"]
            for name, (images, probs) in tuning.items()
        }
        negative_ok = all(read[name] <= NEGATIVE_MAX for name in NEGATIVE)
        positive_ok = all(value >= POSITIVE_MIN for name, value in read.items() if name not in NEGATIVE)
        if negative_ok and positive_ok:
            allowed.append(edge)
    if not allowed:
        raise SystemExit("no edge threshold keeps the negative controls unreadable and the positive ones readable")
    manifold["edge_threshold"] = np.array((min(allowed) + max(allowed)) / 2)
    manifold["edge_range"] = np.array([min(allowed), max(allowed)])
    return manifold


def control_scores(judge, arrays: dict, manifold: dict, test_stats: tuple) -> pd.DataFrame:
    """Every image metric of each control set of the shipped panel and of the hard cases, its readable share at each
    judge cutoff, and for sets of test digits (`LABELLED`) how the judge reads them against their labels (the
    `recon_` metrics: how it misreads hazy real digits, the control of a VAE's confusions)."""
    from runners.scoring import real_features
    from suite.controls import LABELLED, NEGATIVE, PANEL_SEED, POSITIVE, hard_cases, panel, split
    from suite.sample_metrics import reconstruction_reading, score_images

    rows = []
    labels = split(arrays["y_test"], "judge")[:1000]
    real = real_features(arrays)
    for name, images in (panel(arrays, 1000, PANEL_SEED) | hard_cases(arrays, 1000)).items():
        probs, features = judge(images)
        scores = score_images(images, probs, features, test_stats, manifold, real)
        if name in LABELLED:
            scores |= reconstruction_reading(labels, probs)
        kind = "negative" if name in NEGATIVE else "positive" if name in POSITIVE else "hard case"
        rows += [
            {"control": name, "kind": kind, "images": len(images), "metric": metric, "value": value}
            for metric, value in scores.items()
        ]
    return pd.DataFrame(rows)


def write_csv(frame: pd.DataFrame, path) -> None:
    with atomic_write(path) as f:
        f.write(frame.to_csv(index=False).encode())


def reference(data: str | None) -> pd.DataFrame:
    """The test images' feature statistics, the digit manifold, the control panels' scores, and every image metric
    of the reference sets at each profile's size."""
    from architectures.judge import CONTROLS, MANIFOLD, REFERENCE, Judge
    from suite.mnist import load_mnist
    from suite.profiles import PROFILES
    from suite.sample_metrics import feature_stats, score_images

    arrays = load_mnist(data)
    judge = Judge()
    test_stats = feature_stats(judge(arrays["x_test"])[1])
    save_test_stats(test_stats)
    manifold = fitted_manifold(judge, arrays)
    with atomic_write(MANIFOLD) as f:
        np.savez_compressed(f, **manifold)
    write_csv(control_scores(judge, arrays, manifold, test_stats), CONTROLS)
    rows = []
    for n in sorted({p.quality_images for p in PROFILES.values()}):
        for source, images in reference_sets(arrays, n).items():
            probs, features = judge(images)
            for metric, value in score_images(images, probs, features, test_stats, manifold).items():
                rows.append({"source": source, "images": n, "metric": metric, "value": value})
    frame = pd.DataFrame(rows)
    write_csv(frame, REFERENCE)
    return frame


def paper_figures() -> pd.DataFrame:
    """The judge's metrics of each of the paper's own 4 × 4 figures (its 16 digits), from shared/paper/figures/."""
    from architectures.judge import Judge, digit_manifold
    from suite.paper import FIGURES, GRIDS, PAPER_SCORES, digit_tiles
    from suite.sample_metrics import CONFIDENT, gates, haze_share, readability, speckle_share

    judge, manifold, rows = Judge(), digit_manifold(), []
    for name in GRIDS:
        tiles = digit_tiles(FIGURES / name)
        probs = judge(tiles)[0]
        gate = gates(tiles, manifold)
        readable = np.logical_and.reduce([probs.max(axis=1) >= CONFIDENT, *gate.values()])
        scores = readability(probs, gate) | {"haze_share": haze_share(tiles), "speckle_share": speckle_share(tiles)}
        scores["digits_read"] = float(len(set(probs.argmax(axis=1)[readable].tolist())))
        rows += [{"figure": name, "metric": metric, "value": value} for metric, value in scores.items()]
    frame = pd.DataFrame(rows)
    write_csv(frame, PAPER_SCORES)
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
