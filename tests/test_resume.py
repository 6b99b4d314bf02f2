"""A `paper` cell goes on from its last finished epoch after an interruption, and ends as if it had not stopped."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from runners.resume_state import STATE_FILE, STATE_SCHEMA, CheckpointMismatch, State
from suite.contract import EpochRecord
from suite.run import RESUME_FOLDER
from suite.store.folder import read_results
from tests.conftest import probe_every_backend, run_gvbench
from tests.test_faults import environment


@pytest.fixture(scope="module")
def restored() -> dict[str, dict]:
    """What `tests/resume_probe.py` reports under each backend."""
    return probe_every_backend("resume_probe.py")


@pytest.mark.parametrize("model", ["CNNGAN", "CNNVAE"])
def test_a_restored_model_trains_on_exactly_as_the_one_that_was_saved(restored, model):
    # CNNGAN draws its noise from the model's seed generator, CNNVAE (`code`) applies Adam twice a step: a restore
    # that missed the generator's state, an optimizer slot or the step counter would part the two models' next epoch.
    for backend, found in restored.items():
        probe = found[model]
        assert probe["equal_after_restore"] == probe["variables"], backend
        # exactly 0: the same program on the same batches from equal state is bit-for-bit the same on a CPU
        assert probe["loss_diff"] == 0.0 and probe["weight_diff"] == 0.0, (backend, probe)
        assert probe["epochs_restored"] == [1, 2, 3] and probe["resumed"]["resumed_epochs"] == [3], backend
        assert probe["resumed"]["started_at"] == "t0", "the cell keeps the start of its first process"
        assert probe["files"] == ["epoch-0002.weights.h5", "state.json"], "one weights file: the last epoch's"
        assert "holds a checkpoint of cell, not of another cell" in probe["mismatch"]


def paper_command(out, data) -> list[str]:
    return [
        "run", "--backend", "torch", "--models", "DenseVAE", "--lrs", "1e-4", "--profile", "paper",
        "--threads", "2", "--data", str(data), "--out", str(out), "--verbose", "0",
    ]  # fmt: skip


def test_a_killed_paper_cell_resumes_from_its_last_epoch_on_the_next_run(tmp_path, fixture_data):
    args = paper_command(tmp_path, fixture_data[0])
    killed = run_gvbench(args, environment(fixture_data, "kill:DenseVAE:3"))
    assert killed.returncode == 1, killed.stderr[-2000:]
    state = tmp_path / RESUME_FOLDER / "torch.DenseVAE.paper.lr0.0001.paper.s0.e50"
    assert (state / "state.json").exists() and (state / "epoch-0003.weights.h5").exists()

    rerun = run_gvbench(args, environment(fixture_data))
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    cells, epochs = read_results(tmp_path)
    assert list(cells.status) == ["failed", "ok"]
    ok = cells.iloc[-1]
    assert ok.resumed_epochs == "4" and ok.epochs_done == 50
    assert ok.steady_epochs == 48, "epochs 2..50 but the one that compiled again after the resume"
    started, rerun_at = pd.Timestamp(ok.started_at), pd.Timestamp(ok.run_id[:16])
    assert started < rerun_at, "the cell started when its first process did, before the rerun"
    mine = epochs[epochs.run_id == ok.run_id]
    assert sorted(mine.epoch.unique()) == list(range(1, 51)), "every epoch once: 1-3 kept, 4-50 trained on"
    loss = mine[mine.metric == "loss"].set_index("epoch").value
    assert loss[4] < loss[1], "epoch 4 went on from epoch 3's weights, not from new ones"
    assert not state.exists(), "a written cell leaves no state behind"
    steady = mine[(mine.metric == "epoch_time_s") & ~mine.epoch.isin([1, 4])].value
    assert ok.steady_epoch_median_s == pytest.approx(steady.median())
    assert pd.notna(ok.cell_wall_s)


def a_state(**changes) -> dict:
    record = EpochRecord(1, 2.0, 4, 256.0, {"loss": 1.5})
    state = State("cell", 1, "epoch-0001.weights.h5", [record], 2.5, "t0", [], [1, 2])
    return json.loads(state.to_json()) | changes


def test_the_state_file_round_trips_typed_with_its_schema_version(tmp_path):
    path = tmp_path / STATE_FILE
    path.write_text(json.dumps(a_state()))
    state = State.read(path)
    assert state.schema_version == STATE_SCHEMA and state.epochs[0].losses == {"loss": 1.5}
    assert isinstance(state.epochs[0], EpochRecord) and state.resumed_epochs == []


@pytest.mark.parametrize(
    ("state", "refusal"),
    [
        (a_state(schema_version=None), "schema version None"),
        (a_state(schema_version=2), "schema version 2"),
        (a_state(colour="red"), "not a checkpoint state this gvbench reads"),
        ({k: v for k, v in a_state().items() if k != "weights"}, "not a checkpoint state this gvbench reads"),
        ("[1, 2]", "schema version None"),
    ],
)
def test_a_state_file_of_another_version_or_with_an_unknown_field_is_refused_in_one_line(tmp_path, state, refusal):
    path = tmp_path / STATE_FILE
    path.write_text(state if isinstance(state, str) else json.dumps(state))
    with pytest.raises(CheckpointMismatch, match=refusal) as refused:
        State.read(path)
    assert "\n" not in str(refused.value) and "remove" in str(refused.value)
