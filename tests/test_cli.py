"""Bad input: exit code 2 and one line naming what is wrong, before any training."""

from __future__ import annotations

import errno
import io
import os
import socket
import sys
import time

import pytest

from suite.choices import BACKENDS, Status
from suite.cli import build_parser, main, make_cells, share_cpus
from suite.contract import EpochRecord, Facts, Result
from suite.executor import LocalExecutor
from suite.grid import ordered
from suite.store.folder import CELLS_CSV
from tests.conftest import run_gvbench


def fails_with(capsys, argv: list[str], *fragments: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    err = lines[0]
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
        (["--backend", "jax", "--lrs", "fast"], ["'fast' is not a positive number", "or paper"]),
        (["--backend", "jax", "--lrs", "nan"], ["'nan' is not a positive number"]),
        (["--backend", "jax", "--epochs", "0"], ["'0' is not an integer >= 1"]),
        (["--backend", "jax", "--threads", "0"], ["'0' is not an integer >= 1"]),
        (["--backend", "jax", "--epochs", "2.5"], ["'2.5' is not an integer >= 1"]),
        (["--backend", "jax", "--cell-timeout", "0"], ["'0' is not a positive number"]),
        (["--backend", "jax", "--cell-timeout", "inf"], ["'inf' is not a positive number"]),
        (["--backend", "jax", "--executor", "slurm"], ["invalid choice: 'slurm'", "ray"]),
        (["--backend", "jax", "--cpus-per-cell", "0"], ["'0' is not an integer >= 1"]),
        (["--backend", "jax", "--seed", "-1"], ["'-1' is not a seed", "0 to 2**32 - 1"]),
        (["--backend", "jax", "--seed", str(2**32)], [f"'{2**32}' is not a seed"]),
        (["--backend", "jax", "--seed", "1.5"], ["'1.5' is not a seed"]),
    ],
)
def test_bad_arguments(capsys, argv, fragments):
    fails_with(capsys, ["run", *argv], *fragments)


@pytest.mark.parametrize("option", ["--out", "--data"])
@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_path_is_refused_before_anything_is_written(capsys, tmp_path, monkeypatch, option, empty):
    monkeypatch.chdir(tmp_path)
    fails_with(capsys, ["run", "--backend", "jax", option, empty], f"argument {option}: {empty!r} is an empty path")
    assert not list(tmp_path.iterdir()), "nothing is written into the working folder"


def test_a_folder_given_as_data_file_says_it_is_a_folder(capsys, tmp_path, fixture_env):
    fails_with(
        capsys,
        ["run", "--backend", "jax", "--data", str(tmp_path), "--out", str(tmp_path / "r")],
        f"data file {tmp_path} is a folder, not a file",
    )
    assert not (tmp_path / "r" / CELLS_CSV).exists()


class FullDisk(io.RawIOBase):
    """A file whose every write fails as a full disk's does."""

    def __init__(self, fd: int):
        super().__init__()
        self.fd = fd

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        if not self.closed:
            os.close(self.fd)
        super().close()


def test_a_full_disk_stops_the_grid_in_one_line_and_changes_no_file(
    capsys, tmp_path, fixture_data, fixture_env, monkeypatch
):
    """The second cell's rows meet a full disk: one line, exit 3, the first cell's files byte for byte, no temp file."""
    out, snapshot = tmp_path / "r", {}
    real_fdopen = os.fdopen

    def finished(self, jobs, workdir, stop):
        for i, job in enumerate(jobs):
            if i == 1:  # the first cell is written: remember its files, then fill the disk
                snapshot.update({p.name: p.read_bytes() for p in out.iterdir() if p.is_file()})
                monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: FullDisk(fd))
            epochs = [EpochRecord(e, 1.0, 4, 512.0, {"loss": 1.0 / e}) for e in (1, 2)]
            yield job, Result(Status.OK, facts=Facts(started_at="2026-01-01"), epochs=epochs)
        monkeypatch.setattr(os, "fdopen", real_fdopen)

    monkeypatch.setattr(LocalExecutor, "run_all", finished)
    argv = [
        "run",
        "--backend",
        "jax",
        "--models",
        "DenseVAE",
        "CNNVAE",
        "--lrs",
        "1e-4",
        "--profile",
        "smoke",
        "--order",
        "sequential",
    ]
    code = main([*argv, "--jobs", "1", "--threads", "1", "--data", str(fixture_data[0]), "--out", str(out)])
    monkeypatch.setattr(os, "fdopen", real_fdopen)
    assert code == 3
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"could not write results to {out} (No space left on device)" in lines[0]
    assert "jax.CNNVAE.paper.lr0.0001.smoke.s0.e2" in lines[0] and "untouched" in lines[0], lines[0]
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == snapshot
    assert not list(out.rglob("*.tmp")), "no temporary file is left"


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
    from suite.mnist import read_npz, save_npz

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
    from suite.store.schema import CELL_COLUMNS

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


