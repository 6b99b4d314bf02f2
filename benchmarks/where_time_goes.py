"""Where an epoch's time goes: py-spy samples of a cell, summed by what the innermost known frame belongs to.

    py-spy record --idle -r 100 -f raw -o cell.txt -- python -m runners.cell CELL.json RESULT.json
    python -m benchmarks.where_time_goes cell.txt

Only samples of the thread that runs `fit` (or the native loop), taken inside it, count: imports,
the ceiling matmul and sample scoring are left out. `--idle` keeps the samples where that thread
waits for the backend (JAX dispatches asynchronously). Time in C code is charged to the Python
frame that called it. Each sample goes to the first category, in the order below, that any
frame of its stack matches.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

TRACING = "tracing and compiling (first epoch)"

CATEGORIES = [
    # Building the step once: TF's FuncGraph tracing, JAX's tracing/lowering/XLA compile, torch.compile.
    (
        TRACING,
        r"^(func_graph_from_py_func|trace_to_jaxpr\w*|lower_sharding_computation|compile_or_get_cached) "
        r"|torch/_(dynamo|inductor)/",
    ),
    # Where the loop first needs a result: Keras' async callbacks, its epoch-end metric read, our
    # epoch-end fetch. Under JAX these wait for the queued steps; under TF and PyTorch they are instant.
    ("waiting for dispatched steps", r"jax/_src/array\.py|block_until_ready|_flush_futures|get_metrics_result"),
    ("suite: epoch timing callback", r"runners/timing\.py|suite/contract\.py"),
    ("suite: loss trackers (Mean, LastValue)", r"architectures/base\.py"),
    ("keras: callbacks and progress", r"keras/src/callbacks/|keras/src/utils/progbar"),
    ("keras: data feeding", r"keras/src/trainers/data_adapters/|keras/src/trainers/epoch_iterator"),
    ("keras: optimizer update", r"keras/src/optimizers/"),
    ("compiled step (jax.jit / tf.function)", r"jax/_src/(pjit|interpreters/pxla|dispatch)|eager/polymorphic_function"),
    ("model forward (architectures/)", r"architectures/(gan|vae|network|losses)\.py|keras/src/layers/|keras/src/ops/"),
    ("gradients (runners/backends/)", r"runners/backends/"),
    ("native baseline (runners/native/)", r"runners/native/"),
    ("keras: step function wrapper", r"one_step_on_(data|iterator)|multi_step_on_iterator|(one|multi)_train_steps?\b"),
    ("keras: trainer loop and variables", r"keras/src/"),
]


def classify(stack: list[str]) -> str:
    """The first category any frame of the sample's stack matches."""
    for name, pattern in CATEGORIES:
        if any(re.search(pattern, frame) for frame in stack):
            return name
    return "other"


IN_STEP = {
    "suite: loss trackers (Mean, LastValue)",
    "keras: optimizer update",
    "compiled step (jax.jit / tf.function)",
    "model forward (architectures/)",
    "gradients (runners/backends/)",
    "native baseline (runners/native/)",
    "waiting for dispatched steps",
    "keras: step function wrapper",
}
"""Categories that are the training step itself (or waiting for it); the rest is the loop around it."""


def in_training(stack: list[str]) -> bool:
    return any(re.match(r"(\w+\.)?fit \(", frame) for frame in stack)


def shares(raw: Path) -> pd.DataFrame:
    """Samples and share of training time per category, from a py-spy raw (collapsed stacks) file."""
    counts: dict[str, int] = {}
    for line in raw.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        stack = frames.split(";")
        if not in_training(stack):
            continue
        name = classify(stack)
        counts[name] = counts.get(name, 0) + int(count)
    table = pd.DataFrame(sorted(counts.items(), key=lambda kv: -kv[1]), columns=["category", "samples"])
    table["share"] = table.samples / table.samples.sum()
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path, help="py-spy record -f raw output of one cell")
    table = shares(parser.parse_args().raw)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    steady = table[table.category != TRACING]
    outside = steady[~steady.category.isin(IN_STEP)].samples.sum() / steady.samples.sum()
    print(
        f"outside the training step: {100 * outside:.1f}% of the {steady.samples.sum()} samples in training "
        f"that are not {TRACING}"
    )


if __name__ == "__main__":
    main()
