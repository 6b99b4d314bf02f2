"""Run-to-run precision of the suite's timings: the same cells repeated, CV within and between cells.

    python -m benchmarks.precision --backend torch --repeats 5 --out results/precision
    python -m benchmarks.precision --out results/precision --table-only

Runs `gvbench run` `--repeats` times (each `--force`, so each repeat is a fresh process per cell
and a new `run_id`) for the given backends and models (default DenseGAN-Deep and CNNGAN, lr 1e-4,
profile quick), then prints per backend × model the coefficient of variation of the steady-state
step time: within a cell (epoch to epoch, the median over the repeats) and between cells (of
the repeats' steady medians), with how many cells and epochs stand behind each. Run it alone on
the machine; anything beside it is measured too.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

from suite.choices import BACKENDS, Status
from suite.store.derived import epoch_frame
from suite.store.loading import label, load

MODELS = ("DenseGAN-Deep", "CNNGAN")


def cv(values: pd.Series) -> float:
    """Coefficient of variation (sample standard deviation over mean); NaN for fewer than two values."""
    return float(values.std(ddof=1) / values.mean()) if len(values) > 1 else float("nan")


def precision_table(cells: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Per backend × implementation × model: CV of steady step time within cells and between cells."""
    ok = cells[cells.status == Status.OK]
    ok = ok.assign(label=label(ok))
    identity = ["source", "run_id", "cell_id"]
    frame = epoch_frame(ok, epochs).merge(ok[[*identity, "model", "impl"]], on=identity)
    steady = frame[frame.epoch >= 2].assign(step_s=lambda f: f.epoch_time_s / f.steps)
    per_cell = steady.groupby(["backend", "impl", "model", "run_id", "cell_id"]).step_s
    cell_stats = pd.DataFrame({"within_cv": per_cell.apply(cv), "median_step_s": per_cell.median()}).reset_index()
    table = cell_stats.groupby(["backend", "impl", "model"]).agg(
        cells=("run_id", "size"),
        median_step_s=("median_step_s", "median"),
        within_cell_cv=("within_cv", "median"),
        within_cell_cv_max=("within_cv", "max"),
        between_cell_cv=("median_step_s", cv),
    )
    table["steady_epochs_per_cell"] = (
        steady.groupby(["backend", "impl", "model", "run_id"]).size().groupby(["backend", "impl", "model"]).median()
    )
    return table.reset_index()


def run(args: argparse.Namespace) -> None:
    command = [sys.executable, "-m", "suite", "run", "--backend", *args.backend, "--models", *args.models]
    command += ["--lrs", "1e-4", "--profile", args.profile, "--out", str(args.out), "--force", "--verbose", "0"]
    command += ["--impl", args.impl]
    for repeat in range(1, args.repeats + 1):
        print(f"repeat {repeat}/{args.repeats}: {' '.join(command[1:])}", flush=True)
        subprocess.run(command, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--impl", choices=("keras", "native", "both"), default="keras")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("results/precision"))
    parser.add_argument("--table-only", action="store_true", help="only print the table of what --out holds")
    args = parser.parse_args()
    if not args.table_only:
        run(args)
    cells, epochs, _ = load(args.out)
    print(precision_table(cells, epochs).to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
