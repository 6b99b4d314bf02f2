"""Tidy CSVs: schema, atomic appends, earlier rows untouched, other schemas refused."""

from __future__ import annotations

import dataclasses
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from suite.choices import Status
from suite.contract import Cell, EpochRecord, Facts, Result, StepRecord
from suite.run import rows, summarise_epochs
from suite.store.folder import (
    CELLS_CSV,
    EPOCHS_CSV,
    EVALUATIONS_CSV,
    QUALITY_CSV,
    STEPS_CSV,
    ResultsError,
    append_cell,
    locked,
    read_quality,
    read_results,
    read_steps,
)
from suite.store.schema import CELL_COLUMNS, EPOCH_COLUMNS, QUALITY_COLUMNS, SCHEMA_VERSION
from tests.conftest import ROOT

CELL = Cell("jax", "CNNGAN", "paper", 1e-4, "smoke", 0, 3, 2)


def fake_result(times=(3.0, 1.0, 2.0), status="ok") -> Result:
    epochs = [
        EpochRecord(
            i + 1, t, 4, 512 / t, {"d_loss": 1.0 / (i + 1), "d_loss_last": 0.9, "g_loss": 0.7, "g_loss_last": 0.6}
        )
        for i, t in enumerate(times)
    ]
    quality = {"classifier_score": 7.5, "frechet_distance": 12.0} if status == "ok" else {}
    return Result(Status(status), facts=Facts(backend_version="x", peak_rss_mb=100.0), epochs=epochs, quality=quality)


def test_first_epoch_is_kept_apart_from_steady_state():
    summary = summarise_epochs(fake_result((10.0, 1.0, 3.0, 2.0)).epochs)
    assert summary["first_epoch_s"] == 10.0
    assert summary["steady_epoch_median_s"] == 2.0
    assert summary["steady_epochs"] == 3
    assert summary["steady_epoch_iqr_s"] == pytest.approx(1.0)


def test_rows_follow_the_schema(tmp_path):
    cell_row, epoch_rows, quality_rows, step_rows, _ = rows("r1", CELL, fake_result(), "samples/x.npz", "logs/x.log")
    assert set(cell_row) == set(CELL_COLUMNS)
    assert all(set(r) == set(EPOCH_COLUMNS) for r in epoch_rows)
    assert len(epoch_rows) == 3 * 7  # 3 epochs × (time, steps, samples/s, 2 losses × mean/last)
    assert all(set(r) == set(QUALITY_COLUMNS) for r in quality_rows) and len(quality_rows) == 2
    assert step_rows == [], "an independent cell records no steps"
    append_cell(tmp_path, cell_row, epoch_rows, quality_rows)
    cells, epochs = read_results(tmp_path)
    assert list(cells.columns) == list(CELL_COLUMNS) and list(epochs.columns) == list(EPOCH_COLUMNS)
    wide = epochs.pivot_table(index=["cell_id", "epoch"], columns="metric", values="value")
    assert wide.loc[(CELL.cell_id, 2), "d_loss"] == pytest.approx(0.5)
    quality = read_quality(tmp_path).set_index("metric").value
    assert quality["classifier_score"] == 7.5 and quality["frechet_distance"] == 12.0


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
    append_cell(tmp_path, *rows("r1", CELL, Result.failed("RuntimeError: boom"), "s", "l"))
    cells, _ = read_results(tmp_path)
    assert cells.loc[0, "status"] == "failed" and cells.loc[0, "error"] == "RuntimeError: boom"
    assert pd.isna(cells.loc[0, "first_epoch_s"]) and pd.isna(cells.loc[0, "samples_file"])


def test_other_schema_is_refused_and_left_alone(tmp_path):
    old = "run_id,backend,seconds\nx,jax,1.0\n"
    (tmp_path / CELLS_CSV).write_text(old)
    with pytest.raises(ResultsError, match="not written by gvbench"):
        append_cell(tmp_path, *rows("r1", CELL, fake_result(), "s", "l"))
    assert (tmp_path / CELLS_CSV).read_text() == old
    assert not (tmp_path / EPOCHS_CSV).exists(), "nothing may be written next to a refused file"


