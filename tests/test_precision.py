"""The precision study's table (benchmarks/precision.py): CV within and between repeated cells, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.precision import precision_table
from suite.store.loading import load
from tests.test_report import result, write_cell


def test_within_and_between_cell_cv_equal_a_hand_computation(tmp_path):
    gan = {"d_loss": [1.0] * 4, "g_loss": [1.0] * 4}
    repeats = {"r1": [9.0, 1.0, 1.2, 0.8], "r2": [9.0, 2.0, 2.0, 2.0], "r3": [9.0, 1.5, 1.4, 1.6]}
    for run_id, times in repeats.items():
        write_cell(tmp_path, run_id, "torch", "DenseGAN", 1e-4, result(times, gan))
    write_cell(tmp_path, "r4", "torch", "DenseGAN", 1e-4, result([], {}, "failed", error="x"))
    table = precision_table(*load(tmp_path)[:2]).set_index("model").loc["DenseGAN"]
    steps = {run: np.array(times[1:]) / 4 for run, times in repeats.items()}  # the fixture's epochs have 4 steps
    within = [s.std(ddof=1) / s.mean() for s in steps.values()]
    medians = [np.median(s) for s in steps.values()]
    assert table.cells == 3, "the failed repeat is not a measurement"
    assert table.within_cell_cv == pytest.approx(np.median(within))
    assert table.within_cell_cv_max == pytest.approx(max(within))
    assert table.between_cell_cv == pytest.approx(np.std(medians, ddof=1) / np.mean(medians))
    assert table.median_step_s == pytest.approx(np.median(medians)) and table.steady_epochs_per_cell == 3
