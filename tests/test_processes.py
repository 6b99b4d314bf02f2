"""The process as the unit of a speed answer: steady-state classes, modes between processes, variance components
and the design they ask for, on data with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from suite.processes import (
    FLAT,
    SLOW_DOWN,
    TOO_FEW,
    UNSTEADY,
    WARM_UP,
    Components,
    best_epochs,
    components,
    modes,
    processes_for,
    steady_state,
)


def noisy(levels: list[tuple[float, int]], sd: float = 0.02, seed: int = 0) -> np.ndarray:
    """Epoch times at each (level, epochs) in turn, with log-normal noise of `sd`."""
    rng = np.random.default_rng(seed)
    return np.concatenate([level * np.exp(rng.normal(0, sd, n)) for level, n in levels])


@pytest.mark.parametrize(
    ("levels", "state"),
    [
        ([(1.0, 39)], FLAT),
        ([(1.3, 6), (1.0, 33)], WARM_UP),
        ([(1.0, 20), (1.4, 19)], SLOW_DOWN),
        ([(1.0, 12), (1.5, 12), (1.0, 15)], UNSTEADY),
        ([(1.0, 4)], TOO_FEW),
    ],
)
def test_each_steady_state_class_is_found(levels, state):
    assert steady_state(noisy(levels)) == state


def test_a_change_smaller_than_the_margin_is_not_one():
    """A 3% shift is below the 5% that matters: the process counts as flat even where PELT sees the step."""
    assert steady_state(noisy([(1.0, 20), (1.03, 19)], sd=0.002)) == FLAT


def test_flat_noisy_processes_are_rarely_called_changed():
    """The penalty is calibrated: no more than about 4% of flat processes of 9 epochs are called anything else."""
    called = [steady_state(noisy([(1.0, 9)], sd=0.1, seed=s)) != FLAT for s in range(300)]
    assert np.mean(called) <= 0.08


def test_two_modes_are_reported_with_their_shares_and_one_mode_is_not():
    rng = np.random.default_rng(3)
    fast, slow = 0.016 * np.exp(rng.normal(0, 0.03, 9)), 0.024 * np.exp(rng.normal(0, 0.03, 6))
    found = modes(np.concatenate([fast, slow]))
    assert found is not None and found.counts == (9, 6) and found.shares == pytest.approx((0.6, 0.4))
    assert found.times[0] == pytest.approx(0.016, rel=0.05) and found.times[1] == pytest.approx(0.024, rel=0.05)
    assert found.describe().startswith("2 modes: 9 processes (60%) near 0.0158 s, 6 (40%)")
    assert modes(0.02 * np.exp(rng.normal(0, 0.1, 15))) is None
    assert modes([0.016, 0.024, 0.016]) is None, "too few processes to tell"


def test_one_mode_is_read_as_two_about_one_time_in_a_hundred():
    rng = np.random.default_rng(4)
    found = [modes(np.exp(rng.normal(0, 0.1, 12))) is not None for _ in range(400)]
    assert np.mean(found) <= 0.03


def test_variance_components_recover_the_simulated_ones():
    rng = np.random.default_rng(5)
    levels = rng.normal(0, 0.08, 60)
    found = components([np.exp(rng.normal(level, 0.2, 20)) for level in levels])
    assert found.between_sd == pytest.approx(0.08, rel=0.25) and found.within_sd == pytest.approx(0.2, rel=0.05)
    assert found.processes == 60 and found.epochs_per_process == pytest.approx(20)
    assert found.process_sd() == pytest.approx(math.sqrt(0.08**2 + 0.2**2 / 20), rel=0.2)
    assert components([np.array([1.0, 1.1])]) is None


def test_the_process_count_reaches_the_half_width_it_was_computed_for():
    """Processes of 5% spread on both sides: t · sqrt(2 · 0.05² / n) ≤ log 1.05 first holds at n = 10."""
    n = processes_for(0.05, 0.05)
    assert n == 10
    from scipy.stats import t

    df = 2 * n - 2
    assert t.ppf(0.975, df) * math.sqrt(2 * 0.05**2 / n) <= math.log(1.05)
    assert t.ppf(0.975, df - 2) * math.sqrt(2 * 0.05**2 / (n - 1)) > math.log(1.05)


def test_the_best_epochs_per_process_follow_kalibera_and_jones():
    found = Components(between_sd=0.05, within_sd=0.2, processes=5, epochs_per_process=39)
    assert best_epochs(found, process_cost_s=16.0, epoch_s=1.0) == pytest.approx(math.sqrt(16 * 0.04 / 0.0025))
    assert best_epochs(Components(0.0, 0.2, 5, 39), 16.0, 1.0) == math.inf
