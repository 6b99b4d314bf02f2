"""The `gvbench` command line: one parser per command, one `cmd_*` function each, errors caught once in `main`."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from architectures import MODELS, VARIANTS, get_spec
from architectures.spec import BATCH_SIZE
from suite.choices import (
    BACKENDS,
    IMPLS,
    JIT_MODES,
    KERAS2,
    PATCHED,
    PATCHED_BACKENDS,
    PROFILE_DEFAULT,
    PROFILE_IMPLS,
    Status,
    StepStatus,
)
from suite.contract import Cell
from suite.errors import GvbenchError, UsageError
from suite.executor import LocalExecutor
from suite.formatting import frame_text, lr_label, lr_labels, number
from suite.grid import (
    LEARNING_RATES,
    ORDERS,
    PAPER_LR,
    keras2_problem,
    lockstep_problem,
    make_grid,
    ordered,
    target_problem,
)
from suite.mnist import keras_cache_path, load_mnist
from suite.profiles import PROFILES
from suite.ray_executor import RayExecutor
from suite.run import hand_over_run_id, new_run_id, pending, run_grid
from suite.stop import StopRequest
from suite.store.folder import CELLS_CSV, CHILD_FILES, ResultsError, ResultsWriteError, check_header, upgrade_folder
from suite.store.schema import CELL_COLUMNS, SCHEMA_VERSION

SEED_MAX = 2**32 - 1
"""The largest seed every backend's generator takes (NumPy's and TensorFlow's bound)."""


class Parser(argparse.ArgumentParser):
    """argparse, with a bad value reported in one line (the usage is one `--help` away)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number (e.g. 1e-4)")
    return value


def learning_rate(text: str) -> float | str:
    """`--lrs`: a positive number, or `paper` for each model's own rate."""
    if text == PAPER_LR:
        return PAPER_LR
    try:
        return positive_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a positive number (e.g. 1e-4) or {PAPER_LR} (each model at its authors' rate)"
        ) from None


def path(text: str) -> Path:
    """A path option: never empty or blank, which is an unset shell variable rather than a wish for `.`."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"{text!r} is an empty path (an unset shell variable?); name a folder or file, e.g. results"
        )
    return Path(text)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= 1")
    return value


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"{text!r} is not a seed: an integer from 0 to 2**32 - 1 ({SEED_MAX})")
    return value


BUDGET_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "epochs": None}


def budget(text: str) -> tuple[float | None, int | None]:
    """`--budget`: training seconds (`1800`, `1800s`, `30m`, `2h`) or epochs (`20epochs`) as (seconds, epochs)."""
    number, unit = text.strip(), "s"
    for suffix in sorted(BUDGET_UNITS, key=len, reverse=True):
        if number.endswith(suffix):
            number, unit = number.removesuffix(suffix), suffix
            break
    try:
        value = float(number)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf") or (unit == "epochs" and value != int(value)):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a budget: training seconds (1800, 30m, 2h) or whole epochs (20epochs)"
        )
    if unit == "epochs":
        return None, int(value)
    return value * BUDGET_UNITS[unit], None


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity), which may be fewer than the machine has."""
    return len(os.sched_getaffinity(0))


