"""Why TensorFlow's DenseGAN step settles near 16 ms in some epochs and near 24 ms in others, on a 2-core machine.

    python -m benchmarks.tf_modes --processes 4 --epochs 20
    python -m benchmarks.tf_modes --conditions default inter-op-1 --processes 6

Each condition changes one thing in a TensorFlow DenseGAN cell (`quick` images, lr 1e-4) and runs as processes of
its own, the conditions interleaved in rounds (ABC CBA ...), so a drift of the machine falls alike on each. It
prints, per condition, every epoch's step time, the share of epochs in the slow mode (above the midpoint of the two
modes, 20 ms by default) and the processes' median step times. Run it alone on the machine.

- `default`: as `gvbench run` runs it (intra-op and inter-op pools of 2 threads, oneDNN on).
- `inter-op-1`: one inter-op thread: the GAN step's independent ops are not run side by side.
- `onednn-off`: TF_ENABLE_ONEDNN_OPTS=0: Eigen's kernels instead of oneDNN's.
- `intra-op-1`: one intra-op thread (with inter-op 2): kernels are not split across the cores.
- `autotune-off`: tf.data's autotuner off: the input pipeline's parallelism and prefetch buffer are the same in every
  epoch (Keras builds a new pipeline iterator, autotuned afresh, each epoch).
- `one-core`: the whole process pinned to one core (`taskset -c 0`), one thread in each pool.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from runners.cell import PARENT_PID_ENV
from suite.contract import Cell, Result, Task


@dataclass(frozen=True)
class Condition:
    """One change to a TensorFlow cell: environment, (intra-op, inter-op) threads (None: gvbench's), autotune, cores."""

    env: dict[str, str] = field(default_factory=dict)
    threads: tuple[int, int] | None = None
    autotune: bool = True
    cores: str | None = None


CONDITIONS = {
    "default": Condition(),
    "inter-op-1": Condition(threads=(2, 1)),
    "onednn-off": Condition(env={"TF_ENABLE_ONEDNN_OPTS": "0"}),
    "intra-op-1": Condition(threads=(1, 2)),
    "autotune-off": Condition(autotune=False),
    "one-core": Condition(threads=(1, 1), cores="0"),
}


def worker(condition: str, task_path: str, result_path: str) -> int:
    """Run one cell in this process under `condition` (runners.cell's entry, its thread setting replaced)."""
    import tensorflow as tf

    from runners import cell
    from runners.backends import tensorflow as backend

    threads = CONDITIONS[condition].threads
    if threads is not None:

        def configure(_: int) -> str:
            tf.config.threading.set_intra_op_parallelism_threads(threads[0])
            tf.config.threading.set_inter_op_parallelism_threads(threads[1])
            return f"tf.config.threading intra_op={threads[0]} inter_op={threads[1]} ({condition})"

        backend.configure_threads = configure
    if not CONDITIONS[condition].autotune:
        prefetch = tf.data.Dataset.prefetch

        def fixed_prefetch(dataset, buffer_size, name=None):
            options = tf.data.Options()
            options.autotune.enabled = False
            return prefetch(dataset.with_options(options), buffer_size, name=name)

        tf.data.Dataset.prefetch = fixed_prefetch
    return cell.main([task_path, result_path])


def run_one(condition: str, model: str, seed: int, epochs: int, data: str | None, workdir: Path) -> list[float]:
    """One process of `condition`: its steady epochs' step times in ms."""
    cell = Cell("tensorflow", model, "paper", 1e-4, "quick", seed, epochs, 2)
    task = Task(cell, data, 0, samples_file=str(workdir / f"{condition}-{seed}.npz"))
    task_path, result_path = workdir / "task.json", workdir / "result.json"
    task_path.write_text(task.to_json())
    env = os.environ | {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2", PARENT_PID_ENV: str(os.getpid())}
    env |= CONDITIONS[condition].env
    pin = ["taskset", "-c", CONDITIONS[condition].cores] if CONDITIONS[condition].cores else []
    worker_args = ["--worker", condition, str(task_path), str(result_path)]
    command = [*pin, sys.executable, "-m", "benchmarks.tf_modes", *worker_args]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    result = Result.from_json(result_path.read_text())
    return [1000 * e.epoch_time_s / e.steps for e in result.epochs[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conditions", nargs="+", choices=CONDITIONS, default=list(CONDITIONS))
    parser.add_argument("--model", default="DenseGAN")
    parser.add_argument("--processes", type=int, default=4, help="processes per condition")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--split-ms", type=float, default=20.0, help="a step above this is the slow mode")
    parser.add_argument("--data", help="an mnist.npz (default: as gvbench run)")
    parser.add_argument("--csv", type=Path, help="also write every epoch's step time here, one row per epoch")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        sys.exit(worker(*args.worker))
    found: dict[str, list[list[float]]] = {c: [] for c in args.conditions}
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(args.processes):
            order = args.conditions if round_ % 2 == 0 else args.conditions[::-1]
            for condition in order:
                steps = run_one(condition, args.model, round_, args.epochs, args.data, Path(folder))
                found[condition].append(steps)
                print(f"round {round_ + 1} {condition}: " + " ".join(f"{s:.1f}" for s in steps), flush=True)
    for condition, processes in found.items():
        every = np.concatenate(processes)
        slow = float(np.mean(every > args.split_ms))
        medians = ", ".join(f"{np.median(p):.1f}" for p in processes)
        fast_ms = np.median(every[every <= args.split_ms]) if (every <= args.split_ms).any() else float("nan")
        slow_ms = np.median(every[every > args.split_ms]) if (every > args.split_ms).any() else float("nan")
        print(
            f"{condition}: {slow:.0%} of {len(every)} epochs slow (median fast {fast_ms:.1f} ms, slow {slow_ms:.1f} "
            f"ms); process medians {medians} ms"
        )
    if args.csv:
        rows = [
            {"condition": c, "process": i + 1, "epoch": e + 2, "step_ms": step}
            for c, processes in found.items()
            for i, steps in enumerate(processes)
            for e, step in enumerate(steps)
        ]
        pd.DataFrame(rows).to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
