"""The machine's attainable float32 rate in this backend: the best of a few large matrix products."""

from __future__ import annotations

import time

import numpy as np

MATMUL_SIZE = 2048
REPEATS = 5


def matmul_gflop_per_s(size: int = MATMUL_SIZE, repeats: int = REPEATS) -> float:
    """Best GFLOP/s of `repeats` float32 size×size products through `keras.ops.matmul`, after one warm-up.

    Runs in the cell's process after its threads are pinned, so it sees the cores and thread
    settings the cell trains with. Each product is finished (one element fetched) before the clock stops.
    """
    from keras import ops

    rng = np.random.default_rng(0)
    a, b = (ops.convert_to_tensor(rng.standard_normal((size, size), dtype=np.float32)) for _ in range(2))
    best = float("inf")
    for i in range(repeats + 1):
        start = time.perf_counter()
        float(ops.convert_to_numpy(ops.matmul(a, b)[0, 0]))
        if i:
            best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9