def add_run_parser(commands) -> None:
    run = commands.add_parser("run", help="train a grid of cells and record them")
    run.add_argument(
        "--backend",
        required=True,
        nargs="+",
        choices=(*BACKENDS, "all"),
        metavar="BACKEND",
        help=f"one or more of {', '.join(BACKENDS)}, or all",
    )
    run.add_argument(
        "--models", nargs="+", choices=MODELS, default=list(MODELS), metavar="MODEL", help="models (default: all)"
    )
    run.add_argument(
        "--lrs",
        nargs="+",
        type=learning_rate,
        default=list(LEARNING_RATES),
        metavar="LR",
        help=f"learning rates (default: {lr_labels(LEARNING_RATES)}); {PAPER_LR}: each model "
        f"at its authors' rate ({', '.join(f'{m} {lr_label(get_spec(m).paper_lr)}' for m in MODELS)})",
    )
    run.add_argument("--variant", choices=VARIANTS, default="paper")
    run.add_argument(
        "--profile",
        choices=PROFILES,
        default="quick",
        help="; ".join(f"{p.name}: {p.purpose}" for p in PROFILES.values()),
    )
    run.add_argument("--epochs", type=positive_int, help="override the profile's epochs")
    run.add_argument(
        "--budget",
        type=budget,
        help="--profile target: stop a cell short of its quality target after this much training, in seconds "
        "(1800, 30m, 2h) or epochs (20epochs); default: the profile's 30 minutes within its 50 epochs",
    )
    run.add_argument(
        "--impl",
        nargs="+",
        choices=(*IMPLS, "both"),
        default=["keras"],
        metavar="IMPL",
        help="keras: the Keras 3 models; native: the same models in the backend alone (runners/native/); "
        f"{KERAS2}: the same models in Keras 2 (tf-keras), on tensorflow only; both: keras and native",
    )
    run.add_argument(
        "--jit",
        nargs="+",
        choices=(*JIT_MODES, "all"),
        default=["auto"],
        metavar="MODE",
        help="compile modes: auto (the default), on, off, or all (TF: XLA; torch: torch.compile; JAX: jax.jit)",
    )
    run.add_argument(
        "--seeds",
        "--seed",
        dest="seeds",
        nargs="+",
        type=seed,
        default=[0],
        metavar="S",
        help=f"seeds of every random draw, 0..{SEED_MAX}; each cell runs once per seed (default: 0)",
    )
    run.add_argument(
        "--lockstep",
        action="store_true",
        help="every backend starts from the same NumPy weights and sees the same data order and noise (per seed); "
        "records each step's losses",
    )
    run.add_argument(
        "--threads",
        type=positive_int,
        help="CPU threads for every backend (default: all usable CPUs shared out among --jobs)",
    )
    run.add_argument(
        "--jobs",
        type=positive_int,
        help="cells the local executor runs at once, each pinned to --threads CPUs of its own (default: 1; "
        "--profile smoke: as many as the CPUs allow)",
    )
    run.add_argument("--out", type=path, default=Path("results"), help="results folder (default: results/)")
    run.add_argument(
        "--data", type=path, help="an mnist.npz to use (default: $GVBENCH_DATA, Keras' cache, then download)"
    )
    run.add_argument(
        "--order",
        choices=ORDERS,
        default="interleaved",
        help="interleaved (the default): randomised blocks, each block one model × lr × seed on every backend in a "
        "random order, so that the machine's drift is not read as a backend difference; sequential: backend after "
        "backend",
    )
    run.add_argument("--verbose", type=int, choices=(0, 1, 2), default=2, help="Keras progress: 0 none, 1 bar, 2 lines")
    run.add_argument("--force", action="store_true", help="rerun cells that already have an ok row in --out")
    run.add_argument("--cell-timeout", type=positive_float, metavar="SECONDS", help="stop a longer cell as timeout")
    run.add_argument(
        "--executor", choices=("local", "ray"), default="local", help="local, or ray (pip install 'gvbench[ray]')"
    )
    run.add_argument("--ray-address", metavar="ADDRESS", help="join this Ray cluster (default: a local Ray instance)")
    run.add_argument(
        "--cpus-per-cell", type=positive_int, metavar="N", help="CPUs each Ray task asks for (default: --threads)"
    )


def add_parity_parser(commands) -> None:
    parity = commands.add_parser(
        "parity", help="check that the backends compute the same numbers from the same weights and inputs"
    )
    parity.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS), metavar="BACKEND")
    parity.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS), metavar="MODEL")
    parity.add_argument("--golden", type=path, metavar="DIR", help="also compare each backend with its file in DIR")
    parity.add_argument(
        "--update-golden", type=path, metavar="DIR", help="write this run's numbers as the golden files in DIR"
    )


