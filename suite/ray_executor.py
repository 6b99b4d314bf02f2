"""Run a grid's cells as Ray tasks, one cell per worker process, on a local Ray instance or a cluster.

Each task runs the cell exactly as `LocalExecutor` does (a `runners.cell` subprocess of the
cell's backend, timeout, peak memory from `wait4`) in a worker that serves one task only
(`max_calls=1`) and asks for a whole node's CPUs, then sends the result, the samples file and
the log back; the driver writes them with the same atomic writer as a local run.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from suite.executor import Job, LocalExecutor
from suite.files import atomic_write
from suite.grid import Cell
from suite.stop import StopRequest

FORWARDED_ENV = ("KERAS_HOME", "TF_CPP_MIN_LOG_LEVEL")
"""Driver environment a task gets besides `KERAS_BACKEND` and every `GVBENCH_*` variable."""
OBJECT_STORE_BYTES = 256 * 1024**2
"""Object store of a local instance: results, samples and logs are small."""
POLL_S = 0.5
NICENESS_ENV = "RAY_worker_niceness"
"""Ray runs workers at niceness 15 unless this is 0 where the node starts; a local instance gets 0."""


class RayUnavailable(Exception):
    """Ray is not installed, or the cluster cannot run the cells as asked."""


def run_cell(cell: dict, payload: dict, cell_timeout: float | None) -> dict:
    """On a Ray worker: run one cell as the local executor does; return its result, samples and log."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 0)  # Ray starts workers at niceness 15; a timed cell runs at 0
    except PermissionError:
        pass  # the cell records the niceness it got (thread_controls)
    with tempfile.TemporaryDirectory(prefix="gvbench-ray-") as tmp:
        folder = Path(tmp)
        samples, log = folder / "samples.npz", folder / "cell.log"
        fields = {k: cell[k] for k in ("backend", "model", "variant", "lr", "profile", "seed", "epochs", "threads")}
        result = LocalExecutor(cell_timeout).run(
            Cell(**fields), payload | {"samples_file": str(samples)}, folder, log, StopRequest()
        )
        result["samples_npz"] = samples.read_bytes() if samples.exists() else None
        result["log_text"] = log.read_text(errors="replace") if log.exists() else ""
        result["node"] = socket.gethostname()
    return result


def task_env(backend: str) -> dict[str, str]:
    """The environment variables a cell's task runs with: its backend and the driver's gvbench settings."""
    env = {k: v for k, v in os.environ.items() if k.startswith("GVBENCH_") or k in FORWARDED_ENV}
    return env | {"KERAS_BACKEND": backend}


def lost(job: Job, error: Exception) -> dict:
    """The result of a cell whose worker or node died: `failed`, saying what happened and how to resume."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    message = (
        f"Ray lost the cell's worker or node mid-cell ({type(error).__name__}: {first[:300]}); "
        "run the same command again to rerun it"
    )
    return {"status": "failed", "error": message, "facts": {}, "epochs": []}


class RayExecutor:
    """Cells as Ray tasks with `num_cpus=cpus_per_cell`; starts a local instance unless given an address."""

    def __init__(self, address: str | None, cpus_per_cell: int, cell_timeout: float | None = None):
        try:
            import ray
        except ImportError as e:
            raise RayUnavailable("--executor ray needs Ray: pip install 'gvbench[ray]'") from e
        self.ray, self.address = ray, address
        self.cpus_per_cell, self.cell_timeout = cpus_per_cell, cell_timeout

    def connect(self) -> None:
        ray = self.ray
        if self.address:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        else:
            os.environ.setdefault(NICENESS_ENV, "0")
            ray.init(include_dashboard=False, log_to_driver=False, object_store_memory=OBJECT_STORE_BYTES)
        largest = max((node["Resources"].get("CPU", 0) for node in ray.nodes() if node["Alive"]), default=0)
        if self.cpus_per_cell > largest:
            ray.shutdown()
            raise RayUnavailable(
                f"--cpus-per-cell {self.cpus_per_cell} exceeds the {largest:g} CPUs of the largest Ray node; "
                "pass --cpus-per-cell (and --threads) at most that"
            )
        nodes = sum(node["Alive"] for node in ray.nodes())
        where = self.address or "a local instance"
        print(f"Ray: {where}, {nodes} node(s), {ray.cluster_resources().get('CPU', 0):g} CPUs", flush=True)

    def run_all(self, jobs: Iterable[Job], workdir: Path, stop: StopRequest) -> Iterator[tuple[Job, dict]]:
        jobs = list(jobs)
        if not jobs:
            return
        ray = self.ray
        self.connect()
        stop.reclaim()
        try:
            task = ray.remote(max_calls=1)(run_cell)
            pending = {
                task.options(
                    num_cpus=self.cpus_per_cell,
                    max_retries=0,
                    runtime_env={"env_vars": task_env(job.cell.backend)},
                ).remote(job.cell.to_dict(), job.payload, self.cell_timeout): job
                for job in jobs
            }
            print(f"Ray: submitted {len(jobs)} cells, {self.cpus_per_cell} CPUs each", flush=True)
            finished = 0
            while pending:
                if stop.signum is not None:
                    for ref in pending:
                        ray.cancel(ref, force=True)
                    print(f"Ray: cancelled {len(pending)} unfinished cells", flush=True)
                    return
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
                for ref in ready:
                    job = pending.pop(ref)
                    result = self._result(ref, job)
                    finished += 1
                    print(f"[{finished}/{len(jobs)}] {job.cell.cell_id} on {result.get('node', '?')}", flush=True)
                    yield job, result
        finally:
            ray.shutdown()

    def _result(self, ref, job: Job) -> dict:
        """The task's result with its samples and log written under the results folder."""
        try:
            result = self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as e:
            return {"status": "failed", "error": f"the Ray task raised: {e}"[:2000], "facts": {}, "epochs": []}
        except self.ray.exceptions.RayError as e:
            return lost(job, e)
        samples = result.pop("samples_npz", None)
        if samples is not None:
            with atomic_write(job.samples_file) as f:
                f.write(samples)
        with atomic_write(job.log_file) as f:
            f.write(result.pop("log_text", "").encode())
        return result
