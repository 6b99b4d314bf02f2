"""The grid-cell contract: typed and round-tripping; closed schema and dispatch; the backend protocol."""

from __future__ import annotations

import ast
import dataclasses
import math
import re
import types
from pathlib import Path

import pandas as pd
import pytest

from architectures import MODELS, get_spec
from architectures.family import FAMILIES, LOSS_LABELS, Family
from architectures.flops import block_flops
from architectures.spec import BLOCK_KINDS, Block, Layer, network_inputs, output_shape
from runners import backends
from runners.native import kernel_shape, weight_counts
from suite.choices import BACKENDS, Status
from suite.contract import Cell, EpochRecord, Facts, Result, StepRecord, Task
from suite.run import rows
from suite.store.folder import CELLS_CSV, EPOCHS_CSV, append_cell
from suite.store.schema import CELL_COLUMNS, UnknownColumn
from tests.conftest import ROOT, probe_every_backend

CELL = Cell("torch", "DenseGAN", "code", 1e-5, "quick", 7, 3, 2, "native", "on")
BOGUS = types.SimpleNamespace(kind="bogus", size=3, strides=1, weighted=False)
"""A block of a kind no implementation knows (a `Block` itself refuses to be one)."""


def a_result() -> Result:
    epochs = [
        EpochRecord.timed(1, 2.0, 4, 512, {"d_loss": 1.2, "d_loss_last": 1.1, "g_loss": 0.7, "g_loss_last": 0.6}),
        EpochRecord.timed(
            2, 1.0, 4, 512, {"d_loss": float("nan"), "d_loss_last": 1.0, "g_loss": 0.7, "g_loss_last": 1}
        ),
    ]
    facts = Facts(started_at="2026-01-01T00:00:00+00:00", peak_rss_mb=512.5, jit_compile=True, cpu_count=2)
    steps = [StepRecord(1, {"d_loss": 1.3, "g_loss": 0.6}), StepRecord(5, {"d_loss": float("nan"), "g_loss": 0.9})]
    return Result(Status.DIVERGED, "loss NaN", 2, facts, epochs, {"classifier_score": 1.5}, steps)


def test_task_round_trips_through_json():
    task = Task(CELL, "/data/mnist.npz", 1, "samples/x.npz")
    again = Task.from_json(task.to_json())
    assert again == task and again.cell.cell_id == CELL.cell_id and again.cell.batch_size == 128


def test_result_round_trips_through_json_nan_and_status_included():
    result = a_result()
    again = Result.from_json(result.to_json())
    assert again.status is Status.DIVERGED and isinstance(again.facts, Facts)
    assert math.isnan(again.epochs[1].losses["d_loss"]) and math.isnan(again.steps[1].losses["d_loss"])
    again.epochs[1].losses["d_loss"] = result.epochs[1].losses["d_loss"] = 0.0  # NaN != NaN
    again.steps[1].losses["d_loss"] = result.steps[1].losses["d_loss"] = 0.0
    assert again == result


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda raw: raw.replace('"status": "diverged"', '"status": "exploded"'), "exploded"),
        (lambda raw: raw.replace('"facts": {', '"facts": {"gpu_model": "x", '), "gpu_model"),
        (lambda raw: raw.replace('"epoch": 1,', '"epoch": 1, "lr_now": 1,'), "lr_now"),
    ],
)
def test_a_result_with_an_unknown_status_fact_or_epoch_field_is_refused(change, error):
    with pytest.raises((ValueError, TypeError), match=error):
        Result.from_json(change(a_result().to_json()))


def test_facts_cannot_grow_a_field_by_assignment():
    with pytest.raises(AttributeError):
        Facts().gpu_model = "x"


def test_every_fact_is_a_documented_cells_column():
    documented = set(re.findall(r"^\| `([^|]+)` \|", (ROOT / "results" / "README.md").read_text(), re.M))
    documented = {name for cell in documented for name in re.split(r"`, `|`, ", cell)}
    assert {f.name for f in dataclasses.fields(Facts)} <= set(CELL_COLUMNS)
    assert set(CELL_COLUMNS) - {"schema_version"} <= documented, set(CELL_COLUMNS) - documented


