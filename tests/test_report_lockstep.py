"""The report's lockstep tables: when the backends' per-step losses part, and how far apart their final weights end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from architectures import get_spec
from runners.native import init_weights
from suite.choices import BACKENDS
from suite.report.sections import lockstep_runs as lockstep

LABEL = "DenseGAN [lockstep]"


def cells(seeds=(0,), status="ok") -> pd.DataFrame:
    rows = [
        {
            "source": ".",
            "run_id": "r1",
            "cell_id": f"{b}.s{s}",
            "backend": b,
            "profile": "quick",
            "label": LABEL,
            "model": "DenseGAN",
            "variant": "paper",
            "lr": 1e-4,
            "seed": s,
            "mode": "lockstep",
            "status": status,
            "samples_file": f"{b}.s{s}.npz",
        }
        for s in seeds
        for b in BACKENDS
    ]
    return pd.DataFrame(rows)


def steps(chosen: pd.DataFrame, apart_from: int) -> pd.DataFrame:
    """d_loss 1.0 on every backend until step `apart_from`, then torch 5% higher."""
    rows = []
    for cell in chosen.itertuples():
        for step in range(1, 21):
            value = 1.0 + (0.05 if cell.backend == "torch" and step >= apart_from else 0.0)
            rows.append(
                {
                    "source": ".",
                    "run_id": "r1",
                    "cell_id": cell.cell_id,
                    "step": step,
                    "metric": "d_loss",
                    "value": value,
                }
            )
    return pd.DataFrame(rows)


def test_the_parting_step_is_the_first_past_the_threshold():
    chosen = cells()
    div = lockstep.divergence(chosen, steps(chosen, apart_from=7))
    assert set(div.backends) == {3}
    parted = lockstep.parting(div).iloc[0]
    assert parted.spread_step_1 == 0 and parted.parted_at_step == 7 and parted.last_step == 20
    assert parted.spread_last_step == pytest.approx(0.05 / (1 + 0.05 / 3))


def test_independent_or_failed_cells_are_not_compared():
    chosen = cells().assign(mode="independent")
    assert lockstep.divergence(chosen, steps(chosen, apart_from=7)).empty
    failed = cells(status="failed")
    assert lockstep.divergence(failed, steps(failed, apart_from=7)).empty


def test_final_weights_apart_against_how_far_training_moved_them(tmp_path):
    chosen = cells()
    start = {
        f"weights/{name}/{i}": array
        for name, arrays in init_weights(get_spec("DenseGAN"), 0).items()
        for i, array in enumerate(arrays)
    }
    norm = np.sqrt(sum(float(np.sum(a**2)) for a in start.values()))
    for cell in chosen.itertuples():
        final = {k: 2 * a for k, a in start.items()}  # training doubled every weight: moved 100%
        if cell.backend == "jax":
            key = next(iter(final))
            final[key] = final[key].copy()
            final[key].flat[0] += 0.01 * 2 * norm  # 1% of the final weights' norm, on one entry
        np.savez(tmp_path / cell.samples_file, generated=np.zeros((1, 28, 28), np.uint8), **final)
    found = lockstep.final_weights(tmp_path, chosen).iloc[0]
    assert found.weights_apart == pytest.approx(0.01, rel=1e-3) and "jax" in found.pair
    assert found.moved == pytest.approx(1.0, rel=1e-6)


def test_the_glance_line_says_when_and_how_far():
    chosen = cells(seeds=(0, 1))
    parted = lockstep.parting(lockstep.divergence(chosen, steps(chosen, apart_from=7)))
    weights = pd.DataFrame(
        [{"profile": "quick", "label": LABEL, "lr": 1e-4, "seed": 0, "weights_apart": 0.02, "pair": "", "moved": 0.5}]
    )
    (line,) = lockstep.glance_lines(parted, weights)
    assert line.startswith(f"{LABEL}: their losses part (spread > 1%) at step 7")
    assert "final weights 2% apart, against 50% moved by training" in line
