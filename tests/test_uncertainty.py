"""Bootstrap intervals of medians and ratios, and the epochs a slowdown test needs, on data with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import bootstrap

from suite.uncertainty import (
    Interval,
    backend_effect,
    epochs_to_detect,
    log_t_interval,
    median_interval,
    paired_backend_effect,
    processes_to_detect,
    shift_interval,
)


def test_median_interval_holds_the_median_and_narrows_with_more_epochs():
    rng = np.random.default_rng(1)
    few, many = rng.lognormal(0.0, 0.1, 6), rng.lognormal(0.0, 0.1, 200)
    for values in (few, many):
        found = median_interval(values)
        assert found.low <= np.median(values) <= found.high
    width = {len(v): median_interval(v).high - median_interval(v).low for v in (few, many)}
    assert width[200] < width[6] / 2
    found = median_interval(many)
    assert found.low < 1.0 < found.high and found.level >= 0.95, "the true median of lognormal(0, 0.1) is 1"


def test_two_epochs_give_their_range_at_50_percent_and_one_gives_none():
    assert median_interval([1.0, 2.0]) == Interval(1.0, 2.0, 0.5, "order statistics")
    assert not median_interval([1.0]).found


def test_ratio_interval_tells_a_real_difference_from_noise():
    rng = np.random.default_rng(2)
    fast, slow, same = rng.normal(1.0, 0.03, 12), rng.normal(1.3, 0.04, 12), rng.normal(1.0, 0.03, 12)
    found = shift_interval(slow, fast)
    assert 1.2 < found.low < 1.3 < found.high < 1.4 and found.level >= 0.95
    found = shift_interval(same, fast)
    assert found.low < 1 < found.high


def test_epochs_to_detect_a_slowdown_starts_from_a_hand_computation():
    # log-times 0 and 0.1: sd 0.0707; 2 (z_0.95 + z_0.8)^2 sd^2 / log(1.1)^2 / (3/pi) = 7.13 -> at least 8 per side,
    # and no more than a few beyond it (the simulated power of the exact test at 8 is just under 80%).
    assert 8 <= epochs_to_detect(np.exp([0.0, 0.1])) <= 10
    # Noise-free times still need the smallest samples whose exact U p-value can go below 0.05: 4 and 4 (1/70).
    assert epochs_to_detect([2.0, 2.0, 2.0]) == 4
    assert epochs_to_detect([2.0]) is None
    assert epochs_to_detect(np.exp([0.0, 0.1]), slowdown=0.05) > epochs_to_detect(np.exp([0.0, 0.1]))


@pytest.mark.parametrize("noise", [0.02, 0.05, 0.2])
def test_the_epoch_count_detects_the_slowdown_it_was_computed_for(noise):
    """Simulated apart from the count's own simulation: a 10% slowdown is found at least about 80% of the time."""
    from scipy.stats import mannwhitneyu

    rng = np.random.default_rng(3)
    n = epochs_to_detect(rng.lognormal(0.0, noise, 400))
    found = [
        mannwhitneyu(rng.lognormal(math.log(1.1), noise, n), rng.lognormal(0.0, noise, n), alternative="greater").pvalue
        < 0.05
        for _ in range(400)
    ]
    assert np.mean(found) > 0.75


