"""Profile models in this process's backend and write what it measured as JSON:
`python -m runners.profile_worker TASK.json RESULT.json`.

`suite.profile` starts one such process per backend × implementation × replicate, with KERAS_BACKEND set;
each measures every selected model: the whole step as the training loop runs it (Keras' `fit`, or the
native baseline's loop) and the compiled step called directly, in interleaved rounds; then each phase of
the step on its own (`runners.phases`), then each weighted layer. The steps come first, so no phase's
compilation or cache can speed them.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from runners.phases import Phase, timed
from runners.threads import pin
from suite.choices import PATCHED
from suite.files import atomic_write

STEP_EPOCH_S = 0.75
"""Seconds of training each timed loop epoch of the step measurement aims at, within `STEP_BATCHES`."""
STEP_BATCHES = (2, 25)
"""Fewest and most batches a timed loop epoch of the step measurement trains."""
STEP_ROUNDS = 3
"""Rounds of the step measurement, each a loop epoch and a block of compiled steps, their order alternating
(loop first, then compiled first, ...): the overhead is the difference within each round, so that a drift of the
machine during the measurement reaches both of its terms alike."""
STEP_CALLS_PER_EPOCH = 2
"""A block of compiled steps runs half a loop epoch's batches (at least one): enough queued steps that an
asynchronous backend's dispatch overlaps the one before, as in the loop, at half the cost."""
TRACE_BATCHES = 3
"""Batches of the one epoch a traced process trains under its backend's profiler (after everything is timed)."""
WARM_BATCHES = 1
"""Batches of each of the two warm-up epochs: the first compiles, the second estimates the step's time."""


@dataclass
class ProfileTask:
    backend: str
    impl: str
    models: list[str]
    variant: str
    batch_size: int
    threads: int
    seed: int
    warmup: int
    repeats: int
    layers: bool
    data: str | None = None
    trace_dir: str | None = None
    process: int = 0
    compile_cache: str | None = None
    """A folder the processes of one profile share for what their backend compiles (`cache_compilations`): each
    compiles in an untimed warm-up, so a later process loading it changes the profile's cost, not its times."""


@dataclass
class ProfileResult:
    facts: dict = field(default_factory=dict)
    steps: list[dict] = field(default_factory=list)
    phases: list[dict] = field(default_factory=list)
    layers: list[dict] = field(default_factory=list)
    operations: list[dict] = field(default_factory=list)
    seconds: float = math.nan


def training_images(task: ProfileTask, spec, batches: int) -> np.ndarray:
    from architectures.inputs import preprocess
    from suite.mnist import load_mnist

    images = load_mnist(task.data, log=lambda _: None)["x_train"][: batches * task.batch_size]
    return preprocess(spec, images)


def keras_model(task: ProfileTask, spec):
    """The Keras model of `spec`, compiled as a cell compiles it, at its paper learning rate."""
    import keras

    from runners import backends
    from runners.cell import KERAS_JIT

    model = backends.build_trainable(spec, seed=task.seed)
    model.compile(optimizer=keras.optimizers.Adam(spec.paper_lr), jit_compile=KERAS_JIT["auto"])
    return model


def keras_epochs(model, x: np.ndarray, batch_size: int, epochs: int) -> list[float]:
    """Seconds per step of each epoch of `fit` on `x` (the recorder waits for the backend before the clock stops)."""
    from runners.timing import EpochRecorder

    recorder = EpochRecorder(len(x))
    model.fit(x, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=[recorder])
    return [record.epoch_time_s / record.steps for record in recorder.epochs]


def native_epochs(model, x: np.ndarray, batch_size: int, epochs: int, seed: int) -> list[float]:
    from runners import native

    records = []
    native.fit(model, x, epochs, batch_size, seed, 0, records.append)
    return [record.epoch_time_s / record.steps for record in records]


def loop_epochs(task: ProfileTask, model) -> Callable[[np.ndarray, int], list[float]]:
    """A function training `model` for some epochs on some images, the way this task's implementation trains."""
    if task.impl == "native":
        return lambda x, count: native_epochs(model, x, task.batch_size, count, task.seed)
    return lambda x, count: keras_epochs(model, x, task.batch_size, count)


def step_batches(task: ProfileTask, epochs: Callable[[np.ndarray, int], list[float]], x: np.ndarray) -> int:
    """Batches of a timed loop epoch: `STEP_EPOCH_S` at the step's estimate, after two short warm-up epochs (the
    first compiles, the second estimates)."""
    estimate = epochs(x[: WARM_BATCHES * task.batch_size], 2)[-1]
    return min(max(math.ceil(STEP_EPOCH_S / estimate), STEP_BATCHES[0]), STEP_BATCHES[1])


def interleaved_steps(epoch: Callable[[], float], step: Phase, calls: int) -> tuple[list[float], list[float]]:
    """Seconds per step of the loop and of the compiled step, `STEP_ROUNDS` of each, in rounds whose order
    alternates (loop, compiled; compiled, loop; ...), after one untimed compiled step (its compilation)."""
    step.finish(step.run(step.setup()))
    loop, compiled = [], []
    for round_ in range(STEP_ROUNDS):
        for which in (0, 1) if round_ % 2 == 0 else (1, 0):
            if which == 0:
                loop.append(epoch())
            else:
                compiled.append(timed(step.run, step.setup, 0, 1, step.finish, calls))
    return loop, compiled


