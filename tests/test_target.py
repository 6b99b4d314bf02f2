"""Time to target: the evaluation loop in every backend, the CLI, the target itself and the report's table."""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd
import pytest

from architectures import FAMILIES
from architectures.family import READABLE_DIGITS
from architectures.judge import REFERENCE
from suite.choices import BACKENDS
from suite.cli import budget, build_parser, make_cells
from suite.contract import EpochRecord
from suite.formatting import number, times
from suite.report.sections import time_to_target as target
from suite.run import summarise_epochs
from suite.store.folder import CELLS_CSV, EVALUATIONS_CSV, QUALITY_CSV
from tests.conftest import probe_every_backend, run_gvbench
from tests.test_cli import fails_with


@pytest.fixture(scope="module")
def probed() -> dict[str, dict]:
    return probe_every_backend("target_probe.py")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_met_target_stops_training_at_that_evaluation(probed, backend):
    met = probed[backend]["met"]
    assert met["evaluated_steps"] == [3] and met["target_step"] == 3
    assert met["epoch_steps"] == [3], "the epoch cut short at the target records the steps it ran"
    assert met["target_train_s"] == met["train_s"][0] > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_evaluations_see_each_steps_weights_and_stay_off_the_clock(probed, backend):
    never = probed[backend]["never"]
    # Every 3 steps over 2 epochs of 4, then the last step, which training ended on between evaluations.
    assert never["evaluated_steps"] == [3, 6, 8] and never["evaluated_epochs"] == [1, 2, 2]
    assert never["target_step"] is None and never["epoch_steps"] == [4, 4]
    # JAX keeps the weights apart from the model during fit: stale weights would score alike.
    assert len(set(never["test_nelbo"])) == 3
    assert all(b > a for a, b in zip(never["train_s"], never["train_s"][1:], strict=False))
    # The epoch clock and the training clock both leave the evaluations out; they differ only by the few
    # milliseconds of callbacks between epochs, while the evaluations took far longer than that.
    assert math.isclose(sum(never["epoch_s"]), never["watch_train_s"], rel_tol=0.02, abs_tol=0.05)
    assert sum(never["eval_s"]) > 0.1


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_spent_budget_stops_after_the_step_that_spent_it(probed, backend):
    spent = probed[backend]["budget"]
    assert spent["evaluated_steps"] == [1] and spent["epoch_steps"] == [1] and spent["target_step"] is None


def test_the_target_separates_real_digits_from_noise_and_blank_images():
    ref = pd.read_csv(REFERENCE)
    for images, group in ref.groupby("images"):
        by_source = {source: dict(zip(g.metric, g.value, strict=True)) for source, g in group.groupby("source")}
        assert READABLE_DIGITS.met(by_source["real"]), images
        assert not READABLE_DIGITS.met(by_source["noise"]) and not READABLE_DIGITS.met(by_source["blank"]), images
    # A collapsed generator drawing one digit perfectly is not at the target.
    assert not READABLE_DIGITS.met({"readable_share": 1.0, "digits_covered": 1.0})
    # Nor one whose every digit the judge is sure of but that lies off the digit manifold (blobs on speckle).
    assert not READABLE_DIGITS.met({"readable_share": 0.0, "confident_share": 1.0, "digits_covered": 10.0})
    assert all(family.target is READABLE_DIGITS for family in FAMILIES.values())


def test_budget_reads_seconds_and_epochs():
    assert budget("1800") == (1800.0, None) and budget("30m") == (1800.0, None) and budget("2h") == (7200.0, None)
    assert budget("45s") == (45.0, None) and budget("20epochs") == (None, 20)
    for bad in ("0", "-5m", "20 parsecs", "2.5epochs", "nan", "inf"):
        with pytest.raises(argparse.ArgumentTypeError):
            budget(bad)


def test_target_cells_carry_their_budget_and_bad_combinations_are_refused(capsys, tmp_path):
    base = ["run", "--backend", "torch", "--models", "DenseVAE", "--lrs", "1e-4"]
    cells = make_cells(build_parser().parse_args([*base, "--profile", "target"]))
    assert [(c.budget_s, c.epochs, c.eval_every) for c in cells] == [(1800.0, 50, 250)]
    assert cells[0].cell_id.endswith(".target.s0.e50.b1800s")
    cells = make_cells(build_parser().parse_args([*base, "--profile", "target", "--budget", "10epochs"]))
    assert [(c.budget_s, c.epochs) for c in cells] == [(None, 10)]
    quick = make_cells(build_parser().parse_args(base))
    assert quick[0].budget_s is None and quick[0].eval_every is None and ".b" not in quick[0].cell_id
    out = ["--out", str(tmp_path / "r")]
    fails_with(capsys, [*base, "--budget", "30m", *out], "--budget needs --profile target")
    fails_with(
        capsys,
        [*base, "--profile", "target", "--impl", "native", *out],
        "trains the Keras 3 models only; drop --impl native",
    )
    fails_with(capsys, [*base, "--profile", "target", "--budget", "2epochs", "--epochs", "3", *out], "not both")
    assert not (tmp_path / "r").exists(), "nothing is written"