def add_result_parsers(commands) -> None:
    """`report`, `upgrade` and `compare`: the commands that read results folders."""
    report = commands.add_parser("report", help="figures, tables, report.md and report.html from results folders")
    report.add_argument("dir", type=path, help="a results folder, or a folder holding several")
    report.add_argument("--out", type=path, help="report folder (default: DIR/report)")
    report.add_argument(
        "--exclude", nargs="+", default=[], metavar="SUBDIR", help="folders under DIR to leave out (e.g. reference)"
    )
    upgrade = commands.add_parser("upgrade", help="rewrite a results folder of an earlier schema version as this one")
    upgrade.add_argument("dir", type=path, help="a results folder (the --out of a gvbench run)")
    rescore = commands.add_parser(
        "rescore", help="add today's quality metrics to a results folder's cells, measured on their saved samples"
    )
    rescore.add_argument("dir", type=path, help="a results folder (the --out of a gvbench run)")
    rescore.add_argument("--backend", choices=BACKENDS, default="tensorflow", help="the backend the judge runs on")
    rescore.add_argument("--data", type=path, help="an mnist.npz, for the test labels (default: as gvbench run)")
    history = commands.add_parser(
        "history", help="step times across Keras and backend versions, and the releases where they changed"
    )
    history.add_argument("dirs", nargs="+", type=path, metavar="DIR", help="results folders of runs to read together")
    history.add_argument("--threshold", type=positive_float, default=1.10, help="flag changes beyond this ratio")
    history.add_argument("--out", type=path, help="history page folder (default: the first DIR/history)")
    versions = commands.add_parser(
        "versions",
        help="run the same grid under other Keras and backend releases, in rounds (ABC CBA), for gvbench history",
        description="gvbench versions --sets SET... [--rounds N] -- RUN-OPTIONS: each SET is pip requirements, "
        "comma-separated (keras==3.13.2,jax==0.7.2,jaxlib==0.7.2), or `installed`; RUN-OPTIONS are gvbench run's.",
    )
    versions.add_argument("--sets", nargs="+", required=True, metavar="SET", help="version sets, in version order")
    versions.add_argument(
        "--rounds", type=positive_int, default=2, help="runs of every set, forward then backward (default: 2)"
    )
    versions.add_argument(
        "--cache",
        type=path,
        default=Path.home() / ".cache" / "gvbench" / "version-sets",
        help="where each set is installed once (default: ~/.cache/gvbench/version-sets)",
    )
    versions.add_argument("run_args", nargs=argparse.REMAINDER, help="-- then the options of gvbench run")
    compare = commands.add_parser("compare", help="flag slowdowns and loss changes from BASE to NEW results")
    compare.add_argument("base", type=path, help="results folder of the baseline")
    compare.add_argument("new", type=path, help="results folder to check against it")
    compare.add_argument(
        "--time-factor",
        type=positive_float,
        default=1.05,
        help="flag a significant slowdown whose NEW/BASE ratio is above this (1.05: the speed margin)",
    )
    compare.add_argument("--alpha", type=positive_float, default=0.05, help="significance level (0.05)")
    compare.add_argument("--loss-tol", type=positive_float, default=0.05, help="flag relative loss changes above")


def add_profile_parser(commands) -> None:
    profile = commands.add_parser(
        "profile", help="split a training step into forward, backward, optimizer and overhead, and time every layer"
    )
    profile.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS), metavar="BACKEND")
    profile.add_argument(
        "--impls",
        nargs="+",
        choices=PROFILE_IMPLS,
        default=list(PROFILE_DEFAULT),
        metavar="IMPL",
        help=f"{', '.join(PROFILE_IMPLS)} (default: {' '.join(PROFILE_DEFAULT)}); {PATCHED} runs on jax only",
    )
    profile.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS), metavar="MODEL")
    profile.add_argument("--variant", choices=VARIANTS, default="paper")
    profile.add_argument("--processes", type=positive_int, default=3, help="processes per setting (default: 3)")
    profile.add_argument("--threads", type=positive_int, default=usable_cpus(), help="threads (default: all CPUs)")
    profile.add_argument("--repeats", type=positive_int, default=3, help="timed runs of each phase and layer (3)")
    profile.add_argument("--no-layers", action="store_true", help="phases only, no per-layer timings")
    profile.add_argument(
        "--layer-processes", type=positive_int, default=1, help="processes per setting that time every layer (1)"
    )
    profile.add_argument("--no-traces", action="store_true", help="no backend profiler traces (default: OUT/traces)")
    profile.add_argument("--data", type=path, help="an mnist.npz (default: as gvbench run)")
    profile.add_argument("--out", type=path, default=Path("results/profile"), help="folder (default: results/profile)")


