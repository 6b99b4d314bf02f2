"""Give every backend the same number of CPU threads, before it is imported."""

from __future__ import annotations

import os

THREAD_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def pin(threads: int) -> str:
    """Set thread environment variables and restrict the process to `threads` CPUs."""
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
    if threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
    cpus = sorted(os.sched_getaffinity(0))
    if threads < len(cpus):
        os.sched_setaffinity(0, cpus[:threads])
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    pinned = sorted(os.sched_getaffinity(0))
    return f"affinity={len(pinned)} cpus ({','.join(map(str, pinned))}), OMP/MKL/OpenBLAS={threads}, nice={nice}"
