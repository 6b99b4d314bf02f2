"""Bad input: exit code 2 and one line naming what is wrong, before any training."""

from __future__ import annotations

import os
import sys

import pytest

from suite.cli import main
from suite.results import CELLS_CSV


def fails_with(capsys, argv: list[str], *fragments: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in err, err


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["--backend", "mxnet"], ["invalid choice: 'mxnet'", "tensorflow"]),
        (["--backend", "jax", "--models", "BigGAN"], ["invalid choice: 'BigGAN'", "CNNGAN"]),
        (["--backend", "jax", "--variant", "book"], ["invalid choice: 'book'", "paper"]),
        (["--backend", "jax", "--profile", "huge"], ["invalid choice: 'huge'", "smoke"]),
        (["--backend", "jax", "--lrs", "-0.001"], ["'-0.001' is not a positive number"]),
        (["--backend", "jax", "--lrs=-1e-4"], ["'-1e-4' is not a positive number"]),
        (["--backend", "jax", "--lrs", "0"], ["'0' is not a positive number"]),
        (["--backend", "jax", "--lrs", "fast"], ["'fast' is not a positive number"]),
        (["--backend", "jax", "--lrs", "nan"], ["'nan' is not a positive number"]),
        (["--backend", "jax", "--epochs", "0"], ["'0' is not an integer >= 1"]),
        (["--backend", "jax", "--threads", "0"], ["'0' is not an integer >= 1"]),
        (["--backend", "jax", "--epochs", "2.5"], ["'2.5' is not an integer >= 1"]),
        (["--backend", "jax", "--cell-timeout", "0"], ["'0' is not a positive number"]),
        (["--backend", "jax", "--cell-timeout", "inf"], ["'inf' is not a positive number"]),
        (["--backend", "jax", "--executor", "slurm"], ["invalid choice: 'slurm'", "ray"]),
        (["--backend", "jax", "--cpus-per-cell", "0"], ["'0' is not an integer >= 1"]),
    ],
)
def test_bad_arguments(capsys, argv, fragments):
    fails_with(capsys, ["run", *argv], *fragments)


def test_missing_data_file(capsys, tmp_path):
    fails_with(
        capsys, ["run", "--backend", "jax", "--data", str(tmp_path / "x.npz"), "--out", str(tmp_path)], "does not exist"
    )


def test_corrupt_data_file(capsys, tmp_path, fixture_env):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    fails_with(
        capsys,
        ["run", "--backend", "jax", "--data", str(bad), "--out", str(tmp_path / "r")],
        str(bad),
        "not a readable .npz",
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_out(capsys, tmp_path, fixture_env, fixture_data):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    fails_with(
        capsys,
        ["run", "--backend", "jax", "--data", str(fixture_data[0]), "--out", str(locked)],
        "cannot write to --out",
    )


def test_out_that_is_a_file(capsys, tmp_path, fixture_env, fixture_data):
    target = tmp_path / "file"
    target.write_text("x")
    fails_with(
        capsys,
        ["run", "--backend", "jax", "--data", str(fixture_data[0]), "--out", str(target)],
        "cannot write to --out",
    )


def test_results_of_another_schema(capsys, tmp_path, fixture_env, fixture_data):
    (tmp_path / CELLS_CSV).write_text("a,b\n1,2\n")
    fails_with(
        capsys,
        ["run", "--backend", "jax", "--data", str(fixture_data[0]), "--out", str(tmp_path)],
        "not written by gvbench",
    )


def test_truncated_data_file(capsys, tmp_path, fixture_env, fixture_data):
    cut = tmp_path / "cut.npz"
    cut.write_bytes(fixture_data[0].read_bytes()[:5000])
    fails_with(capsys, ["run", "--backend", "jax", "--data", str(cut), "--out", str(tmp_path / "r")], str(cut))
    assert not (tmp_path / "r" / CELLS_CSV).exists()


def test_data_with_a_wrong_checksum(capsys, tmp_path, fixture_env, fixture_data):
    from suite.data import read_npz, save_npz

    arrays = dict(read_npz(fixture_data[0]))
    arrays["x_train"] = arrays["x_train"].copy()
    arrays["x_train"][0, 0, 0] ^= 1
    changed = tmp_path / "changed.npz"
    save_npz(arrays, changed)
    fails_with(
        capsys,
        ["run", "--backend", "jax", "--data", str(changed), "--out", str(tmp_path)],
        "x_train",
        "does not match the MNIST checksum",
    )


def test_results_of_another_schema_version(capsys, tmp_path, fixture_env, fixture_data):
    from suite.schema import CELL_COLUMNS

    (tmp_path / CELLS_CSV).write_text(",".join(CELL_COLUMNS) + "\n" + "0" + "," * (len(CELL_COLUMNS) - 1) + "\n")
    fails_with(
        capsys,
        ["run", "--backend", "jax", "--data", str(fixture_data[0]), "--out", str(tmp_path)],
        "schema version 0",
        "use a new --out folder",
    )


def test_ray_executor_without_ray_says_how_to_install_it(capsys, tmp_path, fixture_env, fixture_data, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    data, _, _ = fixture_data
    argv = ["run", "--backend", "torch", "--executor", "ray", "--data", str(data), "--out", str(tmp_path)]
    fails_with(capsys, argv, "--executor ray needs Ray", "pip install 'gvbench[ray]'")
    assert not (tmp_path / CELLS_CSV).exists()
