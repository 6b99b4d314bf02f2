"""`gvbench compare`: a real slowdown and a changed loss are flagged; noise and identical runs are not."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from suite.cli import main
from suite.compare import Thresholds, compare_dirs, lines
from suite.formatting import percent
from tests.test_report import result, write_cell

BACKENDS = ("torch", "jax")
LRS = (1e-4, 1e-5, 1e-6)
EPOCHS = 8


def grid(
    out: Path, seed: int, slow: dict | None = None, loss_shift: float = 0.0, skip: tuple = (), parallel: int = 1
) -> Path:
    """DenseGAN on two backends at three learning rates, epochs around 1 s with 5 % noise."""
    rng = np.random.default_rng(seed)
    for backend in BACKENDS:
        for lr in LRS:
            if (backend, lr) in skip:
                continue
            factor = (slow or {}).get(backend, 1.0)
            times = list(factor * rng.normal(1.0, 0.05, EPOCHS))
            losses = {"d_loss": [1.4] * (EPOCHS - 1) + [1.3 + loss_shift], "g_loss": [0.8] * EPOCHS}
            res = result(times, losses)
            res.facts.parallel_cells = parallel
            write_cell(out, "r1", backend, "DenseGAN", lr, res)
    return out


def compare(capsys, base: Path, new: Path, *extra: str) -> tuple[int, str]:
    code = main(["compare", str(base), str(new), *extra])
    return code, capsys.readouterr().out


def test_same_runs_and_pure_noise_are_not_flagged(tmp_path, capsys):
    base = grid(tmp_path / "base", seed=1)
    assert compare(capsys, base, base)[0] == 0
    code, out = compare(capsys, base, grid(tmp_path / "noise", seed=2))
    assert code == 0, out
    assert "0 significant slowdowns beyond 1.05x" in out and "Holm over the 2 timings" in out
    # Three processes a side with about 2% spread between them: a 10% slowdown is found most of the time.
    power = re.search(r"a 10% slowdown of one timing is flagged (\d+)%-(\d+)% of the time", out)
    assert power and 50 <= int(power[1]) <= int(power[2]) <= 100, out
    assert "not measured here (no timing of BASE has 4+ processes" in out


def test_a_real_slowdown_is_flagged_with_its_backend(tmp_path, capsys):
    base = grid(tmp_path / "base", seed=1)
    code, out = compare(capsys, base, grid(tmp_path / "slow", seed=2, slow={"torch": 1.5}))
    assert code == 1, out
    assert "1 significant slowdowns beyond 1.05x" in out
    times = compare_dirs(base, tmp_path / "slow", Thresholds()).times.set_index("backend")
    assert times.loc["torch"].slowdown and 1.4 < times.loc["torch"].ratio < 1.6 and not times.loc["jax"].slowdown
    assert times.loc["torch"].ci_low < times.loc["torch"].ratio < times.loc["torch"].ci_high
    assert (times.processes_base == 3).all() and (times.processes_new == 3).all(), "each cell is one process"
    code, out = compare(capsys, base, tmp_path / "slow", "--time-factor", "2")
    assert code == 0, "a 1.5x slowdown is within a factor of 2"


def test_epochs_of_one_process_are_not_replicates(tmp_path, capsys):
    """One process a side whose epochs agree closely: pooled epochs would call a 20% difference significant (a
    Mann–Whitney test of 7 against 7 epochs gives p < 0.001), but one process cannot tell the build from the
    process, so nothing is flagged and compare says why."""
    base, new = tmp_path / "base", tmp_path / "new"
    rng = np.random.default_rng(3)
    for out, level in ((base, 1.0), (new, 1.2)):
        res = result(list(level * rng.normal(1.0, 0.005, EPOCHS)), {"d_loss": [1.4] * EPOCHS, "g_loss": [0.8] * EPOCHS})
        write_cell(out, "r1", "torch", "DenseGAN", 1e-4, res)
    code, out = compare(capsys, base, new)
    assert code == 0 and "0 significant slowdowns" in out, out
    assert "1 timings have one process on a side and cannot be decided" in out


def test_the_false_alarm_rate_is_measured_on_base_split_against_itself(tmp_path, capsys):
    base = tmp_path / "base"
    rng = np.random.default_rng(4)
    for seed in range(8):
        level = np.exp(rng.normal(0, 0.05))  # processes 5% apart, epochs 1% within
        res = result(list(level * rng.normal(1.0, 0.01, EPOCHS)), {"d_loss": [1.4] * EPOCHS, "g_loss": [0.8] * EPOCHS})
        write_cell(base, "r1", "torch", "DenseGAN", 1e-4, res, seed=seed)
    found = compare_dirs(base, base, Thresholds())
    rate, splits, timings = found.alarms
    assert splits == 200 and timings == 1 and rate <= 0.12, rate
    out = "\n".join(lines(found, Thresholds()))
    assert f"{percent(rate)} of comparisons flagged anything" in out


def test_a_changed_final_loss_is_flagged(tmp_path, capsys):
    base = grid(tmp_path / "base", seed=1)
    code, out = compare(capsys, base, grid(tmp_path / "loss", seed=1, loss_shift=0.2))
    assert code == 1 and "6 final losses changed beyond 0.05" in out
    assert compare(capsys, base, tmp_path / "loss", "--loss-tol", "0.2")[0] == 0


def test_runs_made_under_different_conditions_say_so_and_alike_runs_do_not(tmp_path, capsys):
    base = grid(tmp_path / "base", seed=1)
    code, out = compare(capsys, base, grid(tmp_path / "side", seed=2, parallel=2))
    assert code == 0, "conditions are reported, not a failure"
    assert "different conditions (cells at once: BASE 1, NEW 2)" in out
    assert "different conditions" not in compare(capsys, base, grid(tmp_path / "same", seed=2))[1]


def test_missing_cells_are_flagged_and_extra_cells_are_not(tmp_path, capsys):
    base = grid(tmp_path / "base", seed=1, skip=(("jax", 1e-6),))
    full = grid(tmp_path / "full", seed=1)
    code, out = compare(capsys, base, full)
    assert code == 0 and "1 cells only in NEW" in out
    code, out = compare(capsys, full, base)
    assert code == 1 and "1 cells ok in BASE but not in NEW" in out


@pytest.mark.parametrize("which", ["base", "new"])
def test_a_folder_without_results_is_bad_input(tmp_path, capsys, which):
    good = grid(tmp_path / "good", seed=1)
    empty = tmp_path / "empty"
    empty.mkdir()
    args = (empty, good) if which == "base" else (good, empty)
    assert main(["compare", *map(str, args)]) == 2
    assert "no cells.csv" in capsys.readouterr().err
