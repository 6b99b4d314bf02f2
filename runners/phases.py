"""A training step split into phases, each timed on its own: what `gvbench profile` measures in one process.

A phase is one part of a step as the step itself runs it, compiled the way the step is: each network's
forward passes, the gradients of every loss (the backward), the optimizer's update. Each backend module
(`runners/backends/`, `runners/native/`) builds its phases from the very functions its train step calls, and
the compiled step itself (`STEP`: the train step called directly, without the training loop around it); this
module times them, and times each weighted layer alone. The step is also timed by the training loop itself;
`suite.profile` splits it into the phases and the framework's overhead.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from architectures.flops import block_flops
from architectures.spec import ModelSpec, network_inputs

FORWARD, BACKWARD, OPTIMIZER, OVERHEAD = "forward", "backward", "optimizer", "overhead"
PHASES = (FORWARD, BACKWARD, OPTIMIZER, OVERHEAD)
STEP = "compiled_step"
"""Not a phase: the whole train step called directly, which the phases are shares of (`suite.profile`)."""
ALL_NETWORKS = "all"
"""The `network` of a phase that covers both networks at once (the backward, the optimizer, the overhead)."""
LAYER_PASSES = ("forward", "forward_backward", "input_gradient", "weight_gradient")
"""What is timed of each weighted layer: its forward alone; its forward with the gradients with respect to its input
and its weights; its forward with the input's gradient alone; its forward with the weights' gradients alone. The last
two split a backward into its two operations (for a convolution, two convolutions of their own)."""
PASS_FLOPS = {"forward": 1, "forward_backward": 3, "input_gradient": 2, "weight_gradient": 2}
"""Forward-pass equivalents of each pass (architectures/flops.py: each gradient costs one forward)."""


def nothing(*_) -> None:
    return None


@dataclass
class Phase:
    """One phase of a step: `run(setup())` executes it once and returns only when the backend has finished it."""

    phase: str
    network: str
    run: Callable[[Any], object]
    setup: Callable[[], Any] = nothing
    """Untimed preparation before each run (PyTorch's backward needs a fresh forward graph)."""
    minus: Callable[[], object] | None = None
    """When set, the phase is derived: the time of `run` less the time of `minus` (the backend cannot run it alone)."""
    method: str = ""
    finish: Callable[[object], object] = nothing
    """Waits for what `run` returned, when `run` itself does not (a step dispatched asynchronously)."""
    calls: int = 1
    """Runs per timing, each on the last one's result, finished once at the end: steps queued as training queues
    them, so that an asynchronous backend's dispatch overlaps the previous step as it does in the loop."""


def step_phase(run: Callable[[], object], finish: Callable[[object], object], method: str) -> Phase:
    """The `STEP` of a backend: `run()` is one train step on a fixed batch, `finish` waits for it."""
    return Phase(STEP, ALL_NETWORKS, lambda _: run(), finish=finish, method=method)


def native_step(model, x: np.ndarray) -> Phase:
    """A native baseline's `STEP`: its own `step` as its training loop calls it (drawing its noise), its losses
    fetched as the loop fetches them."""
    return step_phase(lambda: model.step(x), lambda losses: [float(v) for v in losses], "the baseline's step")


@dataclass
class LayerPasses:
    """The timed passes of one weighted layer (`LAYER_PASSES`), each finished before it returns."""

    network: str
    index: int
    block: Any
    shape: tuple[int, ...]
    passes: dict[str, Callable[[], object]]


def network_calls(spec: ModelSpec, batch: int, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """The inputs each network is called on in one step: `step_calls` batches of its input shape (float32).

    Only shapes matter to the time of a dense or convolutional layer, so the inputs are drawn, not computed."""
    rng = np.random.default_rng(seed)
    calls = {}
    for (name, (shape, _)), count in zip(network_inputs(spec).items(), spec.family.step_calls, strict=True):
        calls[name] = [rng.standard_normal((batch, *shape)).astype(np.float32) for _ in range(count)]
    return calls


def timed(
    run: Callable[[Any], object],
    setup: Callable[[], Any],
    warmup: int,
    repeats: int,
    finish: Callable[[object], object] = nothing,
    calls: int = 1,
) -> float:
    """Median seconds of one `run(setup())` over `repeats` timings after `warmup` (the first compiles); setup
    untimed. A timing runs `calls` times, then `finish`es the last result, and counts a `calls`-th of the time."""
    for _ in range(warmup):
        finish(run(setup()))
    times = []
    for _ in range(repeats):
        prepared = setup()
        start = time.perf_counter()
        for _ in range(calls):
            out = run(prepared)
        finish(out)
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def measure(phase: Phase, warmup: int, repeats: int) -> dict:
    """A phase's row: its median seconds (derived ones: the difference of two medians) and how it was measured."""
    seconds = timed(phase.run, phase.setup, warmup, repeats, phase.finish, phase.calls)
    row = {"phase": phase.phase, "network": phase.network, "method": phase.method}
    if phase.minus is not None:
        less = timed(lambda _: phase.minus(), nothing, warmup, repeats)
        row |= {"whole_s": seconds, "minus_s": less}
        seconds -= less
    return row | {"seconds": seconds}


def measure_layer(layer: LayerPasses, warmup: int, repeats: int, batch: int) -> list[dict]:
    """One row per pass of a weighted layer: its median seconds and GFLOP (`PASS_FLOPS` forward passes)."""
    gflop = block_flops(layer.block, layer.shape) * batch / 1e9
    return [
        {
            "network": layer.network,
            "layer": layer.index,
            "kind": layer.block.kind,
            "units": layer.block.size,
            "strides": layer.block.strides,
            "input_shape": "x".join(map(str, layer.shape)),
            "pass": name,
            "seconds": timed(lambda _, run=layer.passes[name]: run(), nothing, warmup, repeats),
            "gflop": PASS_FLOPS[name] * gflop,
        }
        for name in LAYER_PASSES
    ]


def self_times(events: list[dict]) -> dict[str, tuple[float, int]]:
    """Seconds and count of each name's complete events (Chrome trace `ph: X`) less the events nested in them on the
    same thread: the self time a trace viewer shows, per name, from a backend profiler's own trace."""
    found: dict[str, list] = {}
    by_thread: dict[tuple, list[dict]] = {}
    for event in events:
        if event.get("ph") == "X" and "dur" in event:
            by_thread.setdefault((event.get("pid"), event.get("tid")), []).append(event)
    for thread in by_thread.values():
        thread.sort(key=lambda e: (float(e["ts"]), -float(e["dur"])))
        stack: list[list] = []  # [end, name, self µs]
        for event in thread:
            start, duration = float(event["ts"]), float(event["dur"])
            while stack and stack[-1][0] <= start:
                _, name, own = stack.pop()
                total = found.setdefault(name, [0.0, 0])
                total[0], total[1] = total[0] + own, total[1] + 1
            if stack:
                stack[-1][2] -= duration
            stack.append([start + duration, event["name"], duration])
        for _, name, own in stack:
            total = found.setdefault(name, [0.0, 0])
            total[0], total[1] = total[0] + own, total[1] + 1
    return {name: (micro / 1e6, count) for name, (micro, count) in found.items()}
