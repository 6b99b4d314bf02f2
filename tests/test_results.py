"""Tidy CSVs: schema, atomic appends, earlier rows untouched, other schemas refused."""

from __future__ import annotations

import pandas as pd
import pytest

from suite.grid import Cell
from suite.results import CELLS_CSV, EPOCHS_CSV, ResultsError, append_cell, read_results
from suite.run import rows, summarise_epochs
from suite.schema import CELL_COLUMNS, EPOCH_COLUMNS

CELL = Cell("jax", "CNNGAN", "paper", 1e-4, "smoke", 0, 3, 2)


def fake_result(times=(3.0, 1.0, 2.0), status="ok") -> dict:
    epochs = [
        {
            "epoch": i + 1,
            "epoch_time_s": t,
            "steps": 4,
            "samples_per_s": 512 / t,
            "d_loss": 1.0 / (i + 1),
            "d_loss_last": 0.9,
            "g_loss": 0.7,
            "g_loss_last": 0.6,
        }
        for i, t in enumerate(times)
    ]
    return {"status": status, "facts": {"backend_version": "x", "peak_rss_mb": 100.0}, "epochs": epochs}


def test_first_epoch_is_kept_apart_from_steady_state():
    summary = summarise_epochs(fake_result((10.0, 1.0, 3.0, 2.0))["epochs"])
    assert summary["first_epoch_s"] == 10.0
    assert summary["steady_epoch_median_s"] == 2.0
    assert summary["steady_epochs"] == 3
    assert summary["steady_epoch_iqr_s"] == pytest.approx(1.0)


def test_rows_follow_the_schema(tmp_path):
    cell_row, epoch_rows = rows("r1", CELL, fake_result(), "samples/x.npz", "logs/x.log")
    assert set(cell_row) == set(CELL_COLUMNS)
    assert all(set(r) == set(EPOCH_COLUMNS) for r in epoch_rows)
    assert len(epoch_rows) == 3 * 7  # 3 epochs × (time, steps, samples/s, 2 losses × mean/last)
    append_cell(tmp_path, cell_row, epoch_rows)
    cells, epochs = read_results(tmp_path)
    assert list(cells.columns) == list(CELL_COLUMNS) and list(epochs.columns) == list(EPOCH_COLUMNS)
    wide = epochs.pivot_table(index=["cell_id", "epoch"], columns="metric", values="value")
    assert wide.loc[(CELL.cell_id, 2), "d_loss"] == pytest.approx(0.5)


def test_appending_never_changes_earlier_rows(tmp_path):
    for run_id in ("r1", "r2"):
        append_cell(tmp_path, *rows(run_id, CELL, fake_result(), "s", "l"))
        if run_id == "r1":
            first_cells = (tmp_path / CELLS_CSV).read_bytes()
            first_epochs = (tmp_path / EPOCHS_CSV).read_bytes()
    assert (tmp_path / CELLS_CSV).read_bytes().startswith(first_cells)
    assert (tmp_path / EPOCHS_CSV).read_bytes().startswith(first_epochs)
    cells, epochs = read_results(tmp_path)
    assert list(cells.run_id) == ["r1", "r2"]
    assert not cells.duplicated(["run_id", "cell_id"]).any()
    assert not epochs.duplicated(["run_id", "cell_id", "epoch", "metric"]).any()


def test_failed_cell_keeps_its_row_without_times(tmp_path):
    result = {"status": "failed", "error": "RuntimeError: boom", "facts": {}, "epochs": []}
    append_cell(tmp_path, *rows("r1", CELL, result, "s", "l"))
    cells, _ = read_results(tmp_path)
    assert cells.loc[0, "status"] == "failed" and cells.loc[0, "error"] == "RuntimeError: boom"
    assert pd.isna(cells.loc[0, "first_epoch_s"]) and pd.isna(cells.loc[0, "samples_file"])


def test_other_schema_is_refused_and_left_alone(tmp_path):
    old = "run_id,backend,seconds\nx,jax,1.0\n"
    (tmp_path / CELLS_CSV).write_text(old)
    with pytest.raises(ResultsError, match="another gvbench schema"):
        append_cell(tmp_path, *rows("r1", CELL, fake_result(), "s", "l"))
    assert (tmp_path / CELLS_CSV).read_text() == old
    assert not (tmp_path / EPOCHS_CSV).exists(), "nothing may be written next to a refused file"
