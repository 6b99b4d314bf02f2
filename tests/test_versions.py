"""`gvbench versions`: version sets installed in front of the environment, run in rounds, every step recorded."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest

from suite.choices import Status, StepStatus
from suite.contract import Cell, EpochRecord, Facts, Result
from suite.history import history
from suite.report.history_page import order_text
from suite.run import rows
from suite.store.folder import ResultsError, append_cell
from suite.store.version_steps import VERSIONS_CSV, VERSIONS_SCHEMA, Step, append_steps, read_steps
from suite.versions import INSTALLED, overlay, plan, requirements
from tests.conftest import run_gvbench
from tests.test_faults import environment


def test_rounds_go_forward_then_backward_so_drift_falls_alike_on_every_set():
    order = plan(["A", "B", "C"], 3)
    assert [s for _, _, s in order] == list("ABCCBAABC")
    assert [p for _, p, _ in order] == list(range(1, 10))
    # under a drift linear in time, every set's mean position is the same after an even number of rounds
    two = plan(["A", "B", "C"], 2)
    assert len({sum(p for _, p, s in two if s == name) for name in "ABC"}) == 1


def test_a_set_is_its_requirements_and_installs_once_whatever_their_order(tmp_path):
    assert requirements("keras==3.13.2, jax==0.7.2") == ["keras==3.13.2", "jax==0.7.2"]
    assert requirements(INSTALLED) == []
    with pytest.raises(ValueError, match="names no package"):
        requirements(" , ")
    assert overlay("keras==3.13.2,jax==0.7.2", tmp_path) != overlay("keras==3.13.2,jax==0.7.1", tmp_path)
    same = overlay("jax==0.7.2,keras==3.13.2", tmp_path).name.split("-")[-1]
    assert overlay("keras==3.13.2,jax==0.7.2", tmp_path).name.split("-")[-1] == same


def write_run(out, run_id: str, keras: str, step_s: float) -> None:
    epochs = [EpochRecord(e, 4 * step_s, 4, 512 / (4 * step_s), {"loss": 1.0}) for e in (1, 2, 3)]
    for seed in range(3):
        facts = Facts(keras_version=keras, backend_version="2.21.0", started_at=f"2026-01-01T00:0{len(run_id)}")
        cell = Cell("tensorflow", "DenseVAE", "paper", 1e-4, "smoke", seed, 3, 2)
        append_cell(out, *rows(run_id, cell, Result(Status.OK, facts=facts, epochs=epochs), "s.npz", "l.log"))


def test_the_runs_of_one_set_are_one_point_and_their_spread_is_the_drift(tmp_path):
    write_run(tmp_path, "a1", "3.14.0", 0.010)
    write_run(tmp_path, "b1", "3.15.1", 0.010)
    write_run(tmp_path, "b2", "3.15.1", 0.011)
    write_run(tmp_path, "a2", "3.14.0", 0.0105)
    points, changes = history([tmp_path])
    assert list(points.keras_version) == ["3.14.0", "3.15.1"] and list(points.runs) == [2, 2]
    assert points.run_spread.tolist() == pytest.approx([1.05, 1.10])
    assert list(points.processes) == [6, 6], "a point holds the cells of all its runs"
    assert [len(r) for r in points.runs_s] == [2, 2], "and is read over its rounds, each one value"
    text = order_text(["keras 3.14.0, tensorflow 2.21.0", "keras 3.15.1, tensorflow 2.21.0"], points)
    assert "1.05× to 1.1× apart" in text


def test_sets_that_do_not_install_are_recorded_and_the_others_run_in_rounds(tmp_path, fixture_data):
    out, cache = tmp_path / "out", tmp_path / "cache"
    missing = str(tmp_path / "no-such-package-1.0-py3-none-any.whl")
    args = ["versions", "--sets", INSTALLED, "keras==3.13.2", missing, "--rounds", "2", "--cache", str(cache), "--"]
    args += ["run", "--backend", "torch", "--models", "DenseVAE", "--profile", "smoke", "--lrs", "1e-4"][1:]
    args += ["--threads", "2", "--data", str(fixture_data[0]), "--out", str(out), "--verbose", "0"]
    done = run_gvbench(args, environment(fixture_data))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    steps = pd.read_csv(out / "versions.csv", dtype=str)
    refused = steps[steps.set == missing].iloc[0]
    assert refused.status == "not installed" and refused.reason.startswith("pip:")
    ran = steps.dropna(subset=["position"])
    assert list(ran.set) == [INSTALLED, "keras==3.13.2", "keras==3.13.2", INSTALLED]
    assert (ran.status == "ran").all() and ran.run_id.nunique() == 4
    cells = pd.read_csv(out / "cells.csv")
    assert (cells.status == "ok").all() and len(cells) == 4
    assert sorted(ran.run_id) == sorted(cells.run_id), "each step names the run its set made (handed over in a file)"
    assert sorted(cells.keras_version.unique()) == ["3.13.2", "3.15.1"], "the set's Keras replaced the environment's"
    page = run_gvbench(["history", str(out)], environment(fixture_data))
    assert page.returncode in (0, 1), page.stderr[-2000:]
    html = (out / "history" / "history.html").read_text()
    assert "not installed" in html and "no-such-package" in html
    assert "apart (largest ÷ smallest run median" in html


def test_bad_versions_commands_say_what_is_wrong_before_anything_installs(tmp_path, capsys):
    from suite.cli import main

    cache = str(tmp_path / "cache")
    assert main(["versions", "--sets", INSTALLED, "--cache", cache]) == 2
    assert "give gvbench run's options after --" in capsys.readouterr().err
    assert main(["versions", "--sets", " , ", "--cache", cache, "--", "--backend", "jax", "--out", str(tmp_path)]) == 2
    assert "names no package" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main(["versions", "--sets", INSTALLED, "--cache", cache, "--", "--backend", "jaxx", "--out", str(tmp_path)])
    assert stopped.value.code == 2 and "invalid choice: 'jaxx'" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists(), "nothing installed"


def test_versions_csv_rows_are_typed_and_carry_their_schema_version(tmp_path):
    path = tmp_path / VERSIONS_CSV
    append_steps(path, [Step("jax==0.6.2", 1, 1, StepStatus.RAN, run_id="r1", at="2026-12-05T01:43:10+00:00")])
    append_steps(path, [Step("jax==0.1", None, None, StepStatus.NOT_INSTALLED, reason="pip: no such version")])
    assert pd.read_csv(path).schema_version.tolist() == [VERSIONS_SCHEMA] * 2
    first, second = read_steps(path)
    assert first.status is StepStatus.RAN and first.round == 1 and first.reason is None
    assert second.round is None and second.status is StepStatus.NOT_INSTALLED


def test_a_versions_csv_of_before_its_schema_version_is_read_and_upgraded_at_the_next_append(tmp_path):
    path = tmp_path / VERSIONS_CSV
    header = "set,round,position,status,reason,run_id,keras_version,backend_version,at\n"
    path.write_text(header + "installed,1,1,ran,,r1,3.15.1,jax 0.6.2,2026-12-05T01:43:10+00:00\n")
    assert [s.schema_version for s in read_steps(path)] == [1]
    append_steps(path, [Step("installed", 2, 2, StepStatus.RAN)])
    assert [s.schema_version for s in read_steps(path)] == [VERSIONS_SCHEMA] * 2


@pytest.mark.parametrize(
    ("row", "refusal"),
    [
        (
            "installed,1,1,finished,,r1,,,,2",
            "has a step of status 'finished', not one of not installed, does not import, ran",
        ),
        ("installed,1,1,ran,,r1,,,,7", "schema version 7"),
    ],
)
def test_a_versions_csv_with_an_unknown_status_or_version_is_refused_in_one_line(tmp_path, row, refusal):
    path = tmp_path / VERSIONS_CSV
    path.write_text(",".join(f.name for f in dataclasses.fields(Step)) + "\n" + row + "\n")
    with pytest.raises(ResultsError, match=re.escape(refusal)) as refused:
        read_steps(path)
    assert "\n" not in str(refused.value)


def test_a_versions_csv_with_a_column_too_many_is_refused(tmp_path):
    path = tmp_path / VERSIONS_CSV
    path.write_text("set,round,position,status,reason,run_id,keras_version,backend_version,at,colour\n")
    with pytest.raises(ResultsError, match="differ in \\['colour'\\]"):
        read_steps(path)
