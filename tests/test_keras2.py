"""Keras 2 (tf-keras) cells beside Keras 3 ones through the real command: trained, timed, scored and reported."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from suite.choices import KERAS2
from suite.report import build_report
from tests.conftest import run_gvbench
from tests.test_smoke import smoke

MODELS = ["DenseGAN", "CNNVAE"]


@pytest.fixture(scope="module")
def keras2_run(tmp_path_factory, fixture_data):
    out = tmp_path_factory.mktemp("keras2")
    args = ("--threads", "2", "--seeds", "0", "1", "--impl", "keras", KERAS2, "--verbose", "0")
    done = smoke("tensorflow", MODELS, ["1e-4"], out, fixture_data, *args)
    assert done.returncode == 0, f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return out


def test_keras2_cells_are_timed_scored_and_record_tf_keras(keras2_run):
    cells = pd.read_csv(keras2_run / "cells.csv")
    assert len(cells) == 2 * 2 * 2 and (cells.status == "ok").all()
    mine, theirs = cells[cells.impl == KERAS2], cells[cells.impl == "keras"]
    assert len(mine) == 4 and mine.cell_id.str.endswith(".tf_keras").all()
    assert mine.keras_version.str.startswith("2.").all() and theirs.keras_version.str.startswith("3.").all()
    assert (mine.backend_version == theirs.backend_version.iloc[0]).all(), "TensorFlow's version beside tf-keras's"
    assert (mine.first_epoch_s > 0).all() and (mine.steady_step_median_s > 0).all()
    assert not mine.jit_compile.astype(bool).any(), "tf-keras's default: no XLA"
    quality = pd.read_csv(keras2_run / "quality.csv")
    assert set(mine.cell_id) <= set(quality.cell_id), "scored by the same judge"
    for row in mine.itertuples():
        with np.load(keras2_run / row.samples_file) as samples:
            assert samples["generated"].shape == (16, 28, 28)
    epochs = pd.read_csv(keras2_run / "epochs.csv")
    gan = epochs[epochs.cell_id.isin(mine.cell_id) & epochs.cell_id.str.contains(".DenseGAN.")]
    assert {"d_loss", "g_loss", "d_loss_last", "g_loss_last", "epoch_time_s"} <= set(gan.metric)


def test_the_report_sets_keras3_beside_keras2(keras2_run, tmp_path):
    build_report(keras2_run, tmp_path)
    found = pd.read_csv(tmp_path / "keras2.csv")
    assert set(found.setting) == {"Keras 3 · tensorflow"}
    assert set(found.measure) == {"steady step", "first epoch", "memory training adds"}
    assert set(found.model) == set(MODELS) and (found.processes == "2 / 2").all()
    assert (found.ci_low <= found.ratio).all() and (found.ratio <= found.ci_high).all()
    assert set(found.verdict) <= {"alike", "faster", "slower", "more", "less", "undecided"}
    report = (tmp_path / "report.md").read_text()
    assert "Keras 2 beside Keras 3" in report and "Is Keras 3 slower than Keras 2" in report
    assert (tmp_path / "smoke" / "keras2.png").exists()


def test_a_keras2_cell_elsewhere_than_tensorflow_is_refused_before_anything_runs(tmp_path):
    argv = ["run", "--backend", "jax", "--impl", KERAS2, "--profile", "smoke", "--out", str(tmp_path / "r")]
    done = run_gvbench(argv, dict(os.environ))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "runs on tensorflow only" in done.stderr and not (tmp_path / "r").exists()
