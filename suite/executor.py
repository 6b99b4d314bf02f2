"""Executors run one cell each in a process of its own backend and hand back its result."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from architectures import get_spec
from architectures.flops import train_step_flops
from runners.cell import PARENT_PID_ENV
from suite.choices import Status
from suite.contract import Cell, Result, Task
from suite.grid import FULL_TRAIN
from suite.stop import StopRequest

GRACE_S = 30.0
"""How long a cell may take to write its finished epochs after being asked to stop, before it is killed."""
POLL_S = 0.1
JAX_CACHE = "jax-compilation-cache"
"""Folder in a run's working directory where its JAX cells cache what they compile to score their samples."""


@dataclass(frozen=True)
class Job:
    """One cell to run: its task, and where its samples and log go in the results folder."""

    index: int
    total: int
    task: Task
    samples_file: Path
    log_file: Path

    @property
    def title(self) -> str:
        return f"[{self.index}/{self.total}] {self.task.cell.cell_id}"


class Executor(Protocol):
    def run_all(self, jobs: Iterable[Job], workdir: Path, stop: StopRequest) -> Iterator[tuple[Job, Result]]:
        """Run the jobs (their cells' samples and logs written to the job's paths); yield each with its result.

        Stops starting cells once `stop` has been signalled."""
        ...


def tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def describe_exit(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


class LocalExecutor:
    """One subprocess per cell on this machine, with its `Cell.environment`; `jobs` of them at once.

    With `jobs` > 1 each running cell is pinned to CPUs of its own (`threads` of them, disjoint from the other
    cells'), its Keras progress goes to its log, and it records `parallel_cells`. The cell is stopped (SIGTERM,
    then SIGKILL after GRACE_S) when it outlives `cell_timeout` or when the grid is asked to stop; its peak
    resident memory comes from the kernel's accounting of that one child (`wait4`), so it is known even for a
    cell that was killed.
    """

    def __init__(self, cell_timeout: float | None = None, jobs: int = 1, threads: int = 1):
        self.cell_timeout, self.jobs = cell_timeout, jobs
        self.slots = cpu_slots(jobs, threads) if jobs > 1 else [None]

    def run_all(self, jobs: Iterable[Job], workdir: Path, stop: StopRequest) -> Iterator[tuple[Job, Result]]:
        """Run the jobs, up to `self.jobs` at once (then the largest first, by training FLOPs, so that the last to
        end are short); each backend's matmul ceiling is measured by its first cells only."""
        ceilings: dict[tuple[str, int], float] = {}
        order = sorted(jobs, key=lambda job: -training_flops(job.task.cell)) if self.jobs > 1 else jobs
        waiting, running, cache = iter(order), {}, str(workdir / JAX_CACHE)
        free = list(range(len(self.slots)))
        while True:
            while free and stop.signum is None and (job := next(waiting, None)) is not None:
                slot = free.pop(0)
                ceiling = ceilings.get((job.task.cell.backend, job.task.cell.threads))
                task = dataclasses.replace(job.task, ceiling_gflop_per_s=ceiling, compile_cache=cache)
                where = f" (CPUs {', '.join(map(str, self.slots[slot]))})" if self.slots[slot] else ""
                print(job.title + where, flush=True)
                running[slot] = (job, self.start(task, job.samples_file, workdir, job.log_file, self.slots[slot]))
            if not running:
                return
            for slot, (job, cell) in list(running.items()):
                if (ended := cell.poll(stop)) is None:
                    continue
                del running[slot]
                free.append(slot)
                result = self.finish(cell, *ended, stop)
                key = (job.task.cell.backend, job.task.cell.threads)
                if result.facts.ceiling_gflop_per_s:
                    ceilings.setdefault(key, result.facts.ceiling_gflop_per_s)
                if self.jobs > 1:
                    print(f"{job.title} ended", flush=True)
                yield job, result
            if running:
                time.sleep(POLL_S)

    def run(self, task: Task, samples_file: Path, workdir: Path, log_file: Path, stop: StopRequest) -> Result:
        """Run `task` in a process of its backend, its samples saved to `samples_file` and its stderr to `log_file`."""
        cell = self.start(task, samples_file, workdir, log_file)
        while (ended := cell.poll(stop)) is None:
            time.sleep(POLL_S)
        return self.finish(cell, *ended, stop)

    def start(
        self, task: Task, samples_file: Path, workdir: Path, log_file: Path, cpus: tuple[int, ...] | None = None
    ) -> RunningCell:
        """Start `task`'s process, on `cpus` alone when given (its Keras progress then goes to its log too)."""
        workdir.mkdir(parents=True, exist_ok=True)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        cell_id = task.cell.cell_id
        task_path, result_path = workdir / f"{cell_id}.json", workdir / f"{cell_id}.result.json"
        task_path.write_text(dataclasses.replace(task, samples_file=str(samples_file)).to_json())
        result_path.unlink(missing_ok=True)
        env = os.environ | task.cell.environment | {"TF_CPP_MIN_LOG_LEVEL": "2", PARENT_PID_ENV: str(os.getpid())}
        command = [sys.executable, "-m", "runners.cell", str(task_path), str(result_path)]
        pinned = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        with open(log_file, "w") as log:
            process = subprocess.Popen(command, env=env, stdout=log if cpus else None, stderr=log, preexec_fn=pinned)
        return RunningCell(process, task_path, result_path, log_file, self.cell_timeout)

    def finish(self, cell: RunningCell, code: int, peak_rss_mb: float, stop: StopRequest) -> Result:
        """The result the ended cell wrote (or a failed one saying why there is none), with its peak memory."""
        try:
            result = Result.from_json(cell.result_path.read_text())
        except (OSError, ValueError, TypeError, KeyError):  # none, or not this contract's (another gvbench)
            result = Result.failed(
                f"cell process {describe_exit(code)} and wrote no readable result:\n{tail(cell.log_file)}"
            )
        finally:
            cell.task_path.unlink(missing_ok=True)
            cell.result_path.unlink(missing_ok=True)
        result.facts.peak_rss_mb = peak_rss_mb
        result.facts.parallel_cells = self.jobs
        if cell.timed_out:
            result.status = Status.TIMEOUT
            result.error = f"stopped after --cell-timeout {self.cell_timeout:g} s"
        elif stop.signum is not None and not result.status.completed:
            result.status = Status.INTERRUPTED
            result.error = f"stopped by {signal.Signals(stop.signum).name}"
        return result


def training_flops(cell: Cell) -> int:
    """Floating-point operations a cell's training takes: its full-batch steps, epochs × steps per epoch."""
    steps = -(-(cell.train_images or FULL_TRAIN) // cell.batch_size)
    return train_step_flops(get_spec(cell.model, cell.variant), cell.batch_size) * cell.epochs * steps


def cpu_slots(jobs: int, threads: int) -> list[tuple[int, ...]]:
    """`jobs` disjoint sets of `threads` of this process's CPUs, one per running cell."""
    cpus = sorted(os.sched_getaffinity(0))
    if jobs * threads > len(cpus):
        raise ValueError(f"{jobs} cells × {threads} threads need more than the {len(cpus)} CPUs this process may use")
    return [tuple(cpus[i * threads : (i + 1) * threads]) for i in range(jobs)]


@dataclass
class RunningCell:
    """A started cell process: its files, and whether it has been timed out or signalled."""

    process: subprocess.Popen
    task_path: Path
    result_path: Path
    log_file: Path
    cell_timeout: float | None
    started: float = dataclasses.field(default_factory=time.monotonic)
    timed_out: bool = False
    sent: int = 0
    kill_at: float | None = None

    def poll(self, stop: StopRequest) -> tuple[int, float] | None:
        """Exit code and peak RSS (MB) once it has ended; until then stop it on timeout or on request."""
        pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
        if pid:
            self.process.returncode = os.waitstatus_to_exitcode(status)
            return self.process.returncode, usage.ru_maxrss / 1024
        now = time.monotonic()
        if self.cell_timeout and not self.timed_out and now - self.started > self.cell_timeout:
            self.timed_out = True
        wanted = max(stop.count, int(self.timed_out))
        if wanted > self.sent:
            self.sent = wanted
            if self.sent == 1:
                self.process.terminate()
                self.kill_at = now + GRACE_S
            else:
                self.process.kill()
        if self.kill_at is not None and now > self.kill_at:
            self.process.kill()
            self.kill_at = None
        return None