def weighted_layers(task: ProfileTask, spec, model) -> list:
    """The `LayerPasses` of every weighted layer of both networks, built by the backend's module for this impl."""
    import importlib

    from runners.native import plan, split
    from runners.phases import LayerPasses

    rng = np.random.default_rng(task.seed)
    module = importlib.import_module(f"runners.{'native' if task.impl == 'native' else 'backends'}.{task.backend}")
    found = []
    for name in spec.family.networks:
        network_blocks, shapes = plan(spec, name)
        if task.impl == "native":
            trainable = iter(split(network_blocks, model.get_weights()[name])[0])
        for index, (block, shape) in enumerate(zip(network_blocks, shapes, strict=True)):
            if task.impl == "native" and block.kind == "batchnorm":
                next(trainable), next(trainable)  # its γ and β
            if not block.weighted:
                continue
            x = rng.standard_normal((task.batch_size, *shape)).astype(np.float32)
            if task.impl == "native":
                passes = module.layer_passes(block, shape, [next(trainable), next(trainable)], x)
            else:
                passes = module.layer_passes(getattr(model, name).layers[index], x)
            found.append(LayerPasses(name, index, block, shape, passes))
    return found


def profile_model(task: ProfileTask, model_name: str, result: ProfileResult) -> None:
    from architectures import get_spec
    from architectures.spec import noise_rows
    from runners import backends, native
    from runners.phases import STEP, measure, measure_layer, native_step, network_calls

    spec = get_spec(model_name, task.variant)
    if task.impl == PATCHED:
        from runners.backends import jax_patch

        jax_patch.apply()
    if task.impl == "native":
        model = native.build(spec, task.backend, native.init_weights(spec, task.seed), spec.paper_lr, "auto", task.seed)
    else:
        model = keras_model(task, spec)
    setting = {"backend": task.backend, "impl": task.impl, "model": model_name, "process": task.process}
    start = time.perf_counter()
    epochs = loop_epochs(task, model)
    x = training_images(task, spec, STEP_BATCHES[1])
    batches = step_batches(task, epochs, x)
    one = x[: task.batch_size]
    if task.impl == "native":
        step = native_step(model, one)
    else:
        step = backends.current().compiled_step(model, one)
    loop, compiled = interleaved_steps(
        lambda: epochs(x[: batches * task.batch_size], 1)[0], step, math.ceil(batches / STEP_CALLS_PER_EPOCH)
    )
    # the overhead is the difference of these two means, which is the mean of the rounds' differences
    row = setting | {"step_s": statistics.fmean(loop), "step_batches": batches, "step_rounds": STEP_ROUNDS}
    row |= {"compiled_step_s": statistics.fmean(compiled), "step_wall_s": time.perf_counter() - start}
    compiled_row = {"phase": STEP, "network": step.network, "method": step.method, "seconds": row["compiled_step_s"]}
    result.phases.append(setting | compiled_row)
    start = time.perf_counter()
    rng = np.random.default_rng(task.seed)
    noise = rng.standard_normal((noise_rows(spec, task.batch_size), spec.latent_dim)).astype(np.float32)
    calls = network_calls(spec, task.batch_size, task.seed)
    if task.impl == "native":
        phases = model.phases(calls, one, noise)
    else:
        phases = backends.current().phases(model, calls, one, noise)
    for phase in phases:
        result.phases.append(setting | measure(phase, task.warmup, task.repeats))
    row["phases_wall_s"], start = time.perf_counter() - start, time.perf_counter()
    if task.layers:
        for layer in weighted_layers(task, spec, model):
            result.layers += [setting | r for r in measure_layer(layer, task.warmup, task.repeats, task.batch_size)]
    row["layers_wall_s"] = time.perf_counter() - start
    result.steps.append(row)
    if task.trace_dir:
        result.operations += traced_operations(task, spec, model, setting)


def traced_operations(task: ProfileTask, spec, model, setting: dict) -> list[dict]:
    """One epoch of `TRACE_BATCHES` batches as training runs it, under the backend's own profiler: its trace saved in
    `trace_dir`, and each operation's self seconds and calls per step."""
    from runners import backends

    folder = Path(task.trace_dir)
    folder.mkdir(parents=True, exist_ok=True)
    x = training_images(task, spec, TRACE_BATCHES)
    if task.impl == "native":
        run = lambda: native_epochs(model, x, task.batch_size, 1, task.seed)  # noqa: E731
    else:
        run = lambda: keras_epochs(model, x, task.batch_size, 1)  # noqa: E731
    name = ".".join(str(setting[key]) for key in ("backend", "impl", "model"))
    path, operations = backends.current().traced(run, folder, name)
    return [
        setting
        | {
            "operation": operation,
            "self_s": seconds / TRACE_BATCHES,
            "calls": count / TRACE_BATCHES,
            "trace": path.name,
        }
        for operation, (seconds, count) in operations.items()
    ]


def run(task: ProfileTask) -> ProfileResult:
    start = time.perf_counter()
    controls = pin(task.threads)
    from runners.cell import import_keras, set_random_seed

    import_keras(task.backend)
    import keras

    from runners import backends
    from runners.ceiling import matmul_gflop_per_s
    from runners.environment import machine_facts

    backend = backends.current()
    controls += "; " + backend.configure_threads(task.threads)
    if task.compile_cache:
        backend.cache_compilations(task.compile_cache)
    set_random_seed(task.seed)
    result = ProfileResult()
    result.facts = machine_facts() | {
        "thread_controls": controls,
        "keras_version": keras.__version__,
        "backend_version": backend.version(),
        "numpy_version": np.__version__,
        "ceiling_gflop_per_s": matmul_gflop_per_s(),
    }
    for model_name in task.models:
        profile_model(task, model_name, result)
    result.seconds = time.perf_counter() - start
    return result


def main(argv: list[str]) -> int:
    task = ProfileTask(**json.loads(Path(argv[0]).read_text()))
    result = run(task)
    with atomic_write(Path(argv[1])) as f:
        f.write(json.dumps(asdict(result)).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