def test_a_partial_last_epoch_is_not_a_steady_epoch():
    epochs = [EpochRecord.timed(i, 2.0, 4, 512, {"loss": 1.0}) for i in (1, 2, 3)]
    epochs.append(EpochRecord.timed(4, 0.4, 1, 128, {"loss": 1.0}))
    summary = summarise_epochs(epochs)
    assert summary["epochs_done"] == 4 and summary["steady_epochs"] == 2
    assert summary["steady_epoch_median_s"] == 2.0 and summary["steady_step_median_s"] == 0.5


def test_a_target_run_that_misses_records_its_evaluations_and_reports_the_miss(fixture_env, fixture_data, tmp_path):
    data, _, _ = fixture_data
    out = tmp_path / "r"
    argv = ["run", "--backend", "torch", "--models", "DenseVAE", "--lrs", "1e-4", "--profile", "target"]
    done = run_gvbench([*argv, "--budget", "2epochs", "--data", str(data), "--out", str(out)], fixture_env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "target not reached in 1 evaluations" in done.stdout
    cells = pd.read_csv(out / CELLS_CSV)
    row = cells.iloc[0]
    assert row.status == "budget" and row.epochs_done == 2 and row.evaluations == 1 and pd.isna(row.target_train_s)
    assert row.target == READABLE_DIGITS.describe() and row.eval_every == 250 and pd.isna(row.budget_s)
    evaluations = pd.read_csv(out / EVALUATIONS_CSV)
    # 512 fixture images are 4 steps an epoch: no 250th step, so the one evaluation is of the last step.
    assert set(evaluations.step) == {8} and set(evaluations.epoch) == {2}
    assert evaluations.set_index("metric").value["target_met"] == 0.0
    quality = pd.read_csv(out / QUALITY_CSV).set_index("metric").value
    last = evaluations.set_index("metric").value
    assert quality["confident_share"] == last["confident_share"] and quality["test_nelbo"] == last["test_nelbo"]
    assert quality["quality_eval_s"] == last["eval_s"]
    assert np.isclose(row.eval_total_s, last["eval_s"])
    again = run_gvbench([*argv, "--budget", "2epochs", "--data", str(data), "--out", str(out)], fixture_env)
    assert "skipping 1 cells already done" in again.stdout, "a budget cell is done: a rerun resumes past it"
    report = run_gvbench(["report", str(out)], fixture_env)
    assert report.returncode == 0, report.stderr[-3000:]
    text = (out / "report" / "report.md").read_text()
    assert "DenseVAE (lr 1e-04): time to target — torch not reached within 2 epochs (0/1 seeds reached it)" in text
    assert (out / "report" / "target" / "time-to-target.png").is_file()


def test_the_time_to_target_table_counts_misses_as_slower_and_gives_ratios():
    rows = []
    for backend, seconds in (("torch", [100, 110, 120]), ("tensorflow", [200, 210, 230]), ("jax", [50, None, None])):
        for seed, s in enumerate(seconds):
            rows.append(
                {
                    "profile": "target",
                    "label": "DenseVAE",
                    "model": "DenseVAE",
                    "backend": backend,
                    "lr": 1e-4,
                    "seed": seed,
                    "status": "ok" if s else "budget",
                    "eval_every": 250,
                    "target_train_s": s,
                    "target_step": 1000 if s else None,
                    "budget_s": 1800.0,
                    "epochs": 50,
                }
            )
    table = target.table(target.cells(pd.DataFrame(rows))).set_index("backend")
    assert table.loc["torch", "seconds_to_target"] == 110 and table.loc["torch", "x_fastest"] == 1.0
    geometric = np.exp(np.mean(np.log([200, 210, 230])) - np.mean(np.log([100, 110, 120])))
    assert table.loc["tensorflow", "x_fastest"] == pytest.approx(geometric), "what its interval estimates"
    low, high = table.loc["tensorflow", ["x_low", "x_high"]]
    assert low <= geometric <= high
    # JAX's median falls on a miss: it has no time, however fast its one seed was.
    assert table.loc["jax", "seconds_to_target"] == np.inf and table.loc["jax", "reached"] == 1
    # Every seed took 1,000 steps: the whole ratio is seconds per step (of geometric means), steps add nothing.
    tf = table.loc["tensorflow"]
    assert tf.x_fastest == pytest.approx(tf.x_step_s * tf.x_steps), "the ratio is the product of its factors"
    assert tf.x_step_s == pytest.approx(geometric) and (tf.x_steps, tf.x_steps_low, tf.x_steps_high) == (1, 1, 1)
    assert (tf.x_step_low, tf.x_step_high) == pytest.approx((low, high)), "the same Welch interval as the whole"
    lines = target.glance_lines(target.table(target.cells(pd.DataFrame(rows))))
    assert lines == [
        # Three seeds: the median's interval is their range, 75%; the ratio's Welch's t on log seconds, 95%.
        "DenseVAE (lr 1e-04): time to target — torch 110 s [100, 120] 75% (1×); tensorflow 210 s "
        f"[200, 230] 75% ({times(geometric)} [{number(low)}, {number(high)}] 95% = {times(geometric)} "
        f"[{number(low)}, {number(high)}] seconds per step × 1× [1, 1] steps); "
        "jax not reached within 50 epochs or 1800 s (1/3 seeds reached it)"
    ]
