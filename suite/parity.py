"""Cross-backend parity: run `runners.parity_probe` under each backend, compare, and keep golden references.

Keys of a probe are `MODEL/VARIANT/KIND/...` with KIND one of `forward`, `train`, `weights`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from suite.choices import BACKENDS, KERAS2, KERAS2_ENV
from suite.files import atomic_write

Arrays = dict[str, np.ndarray]
TRAIN_STEPS = 5
LEARNING_RATE = 1e-4
IMPL_ENV = "GVBENCH_PARITY_IMPL"
"""`tf_keras`: the probe builds the Keras 2 models (TensorFlow only); else the Keras 3 ones."""
PERTURB_ENV = "GVBENCH_PARITY_PERTURB"
"""Test-only: `MODEL=WEIGHT_KEY:DELTA` adds DELTA to the first entry of that weight
(see `runners.parity_probe.weights`)."""


@dataclass(frozen=True)
class Tolerance:
    """|a - b| <= atol + rtol * |b|, elementwise, as numpy.isclose."""

    atol: float
    rtol: float


TOLERANCES = {
    # Outputs are O(1). Float32 sums over fan-ins up to 1,024 and 5x5x128 in a different order per
    # backend round to ~1e-6 relative per layer; BatchNormalization in training mode divides by the
    # standard deviation of a batch of 4, which amplifies that. Measured: <= 3e-5 on any output.
    "forward": Tolerance(atol=1e-4, rtol=1e-4),
    # Step 1's loss comes from identical weights: one float32 reduction apart (measured <= 3e-7
    # relative). Steps 2..K see weights that already differ by rounding amplified by Adam (below),
    # which moves an O(1) GAN loss by up to ~2e-5 (measured 2.6e-5 relative, CNNGAN code).
    "train": Tolerance(atol=1e-5, rtol=1e-4),
    # Adam's step is ~lr whatever the gradient's size, so a gradient that is zero in exact
    # arithmetic (a bias just before BatchNormalization, whose mean BN removes) is pure rounding
    # noise, and two backends may step such a weight in opposite directions: up to
    # 2 * TRAIN_STEPS * lr apart after TRAIN_STEPS steps. Measured: 5.6e-4 (a CNNVAE pre-BN bias).
    "weights": Tolerance(atol=2 * TRAIN_STEPS * LEARNING_RATE, rtol=0.0),
}
GOLDEN_SAMPLES = 64
"""Entries of each trained weight kept in the golden files (a fixed random subset, plus its norm)."""


def kind_of(key: str) -> str:
    return key.split("/")[2]


@dataclass(frozen=True)
class Mismatch:
    key: str
    backend: str
    against: str
    max_abs: float
    allowed: float
    index: tuple[int, ...]

    def __str__(self) -> str:
        model, variant, kind, *rest = self.key.split("/")
        what = {"forward": "output of", "train": "per-step", "weights": "trained weight"}[kind]
        return (
            f"{model} ({variant}) {what} {'/'.join(rest)}: {self.backend} differs from {self.against} "
            f"by {self.max_abs:.3g} at index {self.index} (allowed {self.allowed:.3g})"
        )


def compare(new: Arrays, ref: Arrays, backend: str, against: str) -> list[Mismatch]:
    """Every key of `ref` that `new` lacks or disagrees on beyond its kind's tolerance."""
    found = []
    for key, expected in ref.items():
        if key not in new or new[key].shape != expected.shape:
            shape = new[key].shape if key in new else "missing"
            found.append(Mismatch(f"{key}[shape {shape} vs {expected.shape}]", backend, against, np.inf, 0.0, ()))
            continue
        tol = TOLERANCES[kind_of(key)]
        diff = np.abs(new[key].astype(np.float64) - expected)
        allowed = tol.atol + tol.rtol * np.abs(expected)
        excess = np.where(np.isnan(diff), np.inf, diff - allowed)
        if (excess > 0).any():
            index = np.unravel_index(int(np.argmax(excess)), diff.shape)
            value = float(diff[index]) if np.isfinite(diff[index]) else np.inf
            found.append(Mismatch(key, backend, against, value, float(allowed[index]), tuple(int(i) for i in index)))
    return found


def compare_backends(results: dict[str, Arrays]) -> list[Mismatch]:
    """Every backend against the first one present (in BACKENDS order)."""
    backends = [b for b in BACKENDS if b in results]
    return [m for b in backends[1:] for m in compare(results[b], results[backends[0]], b, backends[0])]


def largest_differences(results: dict[str, Arrays]) -> pd.DataFrame:
    """Per model, variant and kind: the largest absolute difference between any two backends."""
    backends = [b for b in BACKENDS if b in results]
    rows = []
    for key in results[backends[0]]:
        values = [results[b][key].astype(np.float64) for b in backends if key in results[b]]
        spread = max(float(np.max(np.abs(v - values[0]))) for v in values)
        model, variant, kind = key.split("/")[:3]
        rows.append({"model": model, "variant": variant, "kind": kind, "max_abs_diff": spread, "key": key})
    frame = pd.DataFrame(rows)
    worst = frame.loc[frame.groupby(["model", "variant", "kind"], sort=False).max_abs_diff.idxmax()]
    worst = worst.assign(allowed_atol=worst.kind.map(lambda k: TOLERANCES[k].atol))
    return worst.reset_index(drop=True)


def for_golden(arrays: Arrays) -> Arrays:
    """Forward outputs and losses whole; of each trained weight, GOLDEN_SAMPLES fixed entries."""
    kept = {}
    for key, value in arrays.items():
        if kind_of(key) == "weights" and value.size > GOLDEN_SAMPLES:
            rng = np.random.default_rng(zlib.crc32(key.encode()))
            value = value.reshape(-1)[np.sort(rng.choice(value.size, GOLDEN_SAMPLES, replace=False))]
        kept[key] = value
    return kept


def golden_path(folder: Path, backend: str) -> Path:
    return folder / f"parity-{backend}.npz"


def read(path: Path) -> Arrays:
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def compare_golden(results: dict[str, Arrays], folder: Path) -> list[Mismatch]:
    """Each backend against its own golden file, on the keys probed."""
    found = []
    for backend, arrays in results.items():
        golden = read(golden_path(folder, backend))
        probed = {key: value for key, value in golden.items() if key.split("/")[0] in {k.split("/")[0] for k in arrays}}
        found += compare(for_golden(arrays), probed, backend, f"golden {golden_path(folder, backend).name}")
    return found


def write_golden(results: dict[str, Arrays], folder: Path) -> list[Path]:
    written = []
    for backend, arrays in results.items():
        with atomic_write(golden_path(folder, backend)) as f:
            np.savez_compressed(f, **for_golden(arrays))
        written.append(golden_path(folder, backend))
    return written


def probe(backend: str, models: list[str], env: dict | None = None, keras2: bool = False) -> Arrays:
    """Run `runners.parity_probe` in a fresh process of `backend` (with `keras2`: of Keras 2 on TensorFlow); return
    its arrays."""
    with tempfile.TemporaryDirectory(prefix="gvbench-parity-") as tmp:
        out = Path(tmp) / f"{backend}.npz"
        env = (env or dict(os.environ)) | {"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        if keras2:
            env |= KERAS2_ENV | {IMPL_ENV: KERAS2}
        done = subprocess.run(
            [sys.executable, "-m", "runners.parity_probe", str(out), *models], env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"parity probe failed on {backend}:\n{done.stderr[-3000:]}")
        return read(out)