DESCRIPTION = (
    "Train the five GANs and VAEs of 'GAN and VAE for MNIST' under Keras 3's TensorFlow, PyTorch and JAX backends, "
    "time and score every cell, and report how fast and how alike the backends are."
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="gvbench", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    add_run_parser(commands)
    add_parity_parser(commands)
    add_result_parsers(commands)
    add_profile_parser(commands)
    return parser


def check_out(out: Path) -> None:
    """The results folder must be writable and hold this schema's CSVs (or none)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError as e:
        raise ResultsError(f"cannot write to --out {out}: {e.strerror}; choose a writable folder") from e
    check_header(out / CELLS_CSV, CELL_COLUMNS)
    for name, columns in CHILD_FILES.items():
        check_header(out / name, columns)


def check_folder(folder: Path, what: str) -> None:
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; pass {what}")


def summary(cell_rows: list[dict]) -> str:
    """The table `gvbench run` ends with: every cell's status and times, its learning rate as the report labels it."""
    frame = pd.DataFrame(cell_rows)
    frame["lr"] = frame.lr.map(lr_label)
    columns = ["model", "lr", "status", "first_epoch_s", "steady_epoch_median_s", "steady_samples_per_s"]
    columns = [*(c for c in ("backend", "impl", "jit") if frame[c].nunique() > 1), *columns, "steady_gflop_per_s"]
    return frame_text(frame[columns])


def make_executor(args: argparse.Namespace) -> LocalExecutor | RayExecutor:
    """The executor `--executor` names, its settings checked; Ray is imported only when asked for."""
    if args.executor == "local":
        return LocalExecutor(args.cell_timeout, args.jobs, args.threads)
    cpus = args.cpus_per_cell or args.threads
    if cpus < args.threads:
        raise UsageError(f"--threads {args.threads} exceeds --cpus-per-cell {cpus}; a cell would share its CPUs")
    return RayExecutor(args.ray_address, cpus, args.cell_timeout)


def make_cells(args: argparse.Namespace) -> list[Cell]:
    """Every cell the arguments ask for, backend by backend."""
    share_cpus(args)
    backends = list(BACKENDS) if "all" in args.backend else list(dict.fromkeys(args.backend))
    impls = chosen_impls(args.impl)
    jits = JIT_MODES if "all" in args.jit else tuple(dict.fromkeys(args.jit))
    seeds = list(dict.fromkeys(args.seeds))
    mode = "lockstep" if args.lockstep else "independent"
    budget_s, epochs = args.budget or (PROFILES[args.profile].budget_s, None)
    settings = (args.variant, args.profile, seeds, args.threads, epochs or args.epochs, impls, jits, mode, budget_s)
    return [cell for backend in backends for cell in make_grid(backend, args.models, args.lrs, *settings)]


def chosen_impls(impl: list[str]) -> tuple[str, ...]:
    """`--impl`'s implementations, each once, `both` standing for keras and native."""
    return tuple(dict.fromkeys(i for name in impl for i in (("keras", "native") if name == "both" else (name,))))


def share_cpus(args: argparse.Namespace) -> None:
    """Set `--jobs` and `--threads` where not given: one cell at a time on every usable CPU, or for a parallel
    profile (smoke) as many cells as the CPUs allow; refuse cells that would share CPUs."""
    cpus = usable_cpus()
    if args.executor == "ray":
        if (args.jobs or 1) > 1:
            raise UsageError("--jobs is the local executor's; Ray runs as many cells at once as --cpus-per-cell allows")
        args.jobs = 1
    elif args.jobs is None:
        args.jobs = max(1, cpus // (args.threads or 1)) if PROFILES[args.profile].parallel else 1
    args.threads = args.threads or max(1, cpus // args.jobs)
    if args.jobs > 1 and args.jobs * args.threads > cpus:
        raise UsageError(
            f"--jobs {args.jobs} × --threads {args.threads} exceeds the {cpus} CPUs this process may use, "
            "and cells would share CPUs; pass fewer --jobs or --threads"
        )


def check_run(args: argparse.Namespace) -> str | None:
    """Check every value of `gvbench run` that argparse cannot; return the data path the cells read."""
    check_run_args(args)
    check_out(args.out)
    load_mnist(args.data)
    data = str(args.data) if args.data else os.environ.get("GVBENCH_DATA")
    if args.executor == "ray" and args.ray_address:
        return data  # a cluster's nodes each use their own Keras cache
    return str(Path(data or keras_cache_path()).resolve())


def check_run_args(args: argparse.Namespace) -> None:
    """The checks of `gvbench run`'s values among themselves and against this machine's CPUs (not its files)."""
    share_cpus(args)
    on_cluster = args.executor == "ray" and args.ray_address
    if not on_cluster and args.threads > usable_cpus():
        raise UsageError(
            f"--threads {args.threads} exceeds the {usable_cpus()} CPUs this process may use; "
            f"pass --threads {usable_cpus()} or fewer"
        )
    impls = chosen_impls(args.impl)
    backends = list(BACKENDS) if "all" in args.backend else args.backend
    problem = keras2_problem(backends, impls)
    problem = problem or target_problem(args.profile, impls, args.budget is not None, args.epochs is not None)
    if args.lockstep:
        problem = problem or lockstep_problem(args.models, args.variant, args.profile, impls)
    if problem:
        raise UsageError(problem)


def finish_run(written: list[dict], todo: int, total: int, stop: StopRequest) -> int:
    """Say what did not finish; the exit code of the run."""
    if stop.signum is not None:
        left = todo - sum(Status(row["status"]).completed for row in written)
        print(
            f"gvbench: stopped by {signal.Signals(stop.signum).name} with {left} of {total} cells not done; "
            "run the same command again to resume (cells already done are skipped)",
            file=sys.stderr,
        )
        return stop.exit_code
    unsupported = [row["cell_id"] for row in written if row["status"] == Status.UNSUPPORTED]
    if unsupported:
        print(
            f"gvbench: {len(unsupported)} cells ask for a compile mode that does not work there (reason in their "
            f"error column and log): {', '.join(unsupported)}",
            file=sys.stderr,
        )
    bad = [row["cell_id"] for row in written if not Status(row["status"]).acceptable]
    if bad:
        print(f"gvbench: {len(bad)} of {len(written)} cells did not finish ok: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    data = check_run(args)
    executor = make_executor(args)
    grid = make_cells(args)
    run_id = new_run_id()
    hand_over_run_id(run_id)
    at_once = f", {args.jobs} cells at once" if args.jobs > 1 else ""
    backends = ", ".join(dict.fromkeys(cell.backend for cell in grid))
    print(
        f"gvbench run {run_id}: {len(grid)} cells on {backends}, profile {args.profile}, "
        f"{args.threads} threads, {args.executor} executor{at_once}, {args.order} order -> {args.out}",
        flush=True,
    )
    cells = pending(ordered(grid, args.order), args.out, args.force)
    start = time.perf_counter()
    with StopRequest() as stop:
        written = run_grid(cells, args.out, executor, data, args.verbose, stop, run_id, args.order)
    if written:
        print(summary(written))
    print(f"gvbench run {run_id}: {len(written)} cells in {number(time.perf_counter() - start, 'seconds')} s")
    return finish_run(written, len(cells), len(grid), stop)


def cmd_report(args: argparse.Namespace) -> int:
    from suite.report import build_report

    check_folder(args.dir, "the --out folder of a gvbench run")
    try:
        out = build_report(args.dir, args.out, tuple(args.exclude))
    except OSError as e:
        where = args.out or args.dir / "report"
        raise ResultsWriteError(
            f"could not write the report to {where} ({e.strerror or e}); the results it reads are untouched; "
            "free space (or write access) there, or pass another --out"
        ) from e
    print(f"gvbench report: {out / 'report.html'} (and report.md, summary.csv, figures)")
    return 0


def cmd_parity(args: argparse.Namespace) -> int:
    from suite import parity

    if args.golden and not all(parity.golden_path(args.golden, b).exists() for b in args.backends):
        raise UsageError(f"no golden files for {', '.join(args.backends)} in {args.golden}")
    results = {}
    for backend in args.backends:
        print(f"probing {backend} ...", flush=True)
        results[backend] = parity.probe(backend, args.models)
    print(frame_text(parity.largest_differences(results).drop(columns="key"), "value"))
    mismatches = parity.compare_backends(results)
    if args.golden:
        mismatches += parity.compare_golden(results, args.golden)
    for mismatch in mismatches:
        print(f"MISMATCH {mismatch}", file=sys.stderr)
    if args.update_golden:
        if mismatches:
            print("gvbench: golden files not written: the backends disagree", file=sys.stderr)
            return 1
        for path in parity.write_golden(results, args.update_golden):
            print(f"wrote {path}")
    print(f"gvbench parity: {len(mismatches)} mismatches")
    return 1 if mismatches else 0


def cmd_compare(args: argparse.Namespace) -> int:
    from suite.compare import Thresholds, compare_dirs, failed, text

    for folder in (args.base, args.new):
        check_folder(folder, "two --out folders of gvbench runs")
    thresholds = Thresholds(args.time_factor, args.alpha, args.loss_tol)
    found = compare_dirs(args.base, args.new, thresholds)
    pd.set_option("display.width", 200)
    print(text(found, thresholds))
    return 1 if failed(found) else 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    if not (args.dir / CELLS_CSV).is_file():
        raise UsageError(f"{args.dir} holds no {CELLS_CSV}; pass the --out folder of a gvbench run")
    rewritten = upgrade_folder(args.dir)
    for path in rewritten:
        print(f"rewrote {path}")
    print(f"gvbench upgrade: {args.dir} is at schema version {SCHEMA_VERSION} ({len(rewritten)} files rewritten)")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    """Read the runs, find the changes, write the page; exit 1 when a regression beyond the threshold is found."""
    from suite.report.history_page import write_history

    for folder in args.dirs:
        check_folder(folder, "--out folders of gvbench runs")
    out, points, changes = write_history(args.dirs, args.out or args.dirs[0] / "history", args.threshold)
    series = points.groupby(["backend", "model"]).ngroups if len(points) else 0
    print(f"gvbench history: {len(points)} points of {series} model × backend series -> {out / 'history.html'}")
    if changes.empty:
        beyond = number(args.threshold, "threshold")
        print(f"gvbench history: no change beyond {beyond}x that the noise between processes could not explain")
    else:
        print(frame_text(changes))
    return 1 if (changes.kind == "regression").any() else 0


def cmd_versions(args: argparse.Namespace) -> int:
    """Install and check each version set, then run the grid under each in rounds (`suite.versions`)."""
    from suite.versions import requirements, run_versions

    run_args = args.run_args[1:] if args.run_args[:1] == ["--"] else args.run_args
    if not run_args:
        raise UsageError("give gvbench run's options after --, e.g. -- --backend jax --profile quick --out DIR")
    run = build_parser().parse_args(["run", *run_args])  # exits 2, with argparse's message, on a bad option
    for version_set in args.sets:
        try:
            requirements(version_set)
        except ValueError as e:
            raise UsageError(str(e)) from e
    backends = list(BACKENDS) if "all" in run.backend else run.backend
    check_out(run.out)
    steps = run_versions(args.sets, backends, run_args, run.out, args.rounds, args.cache)
    ran = sum(step.status == StepStatus.RAN for step in steps)
    print(f"gvbench versions: {ran} of {len(steps)} runs had every cell ok; every step is in {run.out}/versions.csv")
    if any(step.status == StepStatus.INTERRUPTED for step in steps):
        return 130
    return 0


def cmd_rescore(args: argparse.Namespace) -> int:
    """Score the folder's saved samples in a process of the judge's backend (`runners.rescore`)."""
    if not (args.dir / CELLS_CSV).is_file():
        raise UsageError(f"{args.dir} holds no {CELLS_CSV}; pass the --out folder of a gvbench run")
    check_out(args.dir)
    load_mnist(args.data)
    env = os.environ | {"KERAS_BACKEND": args.backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "runners.rescore", str(args.dir), *([str(args.data)] if args.data else [])]
    return subprocess.run(command, env=env).returncode


def cmd_profile(args: argparse.Namespace) -> int:
    from suite import profile

    check_out(args.out)
    load_mnist(args.data)
    common = dict(
        models=list(args.models),
        variant=args.variant,
        batch_size=BATCH_SIZE,
        threads=args.threads,
        seed=0,
        warmup=1,
        repeats=args.repeats,
        layers=not args.no_layers,
        data=str(args.data) if args.data else None,
    )
    if set(args.impls) == {PATCHED} and not set(args.backends) & set(PATCHED_BACKENDS):
        raise UsageError(f"--impls {PATCHED} runs on {', '.join(PATCHED_BACKENDS)} only; add --backends jax")
    traces = None if args.no_traces else str(args.out / "traces")
    tasks = profile.plan(list(args.backends), list(args.impls), args.processes, traces, args.layer_processes, **common)
    print(
        f"gvbench profile: {len(tasks)} processes, {len(args.models)} models each, {args.threads} threads -> {args.out}"
    )
    tables, seconds = profile.profile(tasks, args.out)
    rows = f"{len(tables['phases.csv'])} phase rows, {len(tables['layers.csv'])} layer rows"
    print(f"gvbench profile: {rows} in {number(seconds, 'seconds')} s")
    return 0


COMMANDS = {
    "run": cmd_run,
    "report": cmd_report,
    "parity": cmd_parity,
    "compare": cmd_compare,
    "upgrade": cmd_upgrade,
    "rescore": cmd_rescore,
    "history": cmd_history,
    "versions": cmd_versions,
    "profile": cmd_profile,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except GvbenchError as e:
        print(f"gvbench: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(
            "\ngvbench: interrupted; cells finished so far are kept; run the same command again to resume",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
