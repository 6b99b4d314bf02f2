"""`gvbench history`: a step at one version is found with its size and interval; flat noise gives none."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from suite.choices import Status
from suite.cli import main
from suite.contract import Cell, EpochRecord, Facts, Result
from suite.history import history, version_key
from suite.run import rows
from suite.store.folder import append_cell

VERSIONS = ["3.10.0", "3.11.3", "3.12.0", "3.13.2", "3.14.0", "3.15.1"]
SEEDS = 2
"""Cells (processes) per round."""
ROUNDS = 3
"""Runs of each version: the replicates the noise between rounds is measured from."""


def write_runs(
    out,
    step_s: dict[str, float],
    noise: float,
    seed: int = 0,
    within: float = 0.01,
    rounds: int = ROUNDS,
    impl: str = "keras",
) -> None:
    """`rounds` runs per Keras version, `SEEDS` cells each, whose steady epochs take `step_s[version]` × 4 steps,
    each round off by lognormal `noise` (the spread between rounds) and each cell by `within` more."""
    rng = np.random.default_rng(seed)
    for i, version in enumerate(VERSIONS):
        for round_ in range(rounds):
            level = step_s[version] * math.exp(rng.normal(0.0, noise))
            for cell_seed in range(SEEDS):
                per_step = level * math.exp(rng.normal(0.0, within))
                epochs = [EpochRecord(e, 4 * per_step, 4, 512 / (4 * per_step), {"loss": 1.0}) for e in (1, 2, 3)]
                facts = Facts(keras_version=version, backend_version="2.21.0", started_at=f"2026-01-0{i + 1}")
                cell = Cell("tensorflow", "DenseVAE", "paper", 1e-4, "smoke", cell_seed, 3, 2, impl)
                result = Result(Status.OK, facts=facts, epochs=epochs)
                append_cell(out, *rows(f"r{i}-{round_}", cell, result, "s.npz", "l.log"))


def test_versions_sort_as_numbers_not_text():
    assert sorted(["3.9.0", "3.10.0", "3.15.1"], key=version_key) == ["3.9.0", "3.10.0", "3.15.1"]
    assert version_key("2.13.0+cpu") < version_key("2.14.0")


def test_a_30_percent_step_at_one_version_is_found_with_its_size(tmp_path):
    step = {v: (0.013 if VERSIONS.index(v) >= 3 else 0.010) for v in VERSIONS}
    write_runs(tmp_path, step, noise=0.03)
    points, changes = history([tmp_path])
    assert list(points.keras_version) == VERSIONS, "ordered by version"
    assert len(changes) == 1, changes.to_string()
    change = changes.iloc[0]
    assert change.before == "keras 3.12.0, tensorflow 2.21.0" and change.after == "keras 3.13.2, tensorflow 2.21.0"
    assert (
        change.kind == "regression" and 1.2 < change.ratio < 1.4 and 1 < change.ci_low <= change.ratio <= change.ci_high
    )


def test_a_keras2_regression_shows_as_a_tf_keras_version_step(tmp_path):
    step = {v: (0.013 if VERSIONS.index(v) >= 3 else 0.010) for v in VERSIONS}
    write_runs(tmp_path, step, noise=0.03, impl="tf_keras")
    points, changes = history([tmp_path])
    assert set(points.impl) == {"tf_keras"} and len(changes) == 1, changes.to_string()
    change = changes.iloc[0]
    assert change.sweep == "tf-keras versions at tensorflow 2.21.0" and change.kind == "regression"
    assert change.before == "tf-keras 3.12.0, tensorflow 2.21.0"
    assert change.after == "tf-keras 3.13.2, tensorflow 2.21.0"


@pytest.mark.parametrize("noise", [0.05, 0.15])
@pytest.mark.parametrize("seed", range(5))
def test_flat_noise_of_this_machines_size_gives_no_change(tmp_path, seed, noise):
    # Between processes: 1.4-16.8% in results/reference; between rounds of one set up to 1.55× in results/history.
    write_runs(tmp_path, dict.fromkeys(VERSIONS, 0.010), noise=noise, seed=seed)
    assert history([tmp_path])[1].empty


@pytest.mark.parametrize("seed", range(5))
def test_processes_of_one_round_are_not_independent_replicates(tmp_path, seed):
    """Rounds 10% apart, five processes a round that agree to 0.5%: counted as independent, the processes would put
    a round's luck down to the version; on rounds, flat versions show no change."""
    write_runs(tmp_path, dict.fromkeys(VERSIONS, 0.010), noise=0.10, seed=seed, within=0.005, rounds=2)
    points, changes = history([tmp_path])
    assert changes.empty, changes.to_string()
    assert (points.runs == 2).all() and (points.processes == 2 * SEEDS).all()


