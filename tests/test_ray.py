"""`gvbench run --executor ray` on a local Ray instance: a local run's cells and statuses; lost workers survived."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from runners.faults import FAULT_ENV
from suite.mnist import CHECKSUMS_ENV
from suite.store.schema import CELL_COLUMNS
from tests.conftest import ROOT, run_gvbench

pytest.importorskip("ray", reason="Ray is not installed (pip install 'gvbench[ray]'): the Ray executor is not tested")

GRID = ["--backend", "torch", "jax", "--models", "DenseGAN", "DenseVAE", "--lrs", "1e-4", "--profile", "smoke"]


def grid(out, fixture_data, *extra: str, fault: str | None = None):
    data, checksums, _ = fixture_data
    env = os.environ | {CHECKSUMS_ENV: str(checksums)}
    env.pop(FAULT_ENV, None)
    if fault:
        env[FAULT_ENV] = fault
    return run_gvbench(["run", *GRID, "--data", str(data), "--out", str(out), *extra], env)


def latest(out) -> pd.DataFrame:
    cells = pd.read_csv(out / "cells.csv")
    return cells.drop_duplicates("cell_id", keep="last").set_index("cell_id").sort_index()


@pytest.fixture(scope="module")
def both(tmp_path_factory, fixture_data):
    """The same grid, one DenseVAE fault included, through the local and the Ray executor."""
    local, ray = tmp_path_factory.mktemp("local"), tmp_path_factory.mktemp("ray")
    done_local = grid(local, fixture_data, fault="diverge:DenseVAE:2")
    done_ray = grid(ray, fixture_data, "--executor", "ray", fault="diverge:DenseVAE:2")
    return local, done_local, ray, done_ray


def test_ray_gives_the_cells_and_statuses_of_a_local_run(both):
    local, done_local, ray, done_ray = both
    assert done_ray.returncode == done_local.returncode == 1, done_ray.stdout[-3000:] + done_ray.stderr[-3000:]
    assert "Ray: submitted 4 cells" in done_ray.stdout
    a, b = latest(local), latest(ray)
    assert list(pd.read_csv(ray / "cells.csv").columns) == list(CELL_COLUMNS)
    assert a.status.to_dict() == b.status.to_dict()
    assert set(b.status) == {"ok", "diverged"} and (b[b.model == "DenseVAE"].diverged_epoch == 2).all()
    assert sorted(b.backend.unique()) == ["jax", "torch"] and b.run_id.nunique() == 1
    assert b.hostname.notna().all() and b.cpu_model.notna().all() and b.peak_rss_mb.gt(0).all()
    assert b.thread_controls.str.contains("nice=0").all(), "timed cells must not run at Ray's worker niceness"
    cpus = len(os.sched_getaffinity(0))
    assert (a.parallel_cells == cpus).all(), "a local smoke grid runs a cell per CPU"
    assert (b.parallel_cells == max(1, os.cpu_count() // cpus)).all(), "Ray: the node's CPUs ÷ --cpus-per-cell"


def test_ray_results_hold_the_same_rows_as_local_ones(both):
    local, _, ray, _ = both
    rows_local = pd.read_csv(local / "epochs.csv").groupby(["cell_id", "metric"]).size()
    rows_ray = pd.read_csv(ray / "epochs.csv").groupby(["cell_id", "metric"]).size()
    pd.testing.assert_series_equal(rows_local, rows_ray)
    quality = pd.read_csv(ray / "quality.csv")
    ok = latest(ray)[lambda f: f.status == "ok"]
    assert set(quality.cell_id) == set(ok.index), "quality rows for every ok cell, none for the diverged ones"
    for row in ok.itertuples():
        assert (ray / row.samples_file).stat().st_size > 0, "samples came back from the worker"
    for row in latest(ray)[lambda f: f.status == "diverged"].itertuples():
        assert "injected fault: diverge" in (ray / row.log_file).read_text(), "the cell's log came back"


def test_a_worker_lost_mid_cell_is_failed_and_a_rerun_completes_the_grid(tmp_path, fixture_data):
    first = grid(tmp_path, fixture_data, "--executor", "ray", fault="killparent:DenseGAN:1")
    assert first.returncode == 1, first.stdout[-3000:] + first.stderr[-3000:]
    cells = latest(tmp_path)
    lost = cells[cells.model == "DenseGAN"]
    assert (lost.status == "failed").all() and lost.error.str.contains("Ray lost the cell's worker").all()
    assert (cells[cells.model == "DenseVAE"].status == "ok").all(), "the other cells are not lost"
    again = grid(tmp_path, fixture_data, "--executor", "ray")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "skipping 2 cells already done" in again.stdout
    assert (latest(tmp_path).status == "ok").all() and len(latest(tmp_path)) == 4


def test_too_many_cpus_per_cell_is_refused_in_one_line(tmp_path, fixture_data):
    done = grid(tmp_path, fixture_data, "--executor", "ray", "--cpus-per-cell", "512")
    assert done.returncode == 2
    assert "--cpus-per-cell 512 exceeds" in done.stderr and "largest Ray node" in done.stderr
    assert not (tmp_path / "cells.csv").exists()


def test_ctrl_c_cancels_the_ray_tasks_and_a_rerun_resumes(tmp_path, fixture_data):
    data, checksums, _ = fixture_data
    env = os.environ | {CHECKSUMS_ENV: str(checksums), FAULT_ENV: "sleep:DenseGAN:1"}
    args = ["run", *GRID, "--data", str(data), "--out", str(tmp_path), "--executor", "ray"]
    process = subprocess.Popen(
        [sys.executable, "-m", "suite", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in process.stdout:
        if "Ray: submitted" in line:
            break
    time.sleep(20)  # the first cell (torch DenseGAN) is now training or hanging after its first epoch
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, out[-2000:] + err[-2000:]
    assert "Ray: cancelled" in out and "run the same command again to resume" in err
    again = grid(tmp_path, fixture_data, "--executor", "ray")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert (latest(tmp_path).status == "ok").all() and len(latest(tmp_path)) == 4