def test_the_grid_refuses_more_threads_than_usable_cpus_before_anything_runs(tmp_path, fixture_env, fixture_data):
    """The issue's command, as a user types it: one line, exit 2, no folder content, in well under a cell's time."""
    out = tmp_path / "r"
    argv = ["run", "--backend", "jax", "--models", "DenseVAE", "--lrs", "1e-4", "--profile", "smoke"]
    done = run_gvbench([*argv, "--threads", "100", "--data", str(fixture_data[0]), "--out", str(out)], fixture_env)
    cpus = len(os.sched_getaffinity(0))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"gvbench: error: --threads 100 exceeds the {cpus} CPUs this process may use; pass --threads {cpus} or fewer"
    )
    assert not out.exists() and "cells on" not in done.stdout
    again = run_gvbench([*argv, "--seed", "-1", "--out", str(out)], fixture_env)
    assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1 and "not a seed" in again.stderr
    assert not out.exists()


def test_more_threads_than_cpus_per_ray_cell_is_refused(capsys, tmp_path, fixture_env, fixture_data):
    pytest.importorskip("ray", reason="Ray is not installed")
    argv = ["run", "--backend", "jax", "--executor", "ray", "--threads", "2", "--cpus-per-cell", "1"]
    fails_with(capsys, [*argv, "--data", str(fixture_data[0]), "--out", str(tmp_path)], "exceeds --cpus-per-cell 1")


@pytest.mark.parametrize("address", ["127.0.0.1:notaport", "127.0.0.1", "127.0.0.1:70000", "ray://:6379", "a b:1"])
def test_a_malformed_ray_address_is_refused_at_once(address):
    from suite.ray_executor import RayUnavailable, check_address

    with pytest.raises(RayUnavailable, match="is not HOST:PORT"):
        check_address(address)


def test_a_ray_address_where_nothing_listens_is_refused_at_once():
    from suite.ray_executor import RayUnavailable, check_address

    with socket.socket() as s:  # a loopback port that was free a moment ago and is closed now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RayUnavailable, match=f"no Ray answers at --ray-address 127.0.0.1:{port}"):
        check_address(f"127.0.0.1:{port}")


def test_the_ray_executor_refuses_a_malformed_address_in_one_line_within_30_s(tmp_path, fixture_env, fixture_data):
    pytest.importorskip("ray", reason="Ray is not installed")
    argv = ["run", "--backend", "jax", "--models", "DenseVAE", "--lrs", "1e-4", "--profile", "smoke"]
    argv += ["--executor", "ray", "--ray-address", "127.0.0.1:notaport", "--data", str(fixture_data[0])]
    start = time.monotonic()
    done = run_gvbench([*argv, "--out", str(tmp_path / "r")], fixture_env, timeout=60)
    assert time.monotonic() - start < 30
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "--ray-address '127.0.0.1:notaport' is not HOST:PORT" in done.stderr
    assert not (tmp_path / "r" / CELLS_CSV).exists()


