"""Train one cell in this process and write its result as JSON: `python -m runners.cell TASK.json RESULT.json`.

The executor starts one such process per cell with KERAS_BACKEND set, so a crash,
a leak or a warm cache cannot touch the next cell. It reads a `suite.contract.Task`
and writes a `suite.contract.Result`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from architectures.inputs import preprocess
from runners import memory
from runners.environment import machine_facts
from runners.threads import pin
from suite.choices import KERAS2, Status
from suite.contract import Facts, Result, Task
from suite.files import atomic_write

PARENT_PID_ENV = "GVBENCH_PARENT_PID"


UNUSED_IN_A_CELL = ("matplotlib.pyplot", "pandas", "sklearn")
"""Modules Keras imports at start-up only because they are installed (its image gallery, its array slicing, its
scikit-learn wrappers; scikit-learn, which `prdc` needs after training, would import SciPy's array-API shim while the
other backends are hidden, and fail on the hidden torch)."""


def import_keras(backend: str) -> None:
    """Import Keras for `backend` without the other backends' frameworks and `UNUSED_IN_A_CELL`.

    Keras imports what is installed: its Orbax checkpoint callback imports JAX in every process,
    its image gallery matplotlib and its array slicing pandas, about 2.5 s and hundreds of MiB a
    cell that uses none of them. Each is hidden while Keras is imported (its guarded imports find
    nothing) and visible again afterwards.
    """
    from suite.choices import BACKENDS

    hidden = [name for name in (*BACKENDS, *UNUSED_IN_A_CELL) if name != backend and name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # makes `import name` raise ImportError
    try:
        import keras  # noqa: F401
    finally:
        for name in hidden:
            del sys.modules[name]


def set_random_seed(seed: int) -> None:
    """`keras.utils.set_random_seed`, without the TensorFlow import it makes on every backend.

    Keras seeds TensorFlow whenever it is installed; in a PyTorch or JAX cell that import alone
    adds hundreds of MB to the cell's memory and seeds nothing the cell uses.
    """
    import keras

    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        keras.utils.set_random_seed(seed)
        return
    sys.modules["tensorflow"] = None  # makes `import tensorflow` raise ImportError for this call
    try:
        keras.utils.set_random_seed(seed)
    finally:
        del sys.modules["tensorflow"]


KERAS_JIT = {"auto": "auto", "on": True, "off": False}
"""`--jit` as Keras' `compile(jit_compile=...)`: TF XLA, `torch.compile`, `jax.jit`."""


def train_keras(spec, task: Task, x: np.ndarray, recorder, result: Result, watch=None, start: float = 0.0):
    """Train the Keras model with `fit` (in lockstep: `runners.lockstep.fit`), evaluated by `watch` when it is a
    time-to-target cell, from the last saved epoch when the task has a `resume_dir` (`runners.resume`); return it.
    A `tf_keras` cell trains the Keras 2 model (`runners.keras2`) the same way and returns its Keras 3 twin.
    `start`: the `time.perf_counter()` at which this process began the cell."""
    import keras

    from runners import backends, faults, lockstep

    cell = task.cell
    if cell.impl == KERAS2:
        from runners import keras2

        model = keras2.build(spec, seed=cell.seed)
        optimizer, jit = keras2.adam(cell.lr), keras2.JIT[cell.jit]
    else:
        model = backends.build_trainable(spec, seed=cell.seed)
        optimizer, jit = keras.optimizers.Adam(cell.lr), KERAS_JIT[cell.jit]
    if cell.mode == "lockstep":
        lockstep.set_initial_weights(model, cell.seed)
    model.compile(optimizer=optimizer, jit_compile=jit)
    result.facts.jit_compile = bool(model.jit_compile)
    callbacks = [*faults.from_env(cell.model), *([watch] if watch else [])]
    if cell.mode == "lockstep":
        lockstep.fit(model, x, cell, task.verbose, callbacks, recorder, result.steps)
        return twin_of(model, spec, cell.seed)
    resumed, keep = None, []
    if task.resume_dir:
        from runners import resume

        folder = Path(task.resume_dir)
        resumed = resume.restore(folder, cell.cell_id, model, recorder.epochs)
        keep = [resume.EpochCheckpoint(folder, cell.cell_id, recorder.epochs, result.facts, resumed, start)]
        if resumed.epoch:
            print(f"resuming {cell.cell_id} after epoch {resumed.epoch} from {folder}", file=sys.stderr, flush=True)
            result.facts.started_at = resumed.started_at
            result.facts.resumed_epochs = resumed.resumed_epochs
            result.facts.cell_wall_s = resumed.wall_s  # the earlier processes' share; `train` adds this one's
    model.fit(
        x,
        batch_size=cell.batch_size,
        epochs=cell.epochs,
        initial_epoch=resumed.epoch if resumed else 0,
        shuffle=True,
        verbose=task.verbose,
        callbacks=[recorder, *keep, *callbacks],
    )
    return twin_of(model, spec, cell.seed)


def twin_of(model, spec, seed: int):
    """`model` itself if it is a Keras 3 model, else (tf-keras's) its Keras 3 twin."""
    import keras

    if isinstance(model, keras.Model):
        return model
    return keras3_twin(spec, seed, {name: network.get_weights() for name, network in model.networks().items()})


def keras3_twin(spec, seed: int, weights: dict[str, list]):
    """The Keras 3 model of `spec` holding each network's `weights` (Keras' layout and order), for samples and
    quality."""
    from architectures import model_class

    twin = model_class(spec)(spec, seed=seed)
    for name, arrays in weights.items():
        getattr(twin, name).set_weights(arrays)
    return twin


