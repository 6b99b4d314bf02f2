"""`gvbench profile`: the step split into phases that add up to it, layers with their FLOPs, gaps traced to
operations, and the report's "Where the time goes"."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from architectures import get_spec
from architectures.flops import block_flops
from architectures.spec import BATCH_SIZE
from runners.native import plan
from runners.phases import ALL_NETWORKS, LAYER_PASSES, OVERHEAD, PASS_FLOPS, STEP, network_calls, self_times
from runners.profile_worker import ProfileResult
from suite import profile
from suite.choices import BACKENDS, PATCHED, PROFILE_DEFAULT
from suite.parity import TOLERANCES
from suite.report import build_report
from tests.conftest import ROOT, run_gvbench

FACTS = {"cpu_model": "test cpu", "keras_version": "3", "backend_version": "1", "git_commit": "abc"}


def test_network_calls_are_the_inputs_of_one_step():
    gan, vae = network_calls(get_spec("CNNGAN"), 16), network_calls(get_spec("DenseVAE"), 16)
    assert [a.shape for a in gan["generator"]] == [(16, get_spec("CNNGAN").latent_dim)]
    assert [a.shape for a in gan["discriminator"]] == [(16, 28, 28, 1)] * 2  # the real and the fake batch
    assert [a.shape for a in vae["encoder"]] == [(16, 28, 28, 1)]
    assert [a.shape for a in vae["decoder"]] == [(16, get_spec("DenseVAE").latent_dim)]


@pytest.mark.parametrize("family", [get_spec("CNNGAN").family, get_spec("CNNVAE").family])
def test_a_steps_layer_operations_are_its_forward_passes(family):
    # each gradient costs one forward (architectures/flops.py), so the operations add up to the step's passes
    assert tuple(map(sum, family.layer_calls)) == family.step_passes


def test_processes_are_interleaved_and_rotated():
    tasks = profile.plan(list(BACKENDS), list(PROFILE_DEFAULT), 3, **COMMON)
    rounds = [[(t.backend, t.impl) for t in tasks if t.process == r] for r in range(3)]
    settings = [(b, i) for b in BACKENDS for i in PROFILE_DEFAULT]
    assert all(sorted(r) == sorted(settings) for r in rounds)  # every setting once a round
    assert len({r[0] for r in rounds}) == 3  # no setting always first


COMMON = dict(
    models=["DenseGAN"], variant="paper", batch_size=BATCH_SIZE, threads=1, seed=0, warmup=1, repeats=2, layers=True
)


def result(
    process: int, step: float, phases: dict, backend: str = "jax", impl: str = "keras", layers=(), compiled=None
):
    """One process's result; its compiled step takes `compiled` seconds (default: the phases' sum)."""
    setting = {"backend": backend, "impl": impl, "model": "DenseGAN", "process": process}
    compiled = sum(phases.values()) if compiled is None else compiled
    rows = [
        setting | {"phase": phase, "network": network, "seconds": s, "method": "m"}
        for (phase, network), s in {**phases, (STEP, ALL_NETWORKS): compiled}.items()
    ]
    return ProfileResult(
        facts=FACTS | {"ceiling_gflop_per_s": 100.0},
        steps=[setting | {"step_s": step, "step_batches": 5}],
        phases=rows,
        layers=[setting | row for row in layers],
    )


def test_phases_and_overhead_add_up_to_the_measured_step(tmp_path):
    alone = {("forward", "generator"): 0.2, ("backward", ALL_NETWORKS): 0.6, ("optimizer", ALL_NETWORKS): 0.2}
    # compiled together the phases take 0.8 of their 1.0 alone (fusion); the loop adds 0.2, 0.4 or 0.3
    results = [result(p, step, alone, compiled=0.8) for p, step in enumerate([1.0, 1.2, 1.1])]
    results[1].phases[0]["seconds"] = 0.4  # the slow process's forward ran slower alone
    tables = profile.write(tmp_path, results)
    phases = tables["phases.csv"].set_index("phase")
    assert list(phases.index) == ["forward", "backward", "optimizer", OVERHEAD]
    assert (phases.seconds_per_step >= 0).all()
    assert phases.seconds_per_step.sum() == pytest.approx(1.1)  # the median process's step, all of it
    assert list(phases.step_s) == pytest.approx([1.1] * 4) and list(phases.compiled_step_s) == pytest.approx([0.8] * 4)
    # each phase: its share of the compiled step in proportion to its time alone, in the median process
    assert phases.loc["backward"].seconds_per_step == pytest.approx(0.8 * 0.6 / 1.0)
    assert phases.loc["backward"].alone_s == pytest.approx(0.6)
    assert phases.loc[OVERHEAD].seconds_per_step == pytest.approx(1.1 - 0.8)
    # intervals are over the processes' own values: the overheads 0.2, 0.4, 0.3 (three processes: their range)
    assert (phases.loc[OVERHEAD].low, phases.loc[OVERHEAD].high) == pytest.approx((0.2, 0.4))
    assert phases.loc["forward"].high == pytest.approx(0.8 * 0.4 / 1.2)
    assert phases.loc[OVERHEAD].level == pytest.approx(0.75)
    assert not phases.loc[OVERHEAD].measured_alone and phases.loc["backward"].measured_alone
    raw = pd.read_csv(tmp_path / "phase_times.csv")
    assert len(raw) == 3 * 4 and set(raw.cpu_model) == {"test cpu"}
    assert STEP not in set(raw.phase)


def test_a_compiled_step_slower_than_the_loop_is_no_overhead_and_says_so(tmp_path):
    alone = {("forward", "generator"): 0.5, ("backward", ALL_NETWORKS): 0.5}
    # the loop takes 1.0, 0.9, 1.1; the compiled step 1.05, 1.0, 1.0: differences -0.05, -0.1, +0.1
    results = [result(p, step, alone, compiled=c) for p, (step, c) in enumerate([(1.0, 1.05), (0.9, 1.0), (1.1, 1.0)])]
    tables = profile.write(tmp_path, results)
    phases = tables["phases.csv"].set_index("phase")
    assert (phases.seconds_per_step >= 0).all() and (tables["phase_times.csv"].seconds >= 0).all()
    # the median process (loop 1.0) has no overhead: its phases share its loop step, not the slower compiled one
    assert phases.seconds_per_step.sum() == pytest.approx(1.0)
    assert phases.loc["forward"].seconds_per_step == pytest.approx(0.5)
    overhead = phases.loc[OVERHEAD]
    assert overhead.seconds_per_step == 0 and overhead.difference_s == pytest.approx(-0.05)
    assert (overhead.difference_low, overhead.difference_high) == pytest.approx((-0.1, 0.1))
    assert overhead.overhead_test == "not distinguishable from zero"
    # every process's rows add up to its own loop step, whichever of the two was longer
    raw = tables["phase_times.csv"]
    assert raw.groupby("process").seconds.sum().tolist() == pytest.approx([1.0, 0.9, 1.1])
    assert tables["phases.csv"].difference_s.notna().sum() == 1  # the overhead's row only


@pytest.mark.parametrize(
    ("loop", "verdict"),
    [((1.2, 1.3, 1.25), "above zero"), ((0.9, 0.95, 0.8), "below zero: the compiled step took longer")],
)
def test_the_overhead_is_tested_against_zero_over_processes(tmp_path, loop, verdict):
    results = [result(p, step, {("backward", ALL_NETWORKS): 1.0}) for p, step in enumerate(loop)]
    row = profile.write(tmp_path, results)["phases.csv"].set_index("phase").loc[OVERHEAD]
    assert row.overhead_test.startswith(verdict) and row.seconds_per_step >= 0


def test_a_derived_phase_says_so_and_is_not_measured_alone(tmp_path):
    derived = result(0, 1.0, {("backward", ALL_NETWORKS): 0.5})
    derived.phases[0]["method"] = "derived: the forward with its gradients less the forward"
    table = profile.write(tmp_path, [derived])["phases.csv"]
    row = table.set_index("phase").loc["backward"]
    assert not row.measured_alone and row.method.startswith("derived")
    assert math.isnan(row.low)  # one process: no interval


def layer_rows(seconds: dict) -> list[dict]:
    spec = get_spec("DenseGAN")
    rows = []
    for name in spec.family.networks:
        blocks, shapes = plan(spec, name)
        for index, (block, shape) in enumerate(zip(blocks, shapes, strict=True)):
            if block.weighted:
                for p in LAYER_PASSES:
                    gflop = PASS_FLOPS[p] * block_flops(block, shape) * BATCH_SIZE / 1e9
                    rows.append(
                        {"network": name, "layer": index, "kind": block.kind, "units": block.size, "strides": 1}
                        | {"input_shape": "x".join(map(str, shape)), "pass": p, "gflop": gflop}
                        | {"seconds": seconds.get((name, index, p), 1e-3 * PASS_FLOPS[p])}
                    )
    return rows


def test_layers_are_compared_with_native_and_the_fastest(tmp_path):
    slow = ("discriminator", 1, "forward_backward")
    results = [
        result(0, 0.02, {("backward", ALL_NETWORKS): 0.01}, "jax", "keras", layer_rows({slow: 0.012})),
        result(0, 0.02, {("backward", ALL_NETWORKS): 0.01}, "jax", "native", layer_rows({})),
        result(0, 0.02, {("backward", ALL_NETWORKS): 0.01}, "torch", "keras", layer_rows({slow: 0.002})),
    ]
    layers = profile.write(tmp_path, results)["layers.csv"].set_index(["backend", "impl", "network", "layer", "pass"])
    row = layers.loc[("jax", "keras", *slow)]
    assert row.to_native == pytest.approx(0.012 / 0.003)
    assert row.to_fastest == pytest.approx(0.012 / 0.002)
    assert row.gflop_per_s == pytest.approx(row.gflop / 0.012)
    assert row.ceiling_share == pytest.approx(row.gflop_per_s / 100.0)
    assert layers.loc[("torch", "keras", *slow)].to_fastest == 1
    assert math.isnan(layers.loc[("torch", "keras", *slow)].to_native)  # no torch native in this run


def test_a_gap_is_traced_to_the_operation_that_makes_it(tmp_path):
    from suite.report.step_profile import gaps

    # jax keras: the discriminator's first layer's weight gradient 20 ms slower than torch's, per call
    slow = {("discriminator", 1, "weight_gradient"): 0.022, ("discriminator", 1, "forward_backward"): 0.025}
    results = [
        result(0, 0.1, {("backward", ALL_NETWORKS): 0.05}, "jax", "keras", layer_rows(slow)),
        result(0, 0.055, {("backward", ALL_NETWORKS): 0.02}, "torch", "keras", layer_rows({})),
    ]
    tables = profile.write(tmp_path, results)
    found = gaps(tables["phases.csv"], tables["layers.csv"], tables["step_times.csv"])
    assert len(found) == 1
    row = found.iloc[0]
    assert (row.slower, row.than) == ("jax keras", "torch keras")
    assert row.gap_ms == pytest.approx(45.0)
    # the weight gradient: 22 - 1 ms against 2 - 1 ms, twice a step (D's loss back through the real and the fake
    # batch) = 40 ms
    assert row.operations.startswith("discriminator dense 600/1 on 784: weight gradient 40 ms")
    assert row.shown_share == pytest.approx(40 / 45)


def test_a_profile_folder_alone_makes_a_report(tmp_path):
    results = [
        result(
            p,
            0.02 + 0.001 * p,
            {("forward", "generator"): 0.004, ("backward", ALL_NETWORKS): 0.01},
            b,
            i,
            layer_rows({}),
        )
        for p in range(3)
        for b in ("jax", "torch")
        for i in PROFILE_DEFAULT
    ]
    profile.write(tmp_path / "profile", results)
    out = build_report(tmp_path / "profile")
    page = (out / "report.md").read_text()
    assert "## Where the time goes" in page and "gvbench report" in page
    assert (out / "figures" / "phases.png").stat().st_size > 10_000
    assert (out / "figures" / "layers.png").stat().st_size > 10_000
    assert "No step is 1.3× slower than another setting" in page  # every setting here takes about the same step


def test_profile_command_writes_phases_and_layers_of_every_backend(fixture_env, fixture_data, tmp_path):
    out = tmp_path / "profile"
    args = ["profile", "--models", "DenseGAN", "--processes", "1", "--repeats", "2", "--threads", "1"]
    done = run_gvbench([*args, "--data", str(fixture_data[0]), "--out", str(out)], fixture_env)
    assert done.returncode == 0, done.stderr[-3000:]
    phases, layers = pd.read_csv(out / "phases.csv"), pd.read_csv(out / "layers.csv")
    for (backend, impl), own in phases.groupby(["backend", "impl"]):
        parts = set(zip(own.phase, own.network, strict=True))
        assert parts == {
            ("forward", "generator"),
            ("forward", "discriminator"),
            ("backward", ALL_NETWORKS),
            ("optimizer", ALL_NETWORKS),
            (OVERHEAD, ALL_NETWORKS),
        }, (backend, impl)
        measured = own[own.phase != OVERHEAD]
        assert (measured.seconds_per_step > 0).all() and (measured.alone_s > 0).all(), (backend, impl)
        # the phases are the compiled step (or the loop's, when shorter), shared; with the overhead, the loop's step
        shared = min(own.compiled_step_s.iloc[0], own.step_s.iloc[0])
        assert measured.seconds_per_step.sum() == pytest.approx(shared)
        assert own.seconds_per_step.sum() == pytest.approx(own.step_s.iloc[0])
        overhead = own.set_index("phase").loc[OVERHEAD]
        assert overhead.difference_s == pytest.approx(own.step_s.iloc[0] - own.compiled_step_s.iloc[0])
        assert overhead.seconds_per_step == pytest.approx(max(overhead.difference_s, 0.0))
        backward = own.set_index("phase").loc["backward"]
        assert backward.method.startswith("derived") == (backend == "tensorflow"), backward.method
    assert len(phases.groupby(["backend", "impl"])) == 6
    spec = get_spec("DenseGAN")
    weighted = sum(block.weighted for name in spec.family.networks for block in plan(spec, name)[0])
    assert len(layers) == 6 * weighted * len(LAYER_PASSES)
    assert (layers.seconds > 0).all()
    expected = {
        (name, i): block_flops(block, shape) * BATCH_SIZE / 1e9
        for name in spec.family.networks
        for i, (block, shape) in enumerate(zip(*plan(spec, name), strict=True))
    }
    for _, row in layers.iterrows():
        assert row.gflop == pytest.approx(PASS_FLOPS[row["pass"]] * expected[(row.network, row.layer)])
    assert np.isfinite(layers.ceiling_share).all()
    # each setting's traced epoch: a trace file, and the operations its backend's profiler names
    operations = pd.read_csv(out / "operations.csv")
    for (backend, impl), own in operations.groupby(["backend", "impl"]):
        assert (out / "traces" / own.trace.iloc[0]).stat().st_size > 1000, (backend, impl)
        assert (own.self_s >= 0).all() and own.self_s.sum() > 0.1 * own.step_s.iloc[0], (backend, impl)
    assert len(operations.groupby(["backend", "impl"])) == 6


@pytest.mark.parity
def test_the_patched_keras_trains_as_released_keras_does():
    """`keras_patched` changes how two gradients are computed, not what they are: from the same weights, input and
    cotangent each network's gradients equal Keras' as released up to float32 rounding, the first step's losses
    agree within gvbench's parity tolerance (suite/parity.py), training follows the same path, and its compiled
    networks hold the patch's custom gradients where Keras' do not."""
    env = os.environ | {"KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "patch_probe.py")], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    train, weights = TOLERANCES["train"], TOLERANCES["weights"]
    for model, entry in report.items():
        assert entry["patched_has_custom_gradients"] and not entry["keras_has_custom_gradients"], model
        # The same sums of products in another order: float32 rounding over fan-ins up to 5x5x64 = 1,600 terms,
        # ~1e-6 of the largest gradient (measured <= 1.3e-6); a wrong window, stride or padding is of order 1.
        for network, difference in entry["gradients_max_relative_diff"].items():
            assert difference <= 1e-5, (model, network, difference)
        first_released, first_patched = entry["keras_losses"][0], entry["patched_losses"][0]
        for name, value in first_released.items():
            assert first_patched[name] == pytest.approx(value, rel=train.rtol, abs=train.atol), (model, name)
        # After step 1 the rounding is amplified as in suite/parity.py, and more here: the inputs are unit
        # Gaussians, and Adam steps the pre-normalisation biases, whose gradients are pure rounding, by ~lr in
        # either direction. Measured up to 2.6e-4 relative by step 5 on two CPUs; training itself moves these
        # losses by 5-20% a step, so a wrong gradient leaves this band at once.
        for step, (released, patched) in enumerate(zip(entry["keras_losses"], entry["patched_losses"], strict=True)):
            for name, value in released.items():
                assert patched[name] == pytest.approx(value, rel=2e-3), (model, step, name)
        assert entry["weights_max_diff"] <= weights.atol, model


def test_self_time_leaves_out_what_is_nested_inside():
    events = [
        {"ph": "X", "pid": 1, "tid": 1, "ts": 0, "dur": 100, "name": "step"},
        {"ph": "X", "pid": 1, "tid": 1, "ts": 10, "dur": 30, "name": "conv"},
        {"ph": "X", "pid": 1, "tid": 1, "ts": 15, "dur": 10, "name": "pad"},
        {"ph": "X", "pid": 1, "tid": 1, "ts": 50, "dur": 30, "name": "conv"},
        {"ph": "X", "pid": 1, "tid": 2, "ts": 20, "dur": 40, "name": "conv"},  # another thread: not nested in step
        {"ph": "i", "pid": 1, "tid": 1, "ts": 5, "name": "marker"},  # an instant: no duration
    ]
    found = self_times(events)
    assert found["step"] == pytest.approx((40e-6, 1))
    assert found["conv"] == pytest.approx((90e-6, 3))
    assert found["pad"] == pytest.approx((10e-6, 1))
    assert "marker" not in found


def test_traced_operations_are_shares_of_the_median_step(tmp_path):
    results = [result(p, step, {("backward", ALL_NETWORKS): 0.01}) for p, step in enumerate([0.02, 0.04, 0.03])]
    setting = {"backend": "jax", "impl": "keras", "model": "DenseGAN", "process": 0}
    results[0].operations = [
        setting | {"operation": "dot.1", "self_s": 0.006, "calls": 2.0, "trace": "t"},
        setting | {"operation": "convolution.2", "self_s": 0.012, "calls": 1.0, "trace": "t"},
    ]
    operations = profile.write(tmp_path, results)["operations.csv"]
    assert list(operations.operation) == ["convolution.2", "dot.1"]  # largest first
    assert list(operations.share_of_step) == pytest.approx([0.4, 0.2])  # of the median step, 0.03 s


def test_the_patch_gain_is_a_ratio_over_processes_with_its_verdict(tmp_path):
    from suite.report.step_profile import patch_gains

    results = [result(p, 1.0 + 0.01 * p, {("backward", ALL_NETWORKS): 0.5}, "jax", "keras") for p in range(3)]
    results += [result(p, 0.25 + 0.0025 * p, {("backward", ALL_NETWORKS): 0.1}, "jax", PATCHED) for p in range(3)]
    gains = patch_gains(profile.write(tmp_path, results)["step_times.csv"])
    row = gains.iloc[0]
    assert (row.backend, row.model, row.processes) == ("jax", "DenseGAN", "3 + 3")
    assert row.speed_up == pytest.approx(4.0)
    assert row.released_keras_is == "slower"  # than the patched Keras
    assert "95% CI" in row.interval


def test_the_docs_profile_tables_are_the_shipped_profile(monkeypatch):
    from suite.report.step_profile import BEGIN, END, docs_tables

    folder = ROOT / "results" / "profile"
    if not (folder / "phases.csv").is_file():
        pytest.skip("no shipped profile")
    monkeypatch.chdir(ROOT)
    page = (ROOT / "docs" / "step-profile.md").read_text()
    block = page[page.index(BEGIN) : page.index(END) + len(END)]
    assert block == docs_tables(Path("results/profile")), (
        "run: python -m suite.report.step_profile results/profile docs/step-profile.md"
    )