def test_seeds_run_every_cell_once_per_seed_and_seed_is_the_same_option():
    argv = ["run", "--backend", "all", "--models", "DenseGAN", "CNNVAE", "--lrs", "1e-4"]
    cells = make_cells(build_parser().parse_args([*argv, "--seeds", "0", "1", "2", "1"]))
    assert len(cells) == 3 * 2 * 3, "backends × models × distinct seeds"
    assert {(c.model, c.seed) for c in cells if c.backend == "jax"} == {
        (m, s) for m in ("DenseGAN", "CNNVAE") for s in range(3)
    }
    assert [c.seed for c in make_cells(build_parser().parse_args([*argv, "--seed", "7"]))] == [7] * 6
    assert {c.epochs for c in cells if c.model == "CNNVAE"} == {5} and {
        c.epochs for c in cells if c.model == "DenseGAN"
    } == {40}


def test_paper_lrs_give_each_model_its_authors_rate_once():
    argv = ["run", "--backend", "tensorflow", "--models", "DenseGAN", "DenseGAN-Deep", "CNNVAE", "--lrs", "paper"]
    cells = make_cells(build_parser().parse_args(argv))
    assert [(c.model, c.lr) for c in cells] == [("DenseGAN", 1e-5), ("DenseGAN-Deep", 1e-6), ("CNNVAE", 1e-4)]
    both = make_cells(build_parser().parse_args([*argv, "1e-4", "1e-5"]))
    assert [(c.model, c.lr) for c in both] == [
        ("DenseGAN", 1e-5),
        ("DenseGAN", 1e-4),
        ("DenseGAN-Deep", 1e-6),
        ("DenseGAN-Deep", 1e-4),
        ("DenseGAN-Deep", 1e-5),
        ("CNNVAE", 1e-4),
        ("CNNVAE", 1e-5),
    ], "a rate named twice (paper and 1e-4 for CNNVAE, 1e-5 for DenseGAN) runs once"


def test_lockstep_marks_every_cell_and_refuses_what_it_cannot_feed(capsys, tmp_path):
    argv = ["run", "--backend", "all", "--models", "DenseGAN", "--lrs", "1e-4", "--seeds", "0", "1", "--lockstep"]
    cells = make_cells(build_parser().parse_args(argv))
    assert len(cells) == 6 and {c.mode for c in cells} == {"lockstep"}
    assert len({c.cell_id for c in cells}) == 6 and all(c.cell_id.endswith(".lockstep") for c in cells)
    out = ["--out", str(tmp_path / "r")]
    fails_with(capsys, [*argv, "--impl", "native", *out], "--lockstep trains the Keras models only")
    # The code variant's GANs draw 128 noise rows per step, also for the paper profile's last batch of 96 images.
    code = [*argv, "--variant", "code", "--profile", "paper", *out]
    fails_with(capsys, code, "cannot feed DenseGAN (code) its fixed 128 noise rows in the last batch of 96 images")
    assert not (tmp_path / "r").exists(), "nothing is written"


def test_keras2_cells_run_on_tensorflow_alone_and_are_refused_elsewhere(capsys, tmp_path):
    argv = ["run", "--models", "DenseGAN", "CNNVAE", "--lrs", "1e-4", "--seeds", "0", "1"]
    cells = make_cells(build_parser().parse_args([*argv, "--backend", "all", "--impl", "keras", "tf_keras"]))
    assert len(cells) == 2 * 2 * (3 + 1), "Keras 3 on every backend, Keras 2 on TensorFlow alone"
    keras2 = [c for c in cells if c.impl == "tf_keras"]
    assert {c.backend for c in keras2} == {"tensorflow"} and all(c.cell_id.endswith(".tf_keras") for c in keras2)
    assert keras2[0].environment == {"KERAS_BACKEND": "tensorflow", "TF_USE_LEGACY_KERAS": "1"}
    assert "TF_USE_LEGACY_KERAS" not in cells[0].environment
    placed = ordered(cells, "interleaved")
    blocks = {p.block for p in placed if p.cell.impl == "tf_keras"}
    assert all(len([p for p in placed if p.block == b]) == 4 for b in blocks), "Keras 2 joins its Keras 3 cells' block"
    both = make_cells(build_parser().parse_args([*argv, "--backend", "torch", "--impl", "both"]))
    assert {c.impl for c in both} == {"keras", "native"}
    out = ["--out", str(tmp_path / "r")]
    for backend in (["torch"], ["jax"], ["all"], ["tensorflow", "torch"]):
        refused = [*argv, "--backend", *backend, "--impl", "tf_keras", *out]
        fails_with(capsys, refused, "--impl tf_keras (Keras 2) runs on tensorflow only", "pass --backend tensorflow")
    fails_with(capsys, [*argv, "--backend", "jax", "--impl", "keras", "tf_keras", *out], "runs on tensorflow only")
    target = [*argv, "--backend", "tensorflow", "--impl", "tf_keras", "--profile", "target", *out]
    fails_with(capsys, target, "--profile target trains the Keras 3 models only; drop --impl tf_keras")
    assert not (tmp_path / "r").exists(), "nothing is written"