def train_native(spec, task: Task, x: np.ndarray, recorder, result: Result, watch=None, start: float = 0.0):
    """Train the native baseline (runners/native/); return a Keras twin holding its weights, for samples and quality."""
    from runners import native

    cell = task.cell
    model = native.build(spec, cell.backend, native.init_weights(spec, cell.seed), cell.lr, cell.jit, cell.seed)
    result.facts.jit_compile = model.jit_compile
    recorder.diverged_epoch = native.fit(
        model, x, cell.epochs, cell.batch_size, cell.seed, task.verbose, recorder.epochs.append
    )
    return keras3_twin(spec, cell.seed, model.get_weights())


def record_environment(task: Task, facts: Facts) -> None:
    """Versions, machine, the backend's thread controls (after the threads are pinned) and its matmul ceiling."""
    import_keras(task.cell.backend)
    import keras

    from runners import backends
    from runners.ceiling import matmul_gflop_per_s

    backend = backends.current()
    facts.thread_controls += "; " + backend.configure_threads(task.cell.threads)
    for name, value in machine_facts().items():
        setattr(facts, name, value)
    facts.keras_version, facts.backend_version = keras.__version__, backend.version()
    if task.cell.impl == KERAS2:
        if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
            raise RuntimeError("a tf_keras cell runs with TF_USE_LEGACY_KERAS=1 (suite.executor sets it)")
        from runners import keras2

        facts.keras_version = keras2.version()  # the Keras that trains the cell: tf-keras
    facts.numpy_version = np.__version__
    facts.ceiling_gflop_per_s = task.ceiling_gflop_per_s or matmul_gflop_per_s()


def train(task: Task) -> Result:
    """Train the cell; return its facts, per-epoch records, status and, when ok, its quality metrics."""
    start = time.perf_counter()
    cell = task.cell
    facts = Facts(started_at=datetime.now(UTC).isoformat(timespec="seconds"), thread_controls=pin(cell.threads))
    from architectures import get_spec
    from runners.timing import EpochRecorder
    from suite.mnist import load_mnist

    record_environment(task, facts)
    set_random_seed(cell.seed)
    arrays = load_mnist(task.data)
    spec = get_spec(cell.model, cell.variant)
    images = arrays["x_train"][: cell.train_images]
    recorder = EpochRecorder(len(images))
    result = Result(Status.OK, facts=facts, epochs=recorder.epochs)
    trainer = train_native if cell.impl == "native" else train_keras
    x = preprocess(spec, images)
    watch = None
    if cell.eval_every:
        from runners.target_watch import TargetWatch

        watch = TargetWatch(cell, arrays, recorder, result, -(-len(images) // cell.batch_size))
    facts.rss_before_train_mb = memory.rss_mb() if memory.reset_peak() else None
    try:
        model = trainer(spec, task, x, recorder, result, watch, start)
    except KeyboardInterrupt:
        result.status = Status.INTERRUPTED
    except Exception as e:
        if cell.jit == "auto" or recorder.epochs:
            raise
        traceback.print_exc()
        result.status = Status.UNSUPPORTED
        result.error = f"--jit {cell.jit} fails here: {''.join(traceback.format_exception_only(e))}".strip()[:500]
    if facts.rss_before_train_mb is not None:
        facts.train_peak_rss_mb = memory.peak_rss_mb()  # read before samples and scoring allocate anything
    if recorder.diverged_epoch:
        result.status, result.diverged_epoch = Status.DIVERGED, recorder.diverged_epoch
    if result.status == Status.OK:
        from runners import backends
        from runners.lockstep import final_weights
        from runners.scoring import sample_and_score

        samples_file = Path(task.samples_file) if task.samples_file else None
        kept = final_weights(model) if cell.mode == "lockstep" else {}
        scored = cell.quality_images
        if watch is not None:
            watch.finish()
            if result.target_step is None:
                result.status = Status.BUDGET
            scored = 0  # the last evaluation scored the final weights
        if task.compile_cache:
            backends.current().cache_compilations(task.compile_cache)
        result.quality = sample_and_score(model, arrays, cell.sample_images, scored, samples_file, kept)
        if watch is not None:
            last = result.evaluations[-1]
            result.quality = last.scores | {"quality_eval_s": last.eval_s}
    facts.cell_wall_s = (facts.cell_wall_s or 0.0) + time.perf_counter() - start
    return result


def stop_on_signal(signum: int, frame: object) -> None:
    """SIGINT or SIGTERM from the grid: end training at once and report the finished epochs."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def die_with_parent() -> None:
    """Linux: be killed when the grid process dies, so no orphaned cell keeps the CPU busy."""
    if sys.platform != "linux" or PARENT_PID_ENV not in os.environ:
        return
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != int(os.environ[PARENT_PID_ENV]):
        os._exit(1)


def main(argv: list[str]) -> int:
    die_with_parent()
    signal.signal(signal.SIGINT, stop_on_signal)
    signal.signal(signal.SIGTERM, stop_on_signal)
    task_path, result_path = Path(argv[0]), Path(argv[1])
    task = Task.from_json(task_path.read_text())
    try:
        result = train(task)
    except KeyboardInterrupt:
        result = Result(Status.INTERRUPTED)
    except Exception as e:
        traceback.print_exc()
        where = traceback.format_exc().strip().splitlines()[-7:-1]
        result = Result.failed("\n".join(["".join(traceback.format_exception_only(e)).strip()[:500], *where]))
    with atomic_write(result_path) as f:
        f.write(result.to_json().encode())
    return 0 if result.status.completed else 1


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the result is written: skip the frameworks' teardown (about a second a cell)
