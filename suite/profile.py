"""`gvbench profile`: where a training step's time goes, per model × backend × implementation, over processes.

Each process (`runners.profile_worker`) times the whole step as training runs it, then each phase alone
(each network's forward, the backward, the optimizer's update) and each weighted layer. A process is the
unit, as in every gvbench speed answer: the tables hold, per setting, the median over processes with its
order-statistic interval. The phases share the compiled step (the train step called directly) in proportion to
their times alone; the overhead (Python dispatch, data feeding, callbacks) is not a phase anyone can run alone:
it is each process's step in the training loop less its compiled step.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from runners.phases import ALL_NETWORKS, OVERHEAD, PHASES, STEP
from runners.profile_worker import ProfileResult, ProfileTask
from suite.choices import PATCHED, PATCHED_BACKENDS
from suite.errors import GvbenchError
from suite.files import replace_all
from suite.uncertainty import median_interval

SETTING = ["backend", "impl", "model"]
FACTS = (
    "cpu_model",
    "cpu_count",
    "thread_controls",
    "keras_version",
    "backend_version",
    "numpy_version",
    "python_version",
    "git_commit",
    "ceiling_gflop_per_s",
)
"""Facts of each process recorded beside its rows (runners/environment.py)."""
FILES = ("phases.csv", "layers.csv", "phase_times.csv", "layer_times.csv", "step_times.csv", "operations.csv")
"""What a profile folder holds: the summaries over processes, and the per-process rows they summarise."""
PROVENANCE = ("cpu_model", "keras_version", "backend_version", "git_commit")
"""The facts each summary row repeats."""
GAP = 1.3
"""A layer slower than this ratio against the fastest setting of the same layer and pass counts as a gap."""


class ProfileError(GvbenchError):
    """A profile process failed: which one, and the end of its log."""

    exit_code = 1


def plan(
    backends: list[str],
    impls: list[str],
    processes: int,
    trace_dir: str | None = None,
    layer_processes: int = 1,
    **common,
) -> list[ProfileTask]:
    """One task per backend × impl × replicate, rounds interleaved and each round's order rotated, so that no
    setting always runs first or last (a drift of the machine then spreads over every setting). The first
    `layer_processes` rounds time every layer (when `common` asks for layers); the first round also traces an epoch
    into `trace_dir`, after everything it times."""
    settings = [(b, i) for b in backends for i in impls if i != PATCHED or b in PATCHED_BACKENDS]
    tasks = []
    for r in range(processes):
        shift = r % len(settings)
        for backend, impl in settings[shift:] + settings[:shift]:
            traces = trace_dir if r == 0 else None
            layers = common.get("layers", True) and r < layer_processes
            own = common | {"layers": layers, "trace_dir": traces}
            tasks.append(ProfileTask(backend=backend, impl=impl, process=r, **own))
    return tasks


def run_process(task: ProfileTask, workdir: Path, log: Callable[[str], None]) -> ProfileResult:
    """Run one profile process with KERAS_BACKEND set; its result, or ProfileError with its log's tail."""
    name = f"{task.backend}.{task.impl}.p{task.process}"
    task_path, result_path, log_path = (workdir / f"{name}{suffix}" for suffix in (".json", ".result.json", ".log"))
    task_path.write_text(json.dumps(dataclasses.asdict(task)))
    env = os.environ | {"KERAS_BACKEND": task.backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "runners.profile_worker", str(task_path), str(result_path)]
    with open(log_path, "w") as out:
        code = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    if code or not result_path.exists():
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-6:])
        raise ProfileError(f"profile process {name} exited {code}:\n{tail}")
    try:
        result = ProfileResult(**json.loads(result_path.read_text()))
    except (ValueError, TypeError) as e:
        raise ProfileError(f"profile process {name} wrote a result this gvbench cannot read ({e})") from e
    log(f"{name}: {result.seconds:.0f} s")
    return result


def run_all(tasks: list[ProfileTask], log: Callable[[str], None] = print) -> Iterator[ProfileResult]:
    """Each task's result in turn; the processes share one compilation cache, removed with the rest at the end."""
    with tempfile.TemporaryDirectory(prefix="gvbench-profile-") as workdir:
        cache = str(Path(workdir) / "compiled")
        for i, task in enumerate(tasks, 1):
            log(f"[{i}/{len(tasks)}] {task.backend} {task.impl}, process {task.process}: {', '.join(task.models)}")
            yield run_process(dataclasses.replace(task, compile_cache=cache), Path(workdir), log)