CPUS = len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("argv", "jobs", "threads"),
    [
        (["--profile", "smoke"], CPUS, 1),
        (["--profile", "quick"], 1, CPUS),
        (["--profile", "smoke", "--threads", str(CPUS)], 1, CPUS),
        (["--profile", "smoke", "--jobs", "1"], 1, CPUS),
        (["--profile", "quick", "--jobs", str(CPUS)], CPUS, 1),
        (["--profile", "smoke", "--executor", "ray"], 1, CPUS),
    ],
)
def test_smoke_runs_a_cell_per_cpu_and_other_profiles_one_cell_on_every_cpu(argv, jobs, threads):
    args = build_parser().parse_args(["run", "--backend", "jax", *argv])
    share_cpus(args)
    assert (args.jobs, args.threads) == (jobs, threads)
    assert {cell.threads for cell in make_cells(args)} == {threads}


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--jobs", str(CPUS + 1)], f"--jobs {CPUS + 1} × --threads 1 exceeds the {CPUS} CPUs"),
        (["--jobs", "2", "--threads", str(CPUS)], f"--jobs 2 × --threads {CPUS} exceeds the {CPUS} CPUs"),
        (["--jobs", "2", "--executor", "ray"], "--jobs is the local executor's"),
    ],
)
def test_cells_that_would_share_cpus_are_refused(capsys, tmp_path, fixture_data, argv, fragment):
    argv = ["run", "--backend", "torch", "--profile", "smoke", *argv, "--data", str(fixture_data[0])]
    fails_with(capsys, [*argv, "--out", str(tmp_path / "r")], fragment, "pass fewer" if "×" in fragment else "Ray")
    assert not (tmp_path / "r").exists()


def test_backends_are_interleaved_in_randomised_blocks_that_a_resumed_run_keeps():
    argv = ["run", "--backend", "all", "--models", "DenseGAN", "CNNVAE", "--lrs", "1e-4", "--seeds", "0", "1", "2"]
    cells = make_cells(build_parser().parse_args(argv))
    placed = ordered(cells, "interleaved")
    assert [p.position for p in placed] == list(range(1, 19)) and sorted(p.cell.cell_id for p in placed) == sorted(
        c.cell_id for c in cells
    )
    for block in {p.block for p in placed}:
        mine = [p for p in placed if p.block == block]
        assert sorted(p.cell.backend for p in mine) == sorted(BACKENDS), "a block holds every backend once"
        assert len({(p.cell.model, p.cell.seed) for p in mine}) == 1, "and one model × seed"
        assert [p.position for p in mine] == list(range(mine[0].position, mine[0].position + 3)), "back to back"
    firsts = [p.cell.backend for p in placed if p.position == min(q.position for q in placed if q.block == p.block)]
    assert len(set(firsts)) > 1, "the order within a block is random, so no backend always goes first"
    assert ordered(cells, "interleaved") == placed, "drawn from the grid: a rerun resumes the same order"
    assert ordered(cells[::-1], "interleaved") == placed, "whatever order the grid was listed in"
    sequential = ordered(cells, "sequential")
    assert [p.cell for p in sequential] == cells and [p.block for p in sequential] == [1] * 6 + [2] * 6 + [3] * 6
    with pytest.raises(ValueError, match="unknown order"):
        ordered(cells, "shuffled")


def test_an_unknown_order_is_refused_in_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["run", "--backend", "all", "--order", "shuffled"])
    assert stop.value.code == 2 and "invalid choice: 'shuffled'" in capsys.readouterr().err
