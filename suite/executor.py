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

from runners.cell import PARENT_PID_ENV
from suite.contract import Result, Status, Task
from suite.stop import StopRequest

GRACE_S = 30.0
"""How long a cell may take to write its finished epochs after being asked to stop, before it is killed."""
POLL_S = 0.1


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
    """One subprocess per cell on this machine, `KERAS_BACKEND` set in its environment.

    The cell is stopped (SIGTERM, then SIGKILL after GRACE_S) when it outlives `cell_timeout`
    or when the grid is asked to stop; its peak resident memory comes from the kernel's
    accounting of that one child (`wait4`), so it is known even for a cell that was killed.
    """

    def __init__(self, cell_timeout: float | None = None):
        self.cell_timeout = cell_timeout

    def run_all(self, jobs: Iterable[Job], workdir: Path, stop: StopRequest) -> Iterator[tuple[Job, Result]]:
        """Run the jobs one after another; each backend's matmul ceiling is measured by its first cell only."""
        ceilings: dict[tuple[str, int], float] = {}
        for job in jobs:
            if stop.signum is not None:
                return
            print(job.title, flush=True)
            key = (job.task.cell.backend, job.task.cell.threads)
            task = dataclasses.replace(job.task, ceiling_gflop_per_s=ceilings.get(key))
            result = self.run(task, job.samples_file, workdir, job.log_file, stop)
            if result.facts.ceiling_gflop_per_s:
                ceilings.setdefault(key, result.facts.ceiling_gflop_per_s)
            yield job, result

    def run(self, task: Task, samples_file: Path, workdir: Path, log_file: Path, stop: StopRequest) -> Result:
        """Run `task` in a process of its backend, its samples saved to `samples_file` and its stderr to `log_file`."""
        workdir.mkdir(parents=True, exist_ok=True)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        cell_id = task.cell.cell_id
        task_path, result_path = workdir / f"{cell_id}.json", workdir / f"{cell_id}.result.json"
        task_path.write_text(dataclasses.replace(task, samples_file=str(samples_file)).to_json())
        result_path.unlink(missing_ok=True)
        env = os.environ | {
            "KERAS_BACKEND": task.cell.backend,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            PARENT_PID_ENV: str(os.getpid()),
        }
        command = [sys.executable, "-m", "runners.cell", str(task_path), str(result_path)]
        with open(log_file, "w") as log:
            process = subprocess.Popen(command, env=env, stderr=log)
        code, peak_rss_mb, timed_out = self._wait(process, stop)
        try:
            result = Result.from_json(result_path.read_text())
        except (OSError, ValueError, TypeError, KeyError):  # none, or not this contract's (another gvbench)
            result = Result.failed(
                f"cell process {describe_exit(code)} and wrote no readable result:\n{tail(log_file)}"
            )
        finally:
            task_path.unlink(missing_ok=True)
            result_path.unlink(missing_ok=True)
        result.facts.peak_rss_mb = peak_rss_mb
        if timed_out:
            result.status = Status.TIMEOUT
            result.error = f"stopped after --cell-timeout {self.cell_timeout:g} s"
        elif stop.signum is not None and not result.status.completed:
            result.status = Status.INTERRUPTED
            result.error = f"stopped by {signal.Signals(stop.signum).name}"
        return result

    def _wait(self, process: subprocess.Popen, stop: StopRequest) -> tuple[int, float, bool]:
        """Wait for the cell; stop it on timeout or on request; return exit code, peak RSS (MB), timed out."""
        start = time.monotonic()
        timed_out, sent, kill_at = False, 0, None
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                return process.returncode, usage.ru_maxrss / 1024, timed_out
            now = time.monotonic()
            if self.cell_timeout and not timed_out and now - start > self.cell_timeout:
                timed_out = True
            wanted = max(stop.count, int(timed_out))
            if wanted > sent:
                sent = wanted
                if sent == 1:
                    process.terminate()
                    kill_at = now + GRACE_S
                else:
                    process.kill()
            if kill_at is not None and now > kill_at:
                process.kill()
                kill_at = None
            time.sleep(POLL_S)
