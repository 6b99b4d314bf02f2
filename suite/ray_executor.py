"""Run a grid's cells as Ray tasks, one cell per worker process, on a local Ray instance or a cluster.

Each task runs the cell exactly as `LocalExecutor` does (a `runners.cell` subprocess of the
cell's backend, timeout, peak memory from `wait4`) in a worker that serves one task only
(`max_calls=1`) and asks for a whole node's CPUs, then sends the result, the samples file and
the log back; the driver writes them with the same atomic writer as a local run.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from suite.contract import Cell, Result, Task
from suite.errors import GvbenchError
from suite.executor import Job, LocalExecutor
from suite.files import atomic_write
from suite.stop import StopRequest

FORWARDED_ENV = ("KERAS_HOME", "TF_CPP_MIN_LOG_LEVEL")
"""Driver environment a task gets besides its own (`Cell.environment`) and every `GVBENCH_*` variable."""
OBJECT_STORE_BYTES = 256 * 1024**2
"""Object store of a local instance: results, samples and logs are small."""
POLL_S = 0.5
NICENESS_ENV = "RAY_worker_niceness"
"""Ray runs workers at niceness 15 unless this is 0 where the node starts; a local instance gets 0."""
ADDRESS = re.compile(r"(?:ray://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):(?P<port>\d{1,5})")
"""`HOST:PORT` of a Ray head (GCS), or `ray://HOST:PORT` of a Ray client server."""
CONNECT_TIMEOUT_S = 10.0
"""How long the head's port may take to accept a connection before the address counts as not answering."""


class RayUnavailable(GvbenchError):
    """Ray is not installed, or the cluster cannot run the cells as asked."""


def run_cell(task_json: str, cell_timeout: float | None, cpus_per_cell: int) -> tuple[str, bytes | None, str, str]:
    """On a Ray worker: run one cell as the local executor does; return its result (JSON), samples, log and node.

    Its `parallel_cells` is the most cells Ray may place on this node at once: its CPUs ÷ `cpus_per_cell`."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 0)  # Ray starts workers at niceness 15; a timed cell runs at 0
    except PermissionError:
        pass  # the cell records the niceness it got (thread_controls)
    with tempfile.TemporaryDirectory(prefix="gvbench-ray-") as tmp:
        folder = Path(tmp)
        samples, log = folder / "samples.npz", folder / "cell.log"
        result = LocalExecutor(cell_timeout).run(Task.from_json(task_json), samples, folder, log, StopRequest())
        result.facts.parallel_cells = max(1, (os.cpu_count() or 1) // cpus_per_cell)
        return (
            result.to_json(),
            samples.read_bytes() if samples.exists() else None,
            log.read_text(errors="replace") if log.exists() else "",
            socket.gethostname(),
        )


def check_address(address: str) -> None:
    """Refuse, within seconds, an address that is not `HOST:PORT`, `ray://HOST:PORT` or `auto`, or does not answer."""
    if address == "auto":
        return
    match = ADDRESS.fullmatch(address)
    if not match or not 0 < int(match["port"]) < 65536:
        raise RayUnavailable(
            f"--ray-address {address!r} is not HOST:PORT (the head's GCS port, e.g. 10.0.0.5:6379), "
            "ray://HOST:PORT or auto"
        )
    try:
        socket.create_connection((match["host"].strip("[]"), int(match["port"])), CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise RayUnavailable(
            f"no Ray answers at --ray-address {address} ({e.strerror or e}); start the head with "
            "`ray start --head`, or leave --ray-address out to start a local instance"
        ) from e


def task_env(cell: Cell) -> dict[str, str]:
    """The environment variables a cell's task runs with: its own (`Cell.environment`) and the driver's gvbench
    settings."""
    env = {k: v for k, v in os.environ.items() if k.startswith("GVBENCH_") or k in FORWARDED_ENV}
    return env | cell.environment


def lost(error: Exception) -> Result:
    """The result of a cell whose worker or node died: `failed`, saying what happened and how to resume."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return Result.failed(
        f"Ray lost the cell's worker or node mid-cell ({type(error).__name__}: {first[:300]}); "
        "run the same command again to rerun it"
    )


class RayExecutor:
    """Cells as Ray tasks with `num_cpus=cpus_per_cell`; starts a local instance unless given an address.

    An address is checked when the executor is made, before anything trains."""

    def __init__(self, address: str | None, cpus_per_cell: int, cell_timeout: float | None = None):
        try:
            import ray
        except ImportError as e:
            raise RayUnavailable("--executor ray needs Ray: pip install 'gvbench[ray]'") from e
        if address:
            check_address(address)
        self.ray, self.address = ray, address
        self.cpus_per_cell, self.cell_timeout = cpus_per_cell, cell_timeout

    def connect(self) -> None:
        ray = self.ray
        try:
            if self.address:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            else:
                os.environ.setdefault(NICENESS_ENV, "0")
                ray.init(include_dashboard=False, log_to_driver=False, object_store_memory=OBJECT_STORE_BYTES)
        except (ConnectionError, RuntimeError, ValueError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise RayUnavailable(f"Ray did not start or connect ({first[:300]})") from e
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

    def run_all(self, jobs: Iterable[Job], workdir: Path, stop: StopRequest) -> Iterator[tuple[Job, Result]]:
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
                    runtime_env={"env_vars": task_env(job.task.cell)},
                ).remote(job.task.to_json(), self.cell_timeout, self.cpus_per_cell): job
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
                    result, node = self._result(ref, job)
                    finished += 1
                    print(f"[{finished}/{len(jobs)}] {job.task.cell.cell_id} on {node}", flush=True)
                    yield job, result
        finally:
            ray.shutdown()

    def _result(self, ref, job: Job) -> tuple[Result, str]:
        """The task's result and node, with its samples and log written under the results folder."""
        try:
            result_json, samples, log_text, node = self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as e:
            return Result.failed(f"the Ray task raised: {e}"[:2000]), "?"
        except self.ray.exceptions.RayError as e:
            return lost(e), "?"
        if samples is not None:
            with atomic_write(job.samples_file) as f:
                f.write(samples)
        with atomic_write(job.log_file) as f:
            f.write(log_text.encode())
        try:
            return Result.from_json(result_json), node
        except (ValueError, TypeError, KeyError) as e:
            return Result.failed(f"node {node} sent a result this gvbench cannot read ({e}); install one version"), node