def test_epoch_rows_of_a_writer_killed_before_its_cell_row_are_ignored_then_removed(tmp_path):
    append_cell(tmp_path, *rows("r1", CELL, fake_result(), "s", "l"))
    whole = (tmp_path / EPOCHS_CSV).read_bytes()
    whole_quality = (tmp_path / QUALITY_CSV).read_bytes()
    _, orphan_rows, orphan_quality, *_ = rows("killed", CELL, fake_result(), "s", "l")
    orphans = pd.DataFrame(orphan_rows, columns=list(EPOCH_COLUMNS)).to_csv(index=False, header=False)
    (tmp_path / EPOCHS_CSV).write_bytes(whole + orphans.encode())
    orphans = pd.DataFrame(orphan_quality, columns=list(QUALITY_COLUMNS)).to_csv(index=False, header=False)
    (tmp_path / QUALITY_CSV).write_bytes(whole_quality + orphans.encode())
    (tmp_path / f".{CELLS_CSV}.x1.tmp").write_text("half a row")
    _, epochs = read_results(tmp_path)
    assert set(epochs.run_id) == {"r1"}, "readers see committed cells only"
    assert set(read_quality(tmp_path).run_id) == {"r1"}
    append_cell(tmp_path, *rows("r2", CELL, fake_result(), "s", "l"))
    cells, epochs = read_results(tmp_path)
    raw = pd.read_csv(tmp_path / EPOCHS_CSV)
    assert set(raw.run_id) == {"r1", "r2"} and len(raw) == 2 * len(orphan_rows), "the next writer drops the orphans"
    assert (tmp_path / EPOCHS_CSV).read_bytes().startswith(whole), "committed rows keep their bytes"
    raw = pd.read_csv(tmp_path / QUALITY_CSV)
    assert set(raw.run_id) == {"r1", "r2"} and len(raw) == 2 * len(orphan_quality)
    assert not list(tmp_path.glob(".*.tmp"))


def _append_many(args: tuple[str, str, int]) -> None:
    out, prefix, n = args
    for i in range(n):
        append_cell(Path(out), *rows(f"{prefix}{i}", CELL, fake_result(), "s", "l"))


def test_concurrent_writers_never_lose_or_interleave_rows(tmp_path):
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_append_many, [(str(tmp_path), f"w{w}-", 10) for w in range(4)])
    cells, epochs = read_results(tmp_path)
    assert len(cells) == 40 and cells.run_id.nunique() == 40
    assert len(epochs) == 40 * 21 and not epochs.duplicated(["run_id", "cell_id", "epoch", "metric"]).any()


def test_a_waiting_writer_says_so_and_then_writes(tmp_path):
    code = f"from tests.test_results import _append_many; _append_many(({str(tmp_path)!r}, 'late', 1))"
    with locked(tmp_path):
        waiting = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        time.sleep(3)
        assert waiting.poll() is None, "the second writer must wait for the lock"
        assert not (tmp_path / CELLS_CSV).exists()
    stdout, _ = waiting.communicate(timeout=60)
    assert waiting.returncode == 0 and f"waiting for another gvbench writing to {tmp_path}" in stdout
    assert list(read_results(tmp_path)[0].run_id) == ["late0"]


@pytest.mark.parametrize("version", [v for v in range(SCHEMA_VERSION + 2) if v != SCHEMA_VERSION])
def test_rows_of_another_schema_version_are_refused(tmp_path, version):
    append_cell(tmp_path, *rows("r1", CELL, fake_result(), "s", "l"))
    frame = pd.read_csv(tmp_path / CELLS_CSV)
    frame["schema_version"] = version
    frame.to_csv(tmp_path / CELLS_CSV, index=False)
    # A version whose cells.csv header is this one's (8: version 9 added a quality column only) reads as that version.
    refused = f"rows of schema version {version} under a version {SCHEMA_VERSION} header"
    older = rf"has schema version {version} \(this gvbench writes {SCHEMA_VERSION}\)"
    with pytest.raises(ResultsError, match=f"{refused}|{older}"):
        append_cell(tmp_path, *rows("r2", CELL, fake_result(), "s", "l"))


def _as_version(out, version: int = 1):
    """Rewrite a folder's files the way an earlier schema version wrote them (1: no impl, jit or FLOP columns;
    before 4: no `mode` column and no steps.csv; before 5: no time-to-target columns and no evaluations.csv;
    before 6: no `parallel_cells`)."""
    from suite.store.schema import columns_of

    for name, columns in {CELLS_CSV: CELL_COLUMNS, EPOCHS_CSV: EPOCH_COLUMNS, QUALITY_CSV: QUALITY_COLUMNS}.items():
        frame = pd.read_csv(out / name)[list(columns_of(version, columns))].assign(schema_version=version)
        (out / name).write_text(frame.to_csv(index=False))
    if version < 4:
        (out / STEPS_CSV).unlink()
    if version < 5:
        (out / EVALUATIONS_CSV).unlink()


