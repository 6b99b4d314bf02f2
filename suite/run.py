"""Run a grid of cells through an executor and append each finished cell to the tidy CSVs."""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from architectures import get_spec
from architectures.flops import train_step_flops
from suite import quality_sets
from suite.choices import COMPLETED, Status
from suite.contract import Cell, EpochRecord, EvaluationRecord, Result, StepRecord, Task
from suite.executor import Executor, Job
from suite.files import atomic_write
from suite.grid import FULL_TRAIN, Placed
from suite.profiles import PROFILES
from suite.stop import StopRequest
from suite.store.folder import append_cell, finished_ok
from suite.store.schema import CELL_COLUMNS, EPOCH_METRICS, KEY_COLUMNS, SCHEMA_VERSION, UnknownColumn, list_cell

RESUME_FOLDER = "resume"
"""The folder of `--out` where cells of a `resumable` profile keep their state until their rows are written."""


RUN_ID_FILE_ENV = "GVBENCH_RUN_ID_FILE"
"""A path where `gvbench run` writes its run id before any cell starts, for a parent process (`gvbench versions`)
that needs it: handed over in a file, never read from printed text."""


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def hand_over_run_id(run_id: str) -> None:
    """Write `run_id` where `RUN_ID_FILE_ENV` asks, if it does."""
    if path := os.environ.get(RUN_ID_FILE_ENV):
        with atomic_write(Path(path)) as f:
            f.write(run_id.encode())


def summarise_epochs(epochs: list[EpochRecord], resumed: tuple[int, ...] | list[int] = ()) -> dict:
    """First-epoch time apart from the steady-state epochs (2..N): median, IQR, throughput.

    An epoch cut short (a time-to-target cell stopped inside it) is not a steady epoch, nor is one that began in
    a new process (`resumed`, the `resumed_epochs` column: it compiled again)."""
    times = [e.epoch_time_s for e in epochs]
    full = max((e.steps for e in epochs), default=0)
    restarted = set(resumed)
    whole = [e for e in epochs[1:] if e.steps == full and e.epoch not in restarted]
    steady = [e.epoch_time_s for e in whole]
    summary = {"epochs_done": len(times), "first_epoch_s": times[0] if times else None, "steady_epochs": len(steady)}
    if steady:
        q1, q3 = np.percentile(steady, [25, 75])
        summary |= {
            "steady_epoch_median_s": statistics.median(steady),
            "steady_epoch_iqr_s": float(q3 - q1),
            "steady_samples_per_s": statistics.median(e.samples_per_s for e in whole),
            "steady_step_median_s": statistics.median(e.epoch_time_s / e.steps for e in whole),
        }
    return summary


def arithmetic(cell: Cell, summary: dict, ceiling: float | None) -> dict:
    """FLOPs of a full-batch step, the GFLOP/s of the median steady epoch, and its share of the matmul ceiling."""
    spec = get_spec(cell.model, cell.variant)
    found = {"train_step_gflop": train_step_flops(spec, cell.batch_size) / 1e9}
    if summary.get("steady_epoch_median_s") is not None:
        images = cell.train_images or FULL_TRAIN
        rate = train_step_flops(spec, 1) * images / summary["steady_epoch_median_s"] / 1e9
        found["steady_gflop_per_s"] = rate
        if ceiling:
            found["ceiling_share"] = rate / ceiling
    return found


def epoch_rows(cell: Cell, keys: dict, epochs: list[EpochRecord]) -> list[dict]:
    """The long-format epochs.csv rows of a cell; a metric that is not documented raises."""
    documented = (*EPOCH_METRICS, *get_spec(cell.model, cell.variant).family.epoch_losses)
    found = []
    for record in epochs:
        for metric, value in record.metrics().items():
            if metric not in documented:
                raise UnknownColumn(
                    f"epochs.csv has no metric {metric!r} for {cell.model}; add it to suite/store/schema.py"
                )
            found.append(keys | {"epoch": record.epoch, "metric": metric, "value": value})
    return found


def step_rows(keys: dict, steps: list[StepRecord]) -> list[dict]:
    """The long-format steps.csv rows of a (lockstep) cell: one per step × loss."""
    return [
        keys | {"step": record.step, "metric": name, "value": value}
        for record in steps
        for name, value in record.losses.items()
    ]


def evaluation_rows(keys: dict, evaluations: list[EvaluationRecord]) -> list[dict]:
    """The long-format evaluations.csv rows of a time-to-target cell: one per evaluation × metric."""
    return [
        keys | {"step": record.step, "epoch": record.epoch, "train_s": record.train_s, "metric": name, "value": value}
        for record in evaluations
        for name, value in record.metrics().items()
    ]


def target_facts(cell: Cell, result: Result) -> dict:
    """The cell row's time-to-target columns (empty for a cell scored only at its end)."""
    if not cell.eval_every:
        return {}
    return {
        "budget_s": cell.budget_s,
        "target": get_spec(cell.model, cell.variant).family.target.describe(),
        "eval_every": cell.eval_every,
        "evaluations": len(result.evaluations),
        "eval_total_s": sum(record.eval_s for record in result.evaluations),
        "target_step": result.target_step,
        "target_train_s": result.target_train_s,
    }


