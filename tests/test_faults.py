"""Runs that survive: injected crashes, divergence, timeouts, signals and SIGKILL lose nothing.

Every test drives the real `gvbench run` on the PyTorch backend (the quickest to start) with
the smoke profile, and injects faults through GVBENCH_FAULT (see runners/faults.py).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runners.faults import FAULT_ENV
from suite.store.folder import read_results
from tests.conftest import ROOT, run_gvbench

BACKEND = "torch"


def command(out: Path, data: Path, models: list[str], *extra: str) -> list[str]:
    return [
        "run",
        "--backend",
        BACKEND,
        "--models",
        *models,
        "--lrs",
        "1e-4",
        "--profile",
        "smoke",
        "--threads",
        "2",
        "--data",
        str(data),
        "--out",
        str(out),
        "--verbose",
        "0",
        *extra,
    ]


def environment(fixture_data, fault: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    env["GVBENCH_DATA_SHA256"] = str(fixture_data[1])
    return env | ({FAULT_ENV: fault} if fault else {})


def by_model(out: Path) -> pd.DataFrame:
    cells, _ = read_results(out)
    return cells.set_index("model")


def start(args: list[str], env: dict) -> subprocess.Popen:
    """`gvbench` in a session of its own, so the test can signal or kill its whole process tree."""
    return subprocess.Popen(
        [sys.executable, "-m", "suite", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_line(folder: Path, text: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(text in log.read_text(errors="replace") for log in folder.glob("logs/*/*.log")):
            return
        time.sleep(0.2)
    raise AssertionError(f"no cell log in {folder} says {text!r} after {timeout} s")


def assert_one_ok_row_per_cell(out: Path, models: list[str]) -> None:
    """Pandas reads both files; each cell has exactly one ok row; no row twice; no epoch row of no cell."""
    cells = pd.read_csv(out / "cells.csv")
    epochs = pd.read_csv(out / "epochs.csv")
    ok = cells[cells.status == "ok"]
    assert sorted(ok.model) == sorted(models), cells[["run_id", "model", "status"]]
    assert not cells.duplicated(["run_id", "cell_id"]).any()
    assert not epochs.duplicated(["run_id", "cell_id", "epoch", "metric"]).any()
    committed = set(zip(cells.run_id, cells.cell_id, strict=True))
    assert set(zip(epochs.run_id, epochs.cell_id, strict=True)) <= committed, "epoch rows without a cell row"
    for row in ok.itertuples():
        mine = epochs[(epochs.run_id == row.run_id) & (epochs.cell_id == row.cell_id)]
        assert sorted(mine.epoch.unique()) == [1, 2], f"{row.cell_id}: epochs {sorted(mine.epoch.unique())}"


def test_crash_segfault_kill_and_divergence_are_recorded_and_the_grid_goes_on(tmp_path, fixture_data):
    faults = "crash:DenseGAN,segfault:DenseGAN-Deep,diverge:DenseVAE:2,kill:CNNVAE"
    models = ["DenseGAN", "DenseGAN-Deep", "CNNGAN", "DenseVAE", "CNNVAE"]
    done = run_gvbench(command(tmp_path, fixture_data[0], models), environment(fixture_data, faults))
    assert done.returncode == 1, done.stderr[-2000:]
    assert "4 of 5 cells did not finish ok" in done.stderr
    cells = by_model(tmp_path)
    assert cells.status.to_dict() == {
        "DenseGAN": "failed",
        "DenseGAN-Deep": "failed",
        "CNNGAN": "ok",
        "DenseVAE": "diverged",
        "CNNVAE": "failed",
    }
    assert cells.error["DenseGAN"].startswith("RuntimeError: injected crash")
    assert "faults.py" in cells.error["DenseGAN"], "the error keeps the last lines of the traceback"
    assert "killed by SIGSEGV" in cells.error["DenseGAN-Deep"]
    assert "killed by SIGKILL" in cells.error["CNNVAE"]
    assert "injected fault: kill" in cells.error["CNNVAE"], "the error keeps the last lines of the cell's log"
    assert cells.diverged_epoch["DenseVAE"] == 2 and cells.epochs_done["DenseVAE"] == 2
    assert (cells.peak_rss_mb > 50).all(), "peak memory is known even for a killed cell"
    _, epochs = read_results(tmp_path)
    vae = epochs[epochs.model == "DenseVAE"].pivot_table(index="epoch", columns="metric", values="value", dropna=False)
    assert np.isfinite(vae.loss[1]) and np.isnan(vae.loss[2]), "epoch 1 finite, the diverged epoch 2 NaN"
    assert cells.samples_file.isna().sum() == 4 and (tmp_path / cells.samples_file["CNNGAN"]).exists()


def test_cell_timeout_stops_the_cell_keeps_its_epochs_and_goes_on(tmp_path, fixture_data):
    models = ["DenseGAN", "DenseVAE"]
    # 45 s: the hanging cell's one epoch and the other cell (start, 2 epochs, scoring) fit with room on a busy machine
    args = command(tmp_path, fixture_data[0], models, "--cell-timeout", "45")
    done = run_gvbench(args, environment(fixture_data, "sleep:DenseGAN:1"))
    assert done.returncode == 1, done.stderr[-2000:]
    cells = by_model(tmp_path)
    assert cells.status.to_dict() == {"DenseGAN": "timeout", "DenseVAE": "ok"}
    assert cells.error["DenseGAN"] == "stopped after --cell-timeout 45 s"
    assert cells.epochs_done["DenseGAN"] == 1, "the epoch finished before the hang is recorded"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_grid_and_a_rerun_resumes_it(tmp_path, fixture_data, signum):
    models = ["DenseGAN", "DenseVAE", "CNNVAE"]
    args = command(tmp_path, fixture_data[0], models)
    grid = start(args, environment(fixture_data, "sleep:DenseVAE:1"))
    wait_for_line(tmp_path, "injected fault: sleep")
    grid.send_signal(signum)  # to the grid process only: it must pass the stop on to its cell
    stdout, stderr = grid.communicate(timeout=120)
    assert grid.returncode == 128 + signum, stderr[-2000:]
    assert "run the same command again to resume" in stderr.strip().splitlines()[-1]
    cells = by_model(tmp_path)
    assert cells.status.to_dict() == {"DenseGAN": "ok", "DenseVAE": "interrupted"}, "CNNVAE must not start"
    assert cells.epochs_done["DenseVAE"] == 1
    assert cells.error["DenseVAE"] == f"stopped by {signal.Signals(signum).name}"

    rerun = run_gvbench(args, environment(fixture_data))
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "skipping 1 cells already done" in rerun.stdout
    assert_one_ok_row_per_cell(tmp_path, models)


def test_sigkill_of_the_whole_tree_at_a_random_moment_loses_nothing(tmp_path, fixture_data):
    models = ["DenseGAN", "DenseGAN-Deep", "DenseVAE"]
    args = command(tmp_path, fixture_data[0], models)
    delay = random.uniform(2.0, 20.0)
    grid = start(args, environment(fixture_data))
    time.sleep(delay)
    os.killpg(grid.pid, signal.SIGKILL)
    grid.wait()
    for name in ("cells.csv", "epochs.csv"):
        if (tmp_path / name).exists():
            pd.read_csv(tmp_path / name)  # whatever survived is whole
    rerun = run_gvbench(args, environment(fixture_data))
    assert rerun.returncode == 0, f"killed after {delay:.1f} s; rerun:\n{rerun.stderr[-2000:]}"
    assert_one_ok_row_per_cell(tmp_path, models)
    assert not list(tmp_path.glob(".*.tmp")), "a rerun leaves no temporary file of a killed writer"


def test_resume_skips_ok_cells_and_force_reruns_them(tmp_path, fixture_data):
    args = command(tmp_path, fixture_data[0], ["DenseVAE"])
    env = environment(fixture_data)
    first = run_gvbench(args, env)
    assert first.returncode == 0, first.stderr[-2000:]
    before = (tmp_path / "cells.csv").read_bytes()
    again = run_gvbench(args, env)
    assert again.returncode == 0 and "skipping 1 cells already done" in again.stdout
    assert (tmp_path / "cells.csv").read_bytes() == before, "a rerun of a finished grid writes nothing"
    forced = run_gvbench([*args, "--force"], env)
    assert forced.returncode == 0, forced.stderr[-2000:]
    cells = pd.read_csv(tmp_path / "cells.csv")
    assert list(cells.status) == ["ok", "ok"] and cells.run_id.nunique() == 2
    other_lr = run_gvbench([*args, "--lrs", "1e-5"], env)
    assert "skipping" not in other_lr.stdout, "another learning rate is another cell"


def test_a_compile_mode_that_fails_before_its_first_epoch_is_unsupported_not_a_failure(tmp_path, fixture_data):
    env = environment(fixture_data, "nostart:DenseGAN")
    done = run_gvbench(command(tmp_path, fixture_data[0], ["DenseGAN"], "--jit", "auto", "off"), env)
    assert done.returncode == 1, "the default mode failing is a failure"
    assert "1 cells ask for a compile mode that does not work there" in done.stderr
    cells, _ = read_results(tmp_path)
    by_jit = cells.set_index("jit")
    assert by_jit.status.to_dict() == {"auto": "failed", "off": "unsupported"}
    assert by_jit.error["off"].startswith("--jit off fails here: RuntimeError: injected failure before the first")
    assert by_jit.cell_id["off"].endswith(".jit-off") and by_jit.epochs_done["off"] == 0


def test_cells_side_by_side_run_largest_first_on_cpus_of_their_own_and_a_signal_stops_them_all(tmp_path, fixture_data):
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("two cells at once need two CPUs")
    models = ["DenseGAN", "DenseVAE", "CNNVAE"]
    args = command(tmp_path, fixture_data[0], models, "--jobs", "2", "--threads", "1")
    grid = start(args, environment(fixture_data, ",".join(f"sleep:{model}:1" for model in models)))
    deadline = time.monotonic() + 300
    while sum("injected fault: sleep" in log.read_text(errors="replace") for log in tmp_path.glob("logs/*/*.log")) < 2:
        assert time.monotonic() < deadline, "the first two cells did not both reach their first epoch's end"
        time.sleep(0.2)
    grid.send_signal(signal.SIGINT)
    stdout, stderr = grid.communicate(timeout=120)
    assert grid.returncode == 130, stderr[-2000:]
    cells = by_model(tmp_path)
    # the two with the most training FLOPs start first (CNNVAE 178, DenseGAN 14 GFLOP); DenseVAE (8) waits
    assert cells.status.to_dict() == {"CNNVAE": "interrupted", "DenseGAN": "interrupted"}, "DenseVAE must not start"
    assert (cells.epochs_done == 1).all()

    rerun = run_gvbench(args, environment(fixture_data))
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "1 threads, local executor, 2 cells at once" in rerun.stdout
    assert_one_ok_row_per_cell(tmp_path, models)
    ok = pd.read_csv(tmp_path / "cells.csv").query("status == 'ok'").set_index("model")
    assert (ok.parallel_cells == 2).all() and (ok.threads == 1).all()
    pinned = {model: re.search(r"affinity=1 cpus \((\d+)\)", ok.thread_controls[model])[1] for model in models}
    assert pinned["CNNVAE"] != pinned["DenseGAN"], f"the two cells that ran together shared a CPU: {pinned}"
    assert set(pinned.values()) <= {str(cpu) for cpu in cpus[:2]}
    starts = pd.to_datetime(ok.started_at).astype("int64") / 1e9
    ends = starts + ok.cell_wall_s
    # started_at has whole seconds, so allow one second: the two first cells overlapped, not ran one after another
    assert starts["DenseGAN"] < ends["CNNVAE"] - 1 and starts["CNNVAE"] < ends["DenseGAN"] - 1, (starts, ends)
