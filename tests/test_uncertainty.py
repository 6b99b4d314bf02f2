"""Bootstrap intervals of medians and ratios, and the epochs a slowdown test needs, on data with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import bootstrap

from suite.uncertainty import (
    ALIKE,
    FASTER,
    SLOWER,
    UNDECIDED,
    Interval,
    backend_effect,
    epochs_to_detect,
    geometric_interval,
    holm,
    log_t_interval,
    median_interval,
    paired_backend_effect,
    processes_to_detect,
    ratio_test,
    shift_interval,
    verdict,
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


def two_level(rng, processes: int, epochs: int, between: float, within: float, centre: float = 0.0, modes=None):
    """Epoch times of `processes` processes: each process's log level drawn around `centre` with spread `between`
    (or from two `modes` (share, shift) of it), its epochs around that level with spread `within`."""
    levels = rng.normal(centre, between, processes)
    if modes is not None:
        share, shift = modes
        levels = levels + shift * (rng.random(processes) >= share)
    return [np.exp(rng.normal(level, within, epochs)) for level in levels]


def process_median_truth(between: float, modes=None) -> float:
    """exp(E[log process median]): the typical process the geometric mean of process medians estimates."""
    return math.exp(0.0 if modes is None else (1 - modes[0]) * modes[1])


# The reference run's own variance components: about 6.5% between processes, 3% within, 39 steady epochs.
DESIGN = {"between": 0.065, "within": 0.03, "epochs": 39}


@pytest.mark.parametrize(("processes", "modes"), [(5, None), (10, None), (17, (0.5, 0.4))])
def test_the_interval_over_processes_covers_at_95_percent_and_pooled_epochs_do_not(processes, modes):
    """At the measured components (and a two-mode mixture like TensorFlow's 16 and 24 ms steps), the t interval over
    process medians covers the typical process at its stated 95%; the order-statistic interval of the same epochs
    pooled, which the report used to print as 95.5%, covers far less."""
    runs, rng = 1000, np.random.default_rng(21)
    truth = process_median_truth(DESIGN["between"], modes)
    by_process, pooled = [], []
    for _ in range(runs):
        epochs = two_level(rng, processes, DESIGN["epochs"], DESIGN["between"], DESIGN["within"], modes=modes)
        by_process.append(geometric_interval([np.median(e) for e in epochs])[1])
        pooled.append(median_interval(np.concatenate(epochs)))
    covered = np.mean([i.low <= truth <= i.high for i in by_process])
    assert within_simulation_error(covered, 0.95, runs) or covered > 0.95, covered
    pooled_covered = np.mean([i.low <= truth <= i.high for i in pooled])
    assert pooled_covered < 0.8 and min(i.level for i in pooled) >= 0.95, pooled_covered


def test_the_ratio_over_processes_covers_at_95_percent_and_the_pooled_shift_interval_does_not():
    """Three processes of four epochs a side at true ratio 1: Welch over process medians holds 95%; the exact
    Mann–Whitney interval of the pooled epochs, stated at 95%+, holds about two thirds."""
    runs, rng = 1000, np.random.default_rng(22)
    welch, shift = [], []
    for _ in range(runs):
        a = two_level(rng, 3, 4, DESIGN["between"], DESIGN["within"])
        b = two_level(rng, 3, 4, DESIGN["between"], DESIGN["within"])
        welch.append(ratio_test([np.median(e) for e in a], [np.median(e) for e in b]).interval)
        shift.append(shift_interval(np.concatenate(a), np.concatenate(b)))
    assert within_simulation_error(np.mean([i.low <= 1 <= i.high for i in welch]), 0.95, runs)
    assert np.mean([i.low <= 1 <= i.high for i in shift]) < 0.8 and min(i.level for i in shift) >= 0.95


def test_a_ratio_and_its_interval_estimate_the_same_thing():
    a, b = [1.0, 1.2, 1.1, 1.3], [0.5, 0.55, 0.6]
    found = ratio_test(a, b)
    assert found.ratio == pytest.approx(math.exp(np.log(a).mean() - np.log(b).mean()))
    assert found.interval.low < found.ratio < found.interval.high
    assert math.sqrt(found.interval.low * found.interval.high) == pytest.approx(found.ratio), "centred on the ratio"


def test_equivalence_needs_the_interval_inside_the_margin_not_a_failure_to_differ():
    rng = np.random.default_rng(23)
    tight = rng.lognormal(0.0, 0.01, 20)
    same = ratio_test(tight * 1.01, tight[::-1])  # 1% apart, 1% noise, 20 a side: alike within 5%
    assert same.p_alike < 0.05 and verdict(same.ratio, same.p_differ, same.p_alike) == ALIKE
    noisy = ratio_test(rng.lognormal(0.0, 0.2, 3), rng.lognormal(0.0, 0.2, 3))
    assert noisy.p_differ > 0.05 and noisy.p_alike > 0.05, "not told apart is not alike"
    assert verdict(noisy.ratio, noisy.p_differ, noisy.p_alike) == UNDECIDED
    apart = ratio_test(tight * 1.5, tight)
    assert verdict(apart.ratio, apart.p_differ, apart.p_alike) == SLOWER
    assert verdict(1 / apart.ratio, apart.p_differ, apart.p_alike) == FASTER
    one = ratio_test([1.0], [1.0, 1.1])
    assert math.isnan(one.p_differ) and verdict(one.ratio, one.p_differ, one.p_alike) == UNDECIDED


def test_tost_keeps_its_level_at_the_margin():
    """At a true ratio of exactly 1.05, equivalence within 5% is claimed no more than 5% of the time."""
    rng = np.random.default_rng(24)
    claims = [
        ratio_test(rng.lognormal(math.log(1.05), 0.05, 8), rng.lognormal(0, 0.05, 8)).p_alike < 0.05
        for _ in range(1000)
    ]
    assert np.mean(claims) <= 0.05 + 3.5 * math.sqrt(0.05 * 0.95 / 1000)


def test_holm_adjusts_a_family_and_leaves_nan_out():
    adjusted = holm([0.01, 0.04, math.nan, 0.03])
    assert (
        adjusted[0] == pytest.approx(0.03) and adjusted[3] == pytest.approx(0.06) and adjusted[1] == pytest.approx(0.06)
    )
    assert math.isnan(adjusted[2])


@pytest.mark.parametrize("size", [1, 2, 7, 40])
def test_holm_is_statsmodels_holm(size):
    """Ties, p-values adjusted past 1 and families of one: the same numbers as the library's implementation."""
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(size)
    p = np.round(rng.uniform(0, 0.6, size) ** 2, 2)  # rounding makes ties
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1], abs=0, rel=1e-15)
    assert holm([]).shape == (0,)


def test_a_geometric_interval_needs_two_processes():
    centre, found = geometric_interval([2.0])
    assert centre == 2.0 and not found.found
    centre, found = geometric_interval([1.0, 4.0])
    assert centre == pytest.approx(2.0) and found.low < 1.0 and found.high > 4.0