def test_the_backend_effect_is_kruskal_wallis_with_seeds_as_replicates():
    # Three backends, three seeds each, no overlap: H = 7.2 (ranks 1-3, 4-6, 7-9), p = exp(-7.2 / 2) on 2 dof.
    p_value, epsilon = backend_effect([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert p_value == pytest.approx(math.exp(-3.6)) and epsilon == pytest.approx(7.2 / 8)
    p_value, epsilon = backend_effect([[1, 5, 9], [2, 6, 7], [3, 4, 8]])
    assert p_value > 0.5 and epsilon < 0.1, "interleaved seeds: no backend effect"
    assert backend_effect([[2, 2], [2, 2]]) == (1.0, 0.0)
    assert all(math.isnan(v) for v in backend_effect([[1], [4], [7]])), "one seed per backend decides nothing"


def test_lockstep_seeds_are_blocks_so_a_backend_effect_smaller_than_the_seed_spread_is_found():
    # Each seed (row) moves every backend alike by 100; within every seed the backends rank the same
    # (W = 1). Unpaired, the seeds swamp it; paired, only the 3! ** 3 = 216 orderings within the seeds
    # count, and 6 of them (every seed ranking the backends the same way) reach W = 1: p = 6 / 216.
    table = np.array([[100.0, 101, 102], [200, 201, 202], [300, 301, 302]])
    assert backend_effect(list(table.T))[0] > 0.5  # 0.67
    p_value, w = paired_backend_effect(table)
    assert p_value == pytest.approx(6 / 216) and w == pytest.approx(1.0)
    p_value, w = paired_backend_effect([[1.0, 2, 3], [2, 3, 1], [3, 1, 2]])
    assert p_value == 1.0 and w == pytest.approx(0.0), "every backend first once: no effect"
    assert paired_backend_effect([[2.0, 2], [2, 2]]) == (1.0, 0.0)
    assert all(math.isnan(v) for v in paired_backend_effect([[1.0, 4, 7]])), "one seed decides nothing"


def test_a_paired_ratio_interval_compares_within_seeds():
    # The second backend is the first's seeds times 1.05 (give or take 0.1%): paired, the interval is that ratio;
    # taken apart, each backend's seeds spread it over their 3× range.
    values = np.array([10.0, 20, 30, 15, 25])
    paired = log_t_interval(values * 1.05 * np.array([1.001, 0.999, 1.0, 1.0005, 0.9995]), values, paired=True)
    assert 1.04 < paired.low < 1.05 < paired.high < 1.06
    apart = log_t_interval(values * 1.05, values)
    assert apart.low < 0.8 and apart.high > 1.3


def coverage(draw, interval, truth: float, runs: int) -> tuple[float, float]:
    """Share of simulated samples whose interval holds `truth`, and the level the method states."""
    rng = np.random.default_rng(11)
    found = [interval(*draw(rng)) for _ in range(runs)]
    return float(np.mean([f.low <= truth <= f.high for f in found])), float(np.mean([f.level for f in found]))


def within_simulation_error(observed: float, level: float, runs: int) -> bool:
    """Whether an observed coverage is the stated level, within 3.5 binomial standard errors of `runs` draws."""
    return abs(observed - level) <= 3.5 * math.sqrt(level * (1 - level) / runs) + 1e-9


@pytest.mark.parametrize("n", [3, 5, 10])
def test_the_median_interval_covers_the_median_at_its_stated_level(n):
    runs = 4000
    observed, level = coverage(lambda rng: (rng.lognormal(0.0, 0.3, n),), median_interval, 1.0, runs)
    assert within_simulation_error(observed, level, runs), (n, observed, level)
    assert level == pytest.approx({3: 0.75, 5: 0.9375, 10: 0.978515625}[n]), "a small n says what it can give"


@pytest.mark.parametrize("n", [3, 5, 10])
def test_the_shift_interval_covers_a_ratio_of_medians_at_its_stated_level(n):
    runs = 3000
    observed, level = coverage(
        lambda rng: (rng.lognormal(math.log(1.3), 0.2, n), rng.lognormal(0.0, 0.2, n)), shift_interval, 1.3, runs
    )
    assert within_simulation_error(observed, level, runs), (n, observed, level)
    assert level >= 0.9, "3 against 3 gives 90%, more values at least 95%"


@pytest.mark.parametrize("n", [3, 5, 10])
def test_the_log_t_interval_covers_a_ratio_of_geometric_means_at_95_percent(n):
    runs = 3000
    observed, level = coverage(
        lambda rng: (rng.lognormal(math.log(1.3), 0.15, n), rng.lognormal(0.0, 0.3, n)), log_t_interval, 1.3, runs
    )
    assert level == pytest.approx(0.95) and within_simulation_error(observed, 0.95, runs), (n, observed)


def percentile_bootstrap(values) -> tuple[float, float]:
    """The interval the report used to label 95%: scipy's percentile bootstrap of the median."""
    found = bootstrap((values,), np.median, method="percentile", n_resamples=2000, random_state=0)
    return found.confidence_interval.low, found.confidence_interval.high


def test_a_percentile_bootstrap_of_three_medians_does_not_cover_at_its_95_percent():
    """Over three values it is their range, and covers the median about 75% of the time."""
    runs = 400
    rng = np.random.default_rng(12)
    intervals = [percentile_bootstrap(v) for v in rng.lognormal(0.0, 0.3, (runs, 3))]
    covered = np.mean([low <= 1.0 <= high for low, high in intervals])
    assert not within_simulation_error(covered, 0.95, runs), covered
    assert within_simulation_error(covered, 0.75, runs), covered


def test_the_process_count_detects_the_slowdown_it_was_computed_for():
    """Processes of 5% spread: the count is the normal approximation's 4 or a little more for t, and a Welch t test
    on that many processes a side finds a 10% slowdown at least about 80% of the time."""
    from scipy.stats import ttest_ind

    rng = np.random.default_rng(13)
    n = processes_to_detect(rng.lognormal(0.0, 0.05, 400))
    assert 4 <= n <= 7, n
    found = [
        ttest_ind(
            rng.normal(math.log(1.1), 0.05, n), rng.normal(0.0, 0.05, n), equal_var=False, alternative="greater"
        ).pvalue
        < 0.05
        for _ in range(1000)
    ]
    assert np.mean(found) > 0.75
    assert processes_to_detect([1.0]) is None