def operation_table(results: list[ProfileResult], steps: pd.DataFrame) -> pd.DataFrame:
    """One row per traced setting × operation, largest first: its self seconds and calls per step in the backend
    profiler's trace, and that time's share of the setting's median step."""
    rows = pd.DataFrame([row for result in results for row in result.operations])
    if not len(rows):
        return rows
    median_step = steps.groupby(SETTING).step_s.median().rename("step_s").reset_index()
    rows = rows.merge(median_step, on=SETTING, how="left")
    rows["share_of_step"] = rows.self_s / rows.step_s
    return rows.sort_values([*SETTING, "self_s"], ascending=[True, True, True, False]).drop(columns="process")


def raw_tables(results: list[ProfileResult]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per-process rows: steps, phases (each a share of the compiled step, with the overhead) and layers, with facts.

    Each phase was timed alone (`alone_s`). Compiled together in one step, the phases can cost less than alone (a
    compiler fuses across them; one dispatch instead of several) or more (the loss arithmetic and the trackers no
    phase holds). The overhead is the step as the training loop runs it less the compiled step called directly,
    timed in interleaved rounds (`difference_s`, signed); it cannot be less than nothing, so a compiled step timed
    slower than the loop (noise, where there is no overhead to find) counts as no overhead, and the phases then
    share the loop's step instead. A phase's `seconds` is its share of the compiled step (or of the loop's step,
    whichever is less), in proportion to its time alone. So each process's rows add up to its step, and none is
    negative."""
    steps, phases, layers = [], [], []
    for result in results:
        facts = {name: result.facts.get(name) for name in FACTS}
        steps += [row | facts for row in result.steps]
        phases += [row | facts for row in result.phases]
        layers += [row | facts for row in result.layers]
    steps, phases, layers = pd.DataFrame(steps), pd.DataFrame(phases), pd.DataFrame(layers)
    keys = [*SETTING, "process"]
    whole = phases[phases.phase == STEP][[*keys, "seconds"]].rename(columns={"seconds": "compiled_step_s"})
    measured = steps[[*keys, "step_s", "step_batches", *FACTS]].merge(whole, on=keys)
    measured["difference_s"] = measured.step_s - measured.compiled_step_s
    measured["shared_s"] = measured[["step_s", "compiled_step_s"]].min(axis=1)
    parts = phases[phases.phase != STEP].merge(
        measured[[*keys, "step_s", "step_batches", "compiled_step_s", "shared_s"]], on=keys
    )
    parts = parts.rename(columns={"seconds": "alone_s"})
    parts["seconds"] = parts.alone_s * parts.shared_s / parts.groupby(keys).alone_s.transform("sum")
    overhead = measured.assign(
        phase=OVERHEAD,
        network=ALL_NETWORKS,
        seconds=measured.difference_s.clip(lower=0.0),
        method="the step measured in the training loop less the compiled step called directly (rounds interleaved), "
        "none where the compiled step took longer",
    )
    phases = pd.concat([parts, overhead], ignore_index=True).drop(columns="shared_s")
    return steps, phases, layers


def overhead_test(low: float, high: float) -> str:
    """Whether the loop's step differs from the compiled step, by the interval over processes of their difference."""
    if np.isnan(low):
        return "undecided (one process)"
    if low > 0:
        return "above zero"
    if high < 0:
        return "below zero: the compiled step took longer than the loop that runs it"
    return "not distinguishable from zero"


def phase_table(phases: pd.DataFrame) -> pd.DataFrame:
    """One row per setting × phase × network: its seconds per step and share in the setting's median process (by
    step), so that a setting's rows add up to its median step; the interval over processes, the processes, the
    median time alone and the compiled step."""
    order = {name: i for i, name in enumerate(PHASES)}
    rows = []
    for setting, own in phases.groupby(SETTING, sort=False):
        by_step = own.drop_duplicates("process").sort_values("step_s").process.tolist()
        middle = by_step[(len(by_step) - 1) // 2]
        for key, group in own.groupby(["phase", "network"], sort=False):
            row = dict(zip([*SETTING, "phase", "network"], (*setting, *key), strict=True))
            median = group[group.process == middle].iloc[0]
            found = median_interval(group.seconds.to_numpy(float))
            row |= {"seconds_per_step": float(median.seconds), "low": found.low, "high": found.high}
            row |= {"level": found.level, "processes": len(group), "alone_s": float(np.median(group.alone_s))}
            step = median_interval(group.step_s.to_numpy(float))
            row |= {"step_s": float(median.step_s), "step_low": step.low, "step_high": step.high}
            row |= {"compiled_step_s": float(median.compiled_step_s)}
            if key[0] == OVERHEAD:
                difference = median_interval(group.difference_s.to_numpy(float))
                row |= {"difference_s": float(np.median(group.difference_s))}
                row |= {"difference_low": difference.low, "difference_high": difference.high}
                row["overhead_test"] = overhead_test(difference.low, difference.high)
            method = group.method.iloc[0]
            row |= {"method": method, "measured_alone": key[0] != OVERHEAD and not method.startswith("derived")}
            row |= {name: group[name].iloc[0] for name in PROVENANCE}
            rows.append(row)
    table = pd.DataFrame(rows)
    table["share"] = table.seconds_per_step / table.step_s
    table["order"] = table.phase.map(order)
    return table.sort_values([*SETTING, "order"], kind="stable").drop(columns="order").reset_index(drop=True)


def layer_table(layers: pd.DataFrame) -> pd.DataFrame:
    """One row per setting × layer × pass: median seconds over processes with its interval, GFLOP, the rate's share
    of the process's measured matmul ceiling, and its ratios to the native baseline of the same backend and to the
    fastest backend × impl on the same layer and pass."""
    layer_keys = ["model", "network", "layer", "pass"]
    rows = []
    for key, group in layers.groupby(["backend", "impl", *layer_keys], sort=False):
        row = dict(zip(["backend", "impl", *layer_keys], key, strict=True))
        row |= {name: group[name].iloc[0] for name in ("kind", "units", "strides", "input_shape", "gflop")}
        found = median_interval(group.seconds.to_numpy(float))
        row |= {"seconds": float(np.median(group.seconds)), "low": found.low, "high": found.high}
        row |= {"level": found.level, "processes": len(group)}
        row["gflop_per_s"] = row["gflop"] / row["seconds"]
        row["ceiling_share"] = row["gflop_per_s"] / float(np.median(group.ceiling_gflop_per_s))
        rows.append(row)
    table = pd.DataFrame(rows)
    fastest = table.groupby(layer_keys).seconds.transform("min")
    table["to_fastest"] = table.seconds / fastest
    native = table[table.impl == "native"].set_index(["backend", *layer_keys]).seconds
    table["to_native"] = [
        row.seconds / native.get((row.backend, row.model, row.network, row.layer, row["pass"]), np.nan)
        for _, row in table.iterrows()
    ]
    return table


def write(out: Path, results: list[ProfileResult]) -> dict[str, pd.DataFrame]:
    """The tables of the finished processes (`FILES`), all written or none (a reader never sees a mix of two runs)."""
    steps, phases, layers = raw_tables(results)
    tables = {
        "phases.csv": phase_table(phases),
        "layers.csv": layer_table(layers) if len(layers) else pd.DataFrame(),
        "phase_times.csv": phases,
        "layer_times.csv": layers,
        "step_times.csv": steps,
        "operations.csv": operation_table(results, steps),
    }
    replace_all([(out / name, table.to_csv(index=False).encode()) for name, table in tables.items()])
    return tables


def profile(tasks: list[ProfileTask], out: Path, log: Callable[[str], None] = print) -> tuple[dict, float]:
    """Run every task, then write the tables; the tables and the seconds it took. Should a process fail or the run
    be interrupted, the processes that finished are written first (each is complete), then the error is raised."""
    start = time.perf_counter()
    results = []
    try:
        for result in run_all(tasks, log):
            results.append(result)
    except (ProfileError, KeyboardInterrupt):
        if results:
            write(out, results)
            log(f"gvbench profile: the {len(results)} finished processes of {len(tasks)} are in {out}")
        raise
    return write(out, results), time.perf_counter() - start