def test_a_version_1_folder_is_read_as_keras_auto_cells_refused_for_writing_and_upgraded(tmp_path):
    from suite.store.folder import upgrade_folder
    from suite.store.schema import ADDED

    append_cell(tmp_path, *rows("r1", CELL, fake_result(), "s", "l"))
    current = {name: pd.read_csv(tmp_path / name) for name in (CELLS_CSV, EPOCHS_CSV, QUALITY_CSV)}
    _as_version(tmp_path, 1)
    old = (tmp_path / CELLS_CSV).read_text()
    cells, epochs = read_results(tmp_path)
    assert list(cells.columns) == list(CELL_COLUMNS) and set(cells.impl) == {"keras"} and set(epochs.jit) == {"auto"}
    with pytest.raises(ResultsError, match="gvbench upgrade"):
        append_cell(tmp_path, *rows("r2", CELL, fake_result(), "s", "l"))
    assert (tmp_path / CELLS_CSV).read_text() == old, "a refused append writes nothing"
    assert len(upgrade_folder(tmp_path)) == 3
    for name, frame in current.items():
        upgraded = pd.read_csv(tmp_path / name)
        assert list(upgraded.columns) == list(frame.columns)
        kept = [c for c in frame.columns if c not in ADDED[2] or c in ("impl", "jit")]  # version 1 had no timings
        kept = [c for c in kept if c != "image_set"]
        pd.testing.assert_frame_equal(upgraded[kept], frame[kept], check_dtype=False)
    assert set(pd.read_csv(tmp_path / QUALITY_CSV).image_set) == {"cell-q1"}, "scored by the measures of before"
    append_cell(tmp_path, *rows("r2", CELL, fake_result(), "s", "l"))
    assert list(read_results(tmp_path)[0].run_id) == ["r1", "r2"]
    assert upgrade_folder(tmp_path) == [], "an upgraded folder is left as it is"


def test_a_version_3_folder_is_read_as_independent_cells_and_upgraded(tmp_path):
    """Version 4 added the `mode` key column to every file, and steps.csv; an older folder's cells are independent."""
    from suite.store.folder import upgrade_folder

    append_cell(tmp_path, *rows("r1", CELL, fake_result(), "s", "l"))
    _as_version(tmp_path, 3)
    cells, epochs = read_results(tmp_path)
    assert list(cells.columns) == list(CELL_COLUMNS) and set(cells["mode"]) == {"independent"} and len(epochs)
    assert read_steps(tmp_path).empty
    with pytest.raises(ResultsError, match="schema version 3 .*gvbench upgrade"):
        append_cell(tmp_path, *rows("r2", CELL, fake_result(), "s", "l"))
    assert len(upgrade_folder(tmp_path)) == 3
    assert set(pd.read_csv(tmp_path / EPOCHS_CSV).schema_version) == {SCHEMA_VERSION}
    append_cell(tmp_path, *rows("r2", CELL, fake_result(), "s", "l"))
    assert list(read_results(tmp_path)[0].run_id) == ["r1", "r2"]


@pytest.mark.parametrize(
    ("version", "added"), [(4, ["target_step", "budget_s", "parallel_cells"]), (5, ["parallel_cells"])]
)
def test_a_folder_of_version_4_or_5_is_read_with_the_later_columns_empty_and_upgraded(tmp_path, version, added):
    """Version 5 added the time-to-target columns and evaluations.csv, version 6 `parallel_cells`."""
    from suite.store.folder import read_evaluations, upgrade_folder

    append_cell(tmp_path, *rows("r1", CELL, fake_result(), "s", "l"))
    _as_version(tmp_path, version)
    cells, _ = read_results(tmp_path)
    assert list(cells.columns) == list(CELL_COLUMNS) and cells[added].isna().all().all()
    assert read_evaluations(tmp_path).empty
    with pytest.raises(ResultsError, match=f"schema version {version} .*gvbench upgrade"):
        append_cell(tmp_path, *rows("r2", CELL, fake_result(), "s", "l"))
    assert len(upgrade_folder(tmp_path)) == 3  # steps.csv and evaluations.csv hold no row: already the current version
    append_cell(tmp_path, *rows("r2", CELL, fake_result(), "s", "l"))
    assert list(read_results(tmp_path)[0].run_id) == ["r1", "r2"]


def test_a_lockstep_cell_writes_its_steps_and_is_its_own_cell(tmp_path):
    lockstep = dataclasses.replace(CELL, mode="lockstep")
    assert lockstep.cell_id == CELL.cell_id + ".lockstep"
    result = fake_result()
    result.steps = [StepRecord(1, {"d_loss": 1.5, "g_loss": 0.7}), StepRecord(2, {"d_loss": 1.4, "g_loss": 0.8})]
    append_cell(tmp_path, *rows("r1", CELL, fake_result(), "s", "l"))
    append_cell(tmp_path, *rows("r1", lockstep, result, "s", "l"))
    steps = read_steps(tmp_path)
    assert set(steps.cell_id) == {lockstep.cell_id} and set(steps["mode"]) == {"lockstep"}
    assert steps.pivot(index="step", columns="metric", values="value").to_dict() == {
        "d_loss": {1: 1.5, 2: 1.4},
        "g_loss": {1: 0.7, 2: 0.8},
    }
    assert list(read_results(tmp_path)[0]["mode"]) == ["independent", "lockstep"]