def test_the_command_writes_its_page_and_exits_1_on_a_regression(tmp_path, capsys):
    step = {v: (0.013 if VERSIONS.index(v) >= 3 else 0.010) for v in VERSIONS}
    write_runs(tmp_path, step, noise=0.03)
    assert main(["history", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "regression" in out and "keras 3.13.2" in out
    page = (tmp_path / "history" / "history.html").read_text()
    assert "regression from keras 3.12.0, tensorflow 2.21.0 to keras 3.13.2, tensorflow 2.21.0" in page
    assert pd.read_csv(tmp_path / "history" / "changes.csv").kind.tolist() == ["regression"]


def test_keras_and_backend_releases_are_swept_one_axis_at_a_time(tmp_path):
    """Keras 3.13.2 and 3.15.1 at JAX 0.10.2; JAX 0.6.2, 0.8.3 and 0.10.2 at Keras 3.15.1; JAX 0.10.2 is 1.3× slower
    than the JAX before it. Only the JAX sweep may find that step, and no change may cross both axes."""
    rng = np.random.default_rng(0)
    sets = [
        ("3.13.2", "0.10.2", 0.013),
        ("3.15.1", "0.6.2", 0.010),
        ("3.15.1", "0.8.3", 0.010),
        ("3.15.1", "0.10.2", 0.013),
    ]
    for i, (keras_version, jax_version, step) in enumerate(sets):
        for round_ in range(ROUNDS):
            per_step = step * math.exp(rng.normal(0.0, 0.03))
            epochs = [EpochRecord(e, 4 * per_step, 4, 512 / (4 * per_step), {"loss": 1.0}) for e in (1, 2, 3)]
            facts = Facts(keras_version=keras_version, backend_version=jax_version, started_at=f"2026-01-0{i + 1}")
            cell = Cell("jax", "DenseVAE", "paper", 1e-4, "smoke", 0, 3, 2)
            result = Result(Status.OK, facts=facts, epochs=epochs)
            append_cell(tmp_path, *rows(f"r{i}-{round_}", cell, result, "s", "l"))
    _, changes = history([tmp_path])
    assert len(changes) == 1, changes.to_string()
    change = changes.iloc[0]
    assert change.sweep == "jax versions at Keras 3.15.1"
    assert change.before == "keras 3.15.1, jax 0.8.3" and change.after == "keras 3.15.1, jax 0.10.2"
    assert change.kind == "regression"


def test_a_flat_history_says_what_it_could_have_found_and_more_noise_finds_less(tmp_path):
    """The detection limit is simulated at the sweep's noise between rounds: the smallest step the rule (beyond
    1.10×, confirmed over rounds) finds 80% of the time. Quiet rounds find a step just past the threshold."""
    from suite.history import points, read_cells, sensitivity

    quiet, loud = tmp_path / "quiet", tmp_path / "loud"
    write_runs(quiet, dict.fromkeys(VERSIONS, 0.010), noise=0.02)
    write_runs(loud, dict.fromkeys(VERSIONS, 0.010), noise=0.15)
    found = [sensitivity(points(read_cells([folder]))).iloc[0] for folder in (quiet, loud)]
    assert 1.1 < found[0].detects_from <= 1.3 < found[1].detects_from, [f.detects_from for f in found]
    assert found[0].rounds == ";".join(["3"] * 6) and found[0].round_sd < found[1].round_sd