def rows(
    run_id: str, cell: Cell, result: Result, samples_file: str, log_file: str, place: dict | None = None
) -> tuple[dict, list[dict], list[dict], list[dict], list[dict]]:
    """The cell row and the long-format epoch, quality, step and evaluation rows of one finished cell; `place`: its
    `ordering`, `block` and `position` in the run."""
    keys = {"schema_version": SCHEMA_VERSION, "run_id": run_id, "cell_id": cell.cell_id}
    keys |= {k: getattr(cell, k) for k in KEY_COLUMNS if k not in keys}
    cell_row = dict.fromkeys(CELL_COLUMNS) | asdict(result.facts) | keys
    cell_row |= {
        "epochs": cell.epochs,
        "batch_size": cell.batch_size,
        "train_images": cell.train_images or FULL_TRAIN,
        "status": result.status,
        "diverged_epoch": result.diverged_epoch,
        "error": result.error,
        "threads": cell.threads,
        "samples_file": samples_file if result.status.completed else None,
        "log_file": log_file,
    } | (place or {})
    cell_row |= summarise_epochs(result.epochs, result.facts.resumed_epochs)
    cell_row["resumed_epochs"] = list_cell(result.facts.resumed_epochs)
    cell_row |= arithmetic(cell, cell_row, result.facts.ceiling_gflop_per_s)
    cell_row |= target_facts(cell, result)
    own = quality_sets.name("cell")
    quality_rows = [
        keys | {"image_set": own, "metric": metric, "value": value} for metric, value in result.quality.items()
    ]
    evaluations = evaluation_rows(keys, result.evaluations)
    return cell_row, epoch_rows(cell, keys, result.epochs), quality_rows, step_rows(keys, result.steps), evaluations


def resume_dir(out: Path, cell: Cell) -> Path | None:
    """Where a cell of a `resumable` profile keeps its state between epochs (`runners.resume`); None: nowhere."""
    resumable = PROFILES[cell.profile].resumable and cell.impl == "keras" and cell.mode == "independent"
    return out / RESUME_FOLDER / cell.cell_id if resumable else None


def pending(cells: list[Placed], out: Path, force: bool) -> list[Placed]:
    """The cells still to run, in their places: all with `force` (which also drops their saved state), else those
    without a completed (`ok`, `budget`) row in `out`."""
    if force:
        for placed in cells:
            if (folder := resume_dir(out, placed.cell)) is not None:
                shutil.rmtree(folder, ignore_errors=True)
        return cells
    done = finished_ok(out)
    todo = [placed for placed in cells if placed.cell.cell_id not in done]
    if len(todo) < len(cells):
        print(f"skipping {len(cells) - len(todo)} cells already done in {out} (--force reruns them)", flush=True)
    return todo


def report_line(result: Result, cell_row: dict) -> str:
    line = f"    {result.status}"
    if cell_row.get("first_epoch_s") is not None:
        line += f"  first epoch {cell_row['first_epoch_s']:.2f} s"
    if cell_row.get("steady_epoch_median_s") is not None:
        line += f"  steady median {cell_row['steady_epoch_median_s']:.2f} s/epoch"
    if cell_row.get("target_train_s") is not None:
        line += f"  target at step {cell_row['target_step']} after {cell_row['target_train_s']:.1f} training s"
    elif cell_row.get("evaluations"):
        line += f"  target not reached in {cell_row['evaluations']} evaluations"
    if result.error:
        line += "\n    " + result.error.strip().splitlines()[0]
    return line


def run_grid(
    cells: list[Cell | Placed],
    out: Path,
    executor: Executor,
    data: str | None,
    verbose: int,
    stop: StopRequest,
    run_id: str | None = None,
    ordering: str = "sequential",
) -> list[dict]:
    """Run every cell until done or asked to stop, in the order given; append each as it finishes; return the cell
    rows written. `ordering` names how the cells were placed (`suite.grid.ordered`); bare cells are placed in turn."""
    run_id = run_id or new_run_id()
    placed = [c if isinstance(c, Placed) else Placed(c, 1, i) for i, c in enumerate(cells, 1)]
    jobs = [
        Job(
            i,
            len(placed),
            Task(p.cell, data, verbose, resume_dir=str(folder) if (folder := resume_dir(out, p.cell)) else None),
            out / "samples" / run_id / f"{p.cell.cell_id}.npz",
            out / "logs" / run_id / f"{p.cell.cell_id}.log",
        )
        for i, p in enumerate(placed, 1)
    ]
    places = {p.cell.cell_id: {"ordering": ordering, "block": p.block, "position": p.position} for p in placed}
    written = []
    with tempfile.TemporaryDirectory(prefix="gvbench-") as workdir:
        for job, result in executor.run_all(jobs, Path(workdir), stop):
            samples_file, log_file = job.samples_file.relative_to(out), job.log_file.relative_to(out)
            cell_row, epochs, quality, steps, evaluations = rows(
                run_id, job.task.cell, result, str(samples_file), str(log_file), places[job.task.cell.cell_id]
            )
            append_cell(out, cell_row, epochs, quality, steps, evaluations)
            if job.task.resume_dir and result.status in (*COMPLETED, Status.DIVERGED):
                shutil.rmtree(job.task.resume_dir, ignore_errors=True)  # its rows are written: nothing to resume
            written.append(cell_row)
            print(report_line(result, cell_row), flush=True)
    return written