def test_statuses_are_the_documented_ones():
    readme = (ROOT / "results" / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `status` |"))
    assert set(re.findall(r"`(\w+)`", row)) - {"status", "diverged_epoch", "error", "log_file", "jit", "auto"} == {
        s.value for s in Status
    }


def test_a_row_with_a_key_that_has_no_column_is_refused_and_nothing_is_written(tmp_path):
    cell_row, epoch_rows, quality_rows, *_ = rows("r1", CELL, a_result(), "s", "l")
    append_cell(tmp_path, cell_row, epoch_rows, quality_rows)
    before = {name: (tmp_path / name).read_bytes() for name in (CELLS_CSV, EPOCHS_CSV)}
    with pytest.raises(UnknownColumn, match="gpu_model"):
        append_cell(tmp_path, cell_row | {"gpu_model": "H100"}, epoch_rows, quality_rows)
    with pytest.raises(UnknownColumn, match="device"):
        append_cell(tmp_path, cell_row, [epoch_rows[0] | {"device": "cpu"}], quality_rows)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert len(pd.read_csv(tmp_path / CELLS_CSV)) == 1


def test_an_epoch_metric_the_schema_does_not_document_is_refused():
    result = a_result()
    result.epochs[0].losses["kl_term"] = 3.0
    with pytest.raises(UnknownColumn, match="kl_term"):
        rows("r1", CELL, result, "s", "l")


def test_cell_rows_carry_every_fact_and_status_as_text(tmp_path):
    append_cell(tmp_path, *rows("r1", CELL, a_result(), "s", "l"))
    row = pd.read_csv(tmp_path / CELLS_CSV).iloc[0]
    assert row.status == "diverged" and row.peak_rss_mb == 512.5 and row.cpu_count == 2 and bool(row.jit_compile)
    assert (row.impl, row.jit, row.seed, row.variant) == ("native", "on", 7, "code")


def test_each_family_fact_lives_in_the_family():
    for name in MODELS:
        spec = get_spec(name)
        assert tuple(network_inputs(spec)) == spec.family.networks
        trained = {net for loss in spec.family.losses for net in loss.trains}
        assert trained == set(spec.family.networks), "together the losses train both networks"
    assert list(LOSS_LABELS) == ["d_loss", "g_loss", "loss"]


def test_a_spec_of_an_unknown_family_is_refused():
    flow = dataclasses.replace(FAMILIES["vae"], name="flow")
    spec = dataclasses.replace(get_spec("DenseVAE"), family=flow)
    assert isinstance(flow, Family)
    with pytest.raises(ValueError, match="unknown model family 'flow'"):
        network_inputs(spec)


def test_an_unknown_block_kind_cannot_be_made():
    with pytest.raises(ValueError, match="unknown block kind 'bogus'"):
        Block("bogus")
    with pytest.raises(ValueError, match="unknown layer kind 'batchnorm'"):
        Layer("batchnorm")  # BatchNorm and activations come from `blocks`, not from a spec's layer list


@pytest.mark.parametrize(
    "dispatch",
    [
        lambda: output_shape(BOGUS, (4,)),
        lambda: block_flops(BOGUS, (4,)),
        lambda: weight_counts(BOGUS),
        lambda: kernel_shape(BOGUS, (4,)),
    ],
    ids=["output_shape", "block_flops", "weight_counts", "kernel_shape"],
)
def test_every_dispatch_on_a_block_kind_refuses_an_unknown_one(dispatch):
    with pytest.raises(ValueError, match="unknown (weighted )?block kind 'bogus'"):
        dispatch()


def test_every_block_kind_is_built_by_every_dispatch():
    for kind in BLOCK_KINDS:
        block = Block(kind, size=(4,) if kind == "reshape" else 4, strides=1)
        shape = (2, 2) if kind == "reshape" else (4, 4, 1)
        assert output_shape(block, shape) and block_flops(block, shape) >= 0 and weight_counts(block)[0] >= 0


def test_a_module_without_the_backend_contract_is_refused():
    module = types.ModuleType("runners.backends.mxnet")
    module.TrainStep = type("TrainStep", (), {"train_step": lambda self, data: {}})
    module.configure_threads = lambda threads: ""
    lacks = "lacks version, cache_compilations, phases, compiled_step, layer_passes, traced"
    with pytest.raises(TypeError, match=lacks):
        backends.check(module)
    module.version = lambda: "1.0"
    module.cache_compilations = lambda folder: None
    module.phases = lambda model, calls, x, noise: []
    module.compiled_step = lambda model, x: None
    module.layer_passes = lambda layer, x: {}
    with pytest.raises(TypeError, match="lacks traced$"):
        backends.check(module)
    module.traced = lambda run, folder, name: (folder, {})
    backends.check(module)
    module.TrainStep = type("TrainStep", (), {})
    with pytest.raises(TypeError, match="lacks TrainStep.train_step"):
        backends.check(module)
    with pytest.raises(ValueError, match="unknown backend 'mxnet'"):
        backends.load("mxnet")


@pytest.fixture(scope="module")
def contract_probes() -> dict[str, dict]:
    return probe_every_backend("contract_probe.py")


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_module_provides_the_contract(contract_probes, backend):
    found = contract_probes[backend]
    assert found["backend_ok"], found
    assert found["version"] and found["threads"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_builds_every_block_and_refuses_an_unknown_one(contract_probes, backend):
    found = contract_probes[backend]
    assert found["keras_layer"].startswith("unknown block kind 'bogus'")
    assert found["native_apply"].startswith("unknown block kind 'bogus'")


def layout(path: Path) -> tuple[list[str], list[str]]:
    """The top-level names a module defines, in order, and the methods of its `Model`."""
    tree = ast.parse(path.read_text())
    names, methods = [], []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names += [target.id for target in node.targets if isinstance(target, ast.Name)]
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.append(node.name)
            if node.name == "Model":
                methods = [item.name for item in node.body if isinstance(item, ast.FunctionDef)]
    return names, methods


def test_the_native_baselines_share_one_layout():
    shared = ["ACTIVATIONS", "bce_with_logits", "apply", "Model"]
    shared_methods = ["__init__", "_losses", "step", "losses", "get_weights"]
    for backend in BACKENDS:
        names, methods = layout(ROOT / "runners" / "native" / f"{backend}.py")
        assert [n for n in names if n in shared] == shared, f"{backend}: {names}"
        assert [m for m in methods if m in shared_methods] == shared_methods, f"{backend}: {methods}"
