"""Pin the threads before any backend is imported, as a cell does."""

from __future__ import annotations

import os

from runners.threads import pin

THREADS = int(os.environ.get("GVBENCH_THREADS", os.cpu_count() or 1))
THREAD_CONTROLS = pin(THREADS)
