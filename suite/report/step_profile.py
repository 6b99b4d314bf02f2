"""The report's "Where the time goes": training steps split into phases, and every weighted layer timed alone, from
the folders `gvbench profile` wrote (`phases.csv`, `layers.csv`; suite/profile.py)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import LogNorm

from architectures import get_spec
from runners.phases import ALL_NETWORKS, OVERHEAD
from suite.choices import BACKENDS, PATCHED, PROFILE_IMPLS
from suite.formatting import bracketed, interval, level, number, percent, signed, times
from suite.profile import GAP, SETTING
from suite.report.figures import save
from suite.report.page import Block, Figure, Heading, Table, Text, to_markdown
from suite.uncertainty import RatioTest, ratio_test, verdict

PHASES_CSV, LAYERS_CSV, OPERATIONS_CSV, STEPS_CSV = "phases.csv", "layers.csv", "operations.csv", "step_times.csv"
TOP_OPERATIONS = 5
"""Operations of a profiler trace shown per slow setting, largest self time first."""
OPERATIONS = {
    "forward": "forward",
    "input_gradient": "input gradient",
    "weight_gradient": "weight gradient",
}
"""A layer's three operations in a step, each the difference its pass makes (`runners.phases.LAYER_PASSES`)."""
SHOWN_OPERATIONS = 6
"""Operations listed per gap, largest first (the table says what share of the gap they and all of them explain)."""


def profile_folders(root: Path, exclude: tuple[str, ...] = ()) -> list[Path]:
    """Every folder at or under `root` holding a `phases.csv`, but those under `root/<exclude>`."""
    skipped = [root / name for name in exclude]
    folders = {path.parent for path in root.rglob(PHASES_CSV)}
    return sorted(f for f in folders if not any(f == s or s in f.parents for s in skipped))


def load(folders: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    phases = pd.concat([pd.read_csv(f / PHASES_CSV) for f in folders], ignore_index=True)
    layers = [pd.read_csv(f / LAYERS_CSV) for f in folders if (f / LAYERS_CSV).stat().st_size > 1]
    return phases, pd.concat(layers, ignore_index=True) if layers else pd.DataFrame()


def load_operations(folders: list[Path]) -> pd.DataFrame:
    """The traced operations of every folder that has them (none where it was run with `--no-traces`)."""
    files = [f / OPERATIONS_CSV for f in folders]
    frames = [pd.read_csv(file) for file in files if file.is_file() and file.stat().st_size > 1]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def traced_top(operations: pd.DataFrame, gap_rows: pd.DataFrame) -> pd.DataFrame:
    """For the slower side of every gap, its `TOP_OPERATIONS` operations by self time in its profiler trace."""
    rows = []
    for gap in gap_rows.drop_duplicates(["model", "slower"]).itertuples():
        backend, impl = gap.slower.split()
        own = operations[(operations.model == gap.model) & (operations.backend == backend) & (operations.impl == impl)]
        for op in own.nlargest(TOP_OPERATIONS, "self_s").itertuples():
            rows.append(
                {
                    "model": gap.model,
                    "setting": gap.slower,
                    "operation": op.operation,
                    "ms_per_step": 1e3 * op.self_s,
                    "calls_per_step": op.calls,
                    "share_of_step": op.share_of_step,
                    "trace": op.trace,
                }
            )
    return pd.DataFrame(rows)


def setting_label(backend: str, impl: str) -> str:
    return f"{backend} {impl}"


def settings_in(frame: pd.DataFrame) -> list[str]:
    """The backend × impl labels `frame` has, Keras before native on each backend, backends in the usual order."""
    present = set(zip(frame.backend, frame.impl, strict=True))
    return [setting_label(b, i) for b in BACKENDS for i in PROFILE_IMPLS if (b, i) in present]


def phase_part(row: pd.Series) -> str:
    return f"forward: {row.network}" if row.phase == "forward" else row.phase


def phase_figure(phases: pd.DataFrame, folder: Path) -> Path:
    """Stacked bars of each setting's phases (ms per step), one panel per model; a black bar: the step as measured
    in the training loop, with its interval over processes."""
    models = list(dict.fromkeys(phases.model))
    fig, axes = plt.subplots(len(models), 1, figsize=(10, 1.2 + 1.9 * len(models)), squeeze=False)
    parts = list(dict.fromkeys(phases.sort_values("network", key=lambda n: n == ALL_NETWORKS).apply(phase_part, 1)))
    colours = dict(zip(parts, sns.color_palette("Set2", len(parts)), strict=False))
    for ax, model in zip(axes[:, 0], models, strict=True):
        rows = phases[phases.model == model]
        labels = settings_in(rows)
        for y, label in enumerate(labels):
            backend, impl = label.split()
            own = rows[(rows.backend == backend) & (rows.impl == impl)]
            left = 0.0
            for _, row in own.iterrows():
                width = 1e3 * row.seconds_per_step
                part = phase_part(row)
                if width > 0:
                    ax.barh(y, width, left=left, color=colours.get(part), label=part, height=0.6)
                    left += width
            step = own.iloc[0]
            ax.errorbar(
                1e3 * step.step_s,
                y + 0.38,
                xerr=[[1e3 * (step.step_s - step.step_low)], [1e3 * (step.step_high - step.step_s)]],
                fmt="v",
                color="black",
                markersize=5,
                capsize=2,
            )
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_title(model, loc="left", fontsize=11)
        ax.set_xlabel("ms per step")
    unique = {}
    for ax in axes[:, 0]:
        handles, names = ax.get_legend_handles_labels()
        unique |= dict(zip(names, handles, strict=True))
    fig.suptitle("Where a training step's time goes (▼: the step measured in training, with its interval)")
    fig.tight_layout(rect=(0, 0.06 if len(models) > 1 else 0.12, 1, 1))
    fig.legend(unique.values(), unique.keys(), loc="lower center", ncol=min(len(unique), 4), frameon=False)
    return save(fig, folder, "phases")


def layer_label(row: pd.Series) -> str:
    return f"{row.model} {row.network} {row.kind} {row.units}/{row.strides} on {row.input_shape}"


def layer_figure(layers: pd.DataFrame, folder: Path) -> Path:
    """Heatmaps of every weighted layer's forward + backward: its time against the fastest setting of the same layer
    (left) and, for Keras, against the native baseline on the same backend (right)."""
    rows = layers[layers["pass"] == "forward_backward"].copy()
    rows["label"] = rows.apply(layer_label, axis=1)
    rows["setting"] = [setting_label(b, i) for b, i in zip(rows.backend, rows.impl, strict=True)]
    order = list(dict.fromkeys(rows.sort_values(["model", "network", "layer"], kind="stable").label))
    fastest = rows.pivot_table(index="label", columns="setting", values="to_fastest").reindex(order)
    fastest = fastest[settings_in(rows)]
    keras = rows[rows.impl == "keras"]
    native = keras.pivot_table(index="label", columns="backend", values="to_native").reindex(order)
    native = native[[b for b in BACKENDS if b in native.columns]]
    norm = LogNorm(vmin=1, vmax=max(10.0, float(np.nanmax(fastest.to_numpy()))))
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(13, 2 + 0.32 * len(order)), gridspec_kw={"width_ratios": [len(fastest.columns), 3.6]}
    )
    fastest.columns = [c.replace(" ", "\n") for c in fastest.columns]
    annotations = fastest.map(lambda v: number(v, "annotation"))
    sns.heatmap(fastest, ax=left, norm=norm, cmap="rocket_r", annot=annotations, fmt="", cbar=False, linewidths=0.5)
    left.tick_params(axis="x", labelrotation=0)
    left.set_title("× the fastest setting of the layer", fontsize=10)
    left.set_xlabel("")
    left.set_ylabel("")
    both = LogNorm(vmin=0.2, vmax=max(5.0, float(np.nanmax(native.to_numpy()))))
    ticks = {"ticks": [0.25, 0.5, 1, 2, 4], "format": "%g", "label": "Keras ÷ native"}
    annotations = native.map(lambda v: number(v, "annotation"))
    sns.heatmap(native, ax=right, norm=both, cmap="vlag", annot=annotations, fmt="", linewidths=0.5, cbar_kws=ticks)
    right.tick_params(axis="x", labelrotation=0)
    right.collections[0].colorbar.ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    right.set_title("Keras ÷ native, same backend", fontsize=10)
    right.set_yticks([])
    right.set_xlabel("")
    right.set_ylabel("")
    processes = int(rows.processes.max())
    title = f"Each weighted layer's forward + backward, batch 128 (medians; {processes} process(es) a setting)"
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    return save(fig, folder, "layers")


def operation_deltas(layers: pd.DataFrame, slow: tuple[str, str], fast: tuple[str, str], model: str) -> pd.DataFrame:
    """Each weighted layer's operations of `model`: how much longer `slow` (backend, impl) takes than `fast` in one
    step, each operation's difference at batch 128 times how often the step runs it (the family's `layer_calls`)."""
    rows = layers[layers.model == model]
    family = get_spec(model).family
    calls = {
        (network, operation): count
        for network, counts in zip(family.networks, family.layer_calls, strict=True)
        for operation, count in zip(OPERATIONS, counts, strict=True)
    }

    def seconds(setting):
        own = rows[(rows.backend == setting[0]) & (rows.impl == setting[1])]
        index = ["network", "layer", "kind", "units", "strides", "input_shape"]
        wide = own.pivot_table(index=index, columns="pass", values="seconds")
        return pd.DataFrame(
            {
                "forward": wide["forward"],
                "input_gradient": wide["input_gradient"] - wide["forward"],
                "weight_gradient": wide["weight_gradient"] - wide["forward"],
            }
        )

    delta = (seconds(slow) - seconds(fast)).stack().rename("delta_s").reset_index()
    delta = delta.rename(columns={delta.columns[-2]: "operation"})
    delta["delta_s"] *= [calls[(n, o)] for n, o in zip(delta.network, delta.operation, strict=True)]
    return delta


def process_steps(folders: list[Path]) -> pd.DataFrame:
    """Every process's step (`step_times.csv`), the replicates of each setting's speed."""
    return pd.concat([pd.read_csv(f / STEPS_CSV) for f in folders], ignore_index=True)


def step_ratio(steps: pd.DataFrame, slow: tuple[str, str], fast: tuple[str, str], model: str) -> RatioTest:
    """`slow`'s step over `fast`'s for `model`: the ratio of geometric means over processes and its Welch interval."""

    def values(setting):
        own = steps[(steps.backend == setting[0]) & (steps.impl == setting[1]) & (steps.model == model)]
        return own.step_s.to_numpy(float)

    return ratio_test(values(slow), values(fast))


def gaps(phases: pd.DataFrame, layers: pd.DataFrame, process_rows: pd.DataFrame) -> pd.DataFrame:
    """Every gap of more than `GAP`× between two settings of a model, Keras on a backend against Keras on each
    faster backend and against its own native baseline, with its ratio's interval over processes and the
    operations that make it, largest first."""
    steps = phases.drop_duplicates(SETTING).set_index(SETTING).step_s
    rows = []
    for model in dict.fromkeys(phases.model):
        own = steps.xs(model, level="model")
        keras = own.xs("keras", level="impl")
        pairs = [((b, "keras"), (f, "keras")) for b in keras.index for f in keras.index if keras[b] > GAP * keras[f]]
        pairs += [
            ((b, "keras"), (b, "native"))
            for b in keras.index
            if (b, "native") in own.index and keras[b] > GAP * own[(b, "native")]
        ]
        for slow, fast in pairs:
            gap = own[slow] - own[fast]
            delta = operation_deltas(layers, slow, fast, model).sort_values("delta_s", ascending=False)
            named = delta.head(SHOWN_OPERATIONS)
            found = [
                f"{r.network} {r.kind} {r.units}/{r.strides} on {r.input_shape}: {OPERATIONS[r.operation]} "
                f"{number(1e3 * r.delta_s)} ms"
                for r in named.itertuples()
            ]
            ratio = step_ratio(process_rows, slow, fast, model)
            rows.append(
                {
                    "model": model,
                    "slower": setting_label(*slow),
                    "than": setting_label(*fast),
                    "ratio": ratio.ratio,
                    "ratio_interval": interval(ratio.interval.low, ratio.interval.high, ratio.interval.level),
                    "gap_ms": 1e3 * gap,
                    "layers_ms": 1e3 * delta.delta_s.sum(),
                    "shown_share": named.delta_s.sum() / gap,
                    "operations": "; ".join(found),
                }
            )
    return pd.DataFrame(rows)


def patch_gains(process_rows: pd.DataFrame) -> pd.DataFrame:
    """Per model run both ways on a backend: Keras' step over the patched Keras' step, over processes, with its
    interval and what the test against the speed margin decides."""
    rows = []
    patched = process_rows[process_rows.impl == PATCHED]
    for (backend, model), own in patched.groupby(["backend", "model"], sort=False):
        released = process_rows[(process_rows.backend == backend) & (process_rows.impl == "keras")]
        released = released[released.model == model]
        if not len(released):
            continue
        test = step_ratio(process_rows, (backend, "keras"), (backend, PATCHED), model)
        rows.append(
            {
                "backend": backend,
                "model": model,
                "keras_ms": 1e3 * float(np.median(released.step_s)),
                "patched_ms": 1e3 * float(np.median(own.step_s)),
                "speed_up": test.ratio,
                "interval": interval(test.interval.low, test.interval.high, test.interval.level),
                "released_keras_is": verdict(test.ratio, test.p_differ, test.p_alike),
                "processes": f"{test.counts[0]} + {test.counts[1]}",
            }
        )
    return pd.DataFrame(rows)


def phase_table(phases: pd.DataFrame) -> pd.DataFrame:
    """Per setting: each phase in ms per step with its interval over processes, the phases' sum when each runs
    alone, the compiled step called directly, and the step as the training loop runs it."""
    rows = []
    for key, own in phases.groupby(SETTING, sort=False):
        row = dict(zip(SETTING, key, strict=True))
        for r in own.itertuples():
            row[phase_part(pd.Series(r._asdict()))] = (
                f"{number(1e3 * r.seconds_per_step)} {bracketed(1e3 * r.low, 1e3 * r.high)}"
            )
        first = own.iloc[0]
        row["phases alone"] = number(1e3 * own.alone_s.sum())
        row["compiled step"] = number(1e3 * first.compiled_step_s)
        row["step (measured)"] = (
            f"{number(1e3 * first.step_s)} {bracketed(1e3 * first.step_low, 1e3 * first.step_high)}"
        )
        overhead = own[own.phase == OVERHEAD].iloc[0]
        row["loop less compiled step"] = (
            f"{signed(1e3 * overhead.difference_s)} "
            f"{bracketed(1e3 * overhead.difference_low, 1e3 * overhead.difference_high)}: {overhead.overhead_test}"
        )
        row["processes"] = int(first.processes)
        rows.append(row)
    return pd.DataFrame(rows)


def overhead_counts(phases: pd.DataFrame) -> str:
    """How many settings' overhead the interval over processes puts above zero, and how many it cannot tell."""
    tests = phases[phases.phase == OVERHEAD].overhead_test.str.split(":").str[0].value_counts()
    return "; ".join(f"{name} in {count} of {tests.sum()} settings" for name, count in tests.items())


def blocks(root: Path, out: Path, exclude: tuple[str, ...] = ()) -> list[Block]:
    """The section, from every profile folder under `root`; none where there is none."""
    folders = profile_folders(root, exclude)
    if not folders:
        return []
    phases, layers = load(folders)
    figures = out / "figures"
    confidence = level(phases.level.dropna().min()) if phases.level.notna().any() else "no"
    found: list[Block] = [
        Heading("Where the time goes", 2),
        Text(
            "`gvbench profile` times the whole training step as training runs it (Keras' `fit`, or the native "
            "loop); then the compiled step itself, called directly without the loop; then each phase of the step "
            "alone, compiled as the step compiles it (each network's forward calls, the backward: the gradients "
            "of every loss, and the optimizer's update). Run alone the phases do not add up to the compiled "
            "step: together a compiler fuses across them and dispatches once (less), and the step also computes "
            "the losses' arithmetic and trackers (more); the table gives both sums. Each phase is shown as its "
            "share of the compiled step, in proportion to its time alone; the overhead (Python dispatch, data "
            "feeding, callbacks) is the step in the loop less the compiled step, in each process. A setting's "
            "loop step and the compiled step are timed in alternating rounds within each process, and each "
            "setting's difference is tested against zero by its interval over processes: the overhead is "
            f"{overhead_counts(phases)}. Where the compiled step took longer than the loop that runs it (noise, where "
            "there is no overhead to find), the overhead counts as none and the phases share the loop's step, so "
            "no bar is negative; the signed difference is in the table. A setting's "
            "bars are those of its median process, so they add up to its median step; the brackets are the "
            f"order-statistic interval over processes ({confidence} coverage at the fewest processes). Where "
            "TensorFlow's tape records the forward and the gradients in one function, the backward is that "
            "function less the forward alone (`method` in phases.csv)."
        ),
        Figure(phase_figure(phases, figures), "stacked bars of forward, backward, optimizer and overhead per setting"),
        Table(phase_table(phases)),
    ]
    if len(layers):
        gap_rows = gaps(phases, layers, process_steps(folders))
        found += [
            Figure(layer_figure(layers, figures), "heatmaps of each layer's time against the fastest and native"),
            Heading("The operations behind each gap", 3),
            Text(
                f"Every step at least {times(GAP)} slower than Keras on another backend or than its own native "
                "baseline, and the layer operations that make the difference: each layer's forward, its input's "
                "gradient and its weights' gradient, each timed alone at batch 128 and counted as often as the step "
                "runs it (a GAN's discriminator: forward twice, input gradients three times, weight gradients "
                "twice). `layers_ms` is the sum over every layer; "
                "`shown_share` the part of the step's gap the operations listed explain."
            ),
            Table(gap_rows) if len(gap_rows) else Text(f"No step is {times(GAP)} slower than another setting's."),
        ]
        operations = load_operations(folders)
        if len(gap_rows) and len(operations):
            found += [
                Text(
                    "The same slow steps as the backend's own profiler sees them: one epoch of three batches traced "
                    "after everything was timed (`torch.profiler`, `jax.profiler`, TensorFlow's profiler), each "
                    "operation's self time per step. The traces are in `traces/`, one per setting: PyTorch's and "
                    "JAX's open in Perfetto or chrome://tracing, TensorFlow's XPlane in TensorBoard's profiler."
                ),
                Table(traced_top(operations, gap_rows)),
            ]
    gains = patch_gains(process_steps(folders))
    if len(gains):
        found += [
            Heading("What the candidate fix buys", 3),
            Text(
                f"`{PATCHED}` is Keras with the JAX backend's two slow convolution gradients written the way XLA:CPU "
                "runs them fast (`runners/backends/jax_patch.py`): the kernel gradient of a strided transposed "
                "convolution as one matrix product of the cotangent's strided windows, and the input gradient of a "
                "strided convolution whose input its stride does not divide as the kernel-weighted cotangent placed "
                "back window by window. Its losses and weights follow Keras as released within gvbench's parity "
                "tolerances (`tests/test_profile.py`). The speed-up is Keras' step over the patched step, the ratio "
                "of geometric means over processes with Welch's t interval of logs; the verdict tests it against "
                "the 5% speed margin."
            ),
            Table(gains),
        ]
    facts = ["keras_version", "backend_version", "cpu_model", "git_commit"]
    ran_on = phases.drop_duplicates(["backend", *facts])[["backend", *facts]]
    return [*found, Text("The profiles ran on:"), Table(ran_on)]


def csvs(root: Path, exclude: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
    folders = profile_folders(root, exclude)
    if not folders:
        return {}
    phases, layers = load(folders)
    return {"profile-gaps.csv": gaps(phases, layers, process_steps(folders))} if len(layers) else {}


BEGIN, END = "<!-- profile tables: begin -->", "<!-- profile tables: end -->"
"""The markers around the tables of a page that `python -m suite.report.step_profile` writes."""


def docs_tables(folder: Path) -> str:
    """Markdown of a profile folder for the docs: per setting, each phase in ms per step (share of the step), and
    the gaps with the operations behind them."""
    phases, layers = load([folder])
    rows = []
    for key, own in phases.groupby(SETTING, sort=False):
        row = dict(zip(SETTING, key, strict=True))
        for part, group in own.groupby(own.phase, sort=False):
            ms = 1e3 * group.seconds_per_step.sum()
            row[part] = f"{number(ms)} ({percent(group.share.sum())})"
        first = own.iloc[0]
        row["step ms"] = f"{number(1e3 * first.step_s)} {bracketed(1e3 * first.step_low, 1e3 * first.step_high)}"
        rows.append(row)
    tables = [Table(pd.DataFrame(rows))]
    found = gaps(phases, layers, process_steps([folder])) if len(layers) else pd.DataFrame()
    shown = (
        found.assign(
            ratio=found.ratio.map(times),
            gap_ms=found.gap_ms.map(number),
            layers_ms=found.layers_ms.map(number),
            shown_share=found.shown_share.map(percent),
        )
        if len(found)
        else found
    )
    command = f"python -m suite.report.step_profile {folder.as_posix()} PAGE"
    tables += [Table(shown)] if len(shown) else []
    written = f"<!-- written by `{command}` from {PHASES_CSV} and {LAYERS_CSV}; do not edit -->"
    return "\n".join([BEGIN, written, "", to_markdown(tables, folder).strip(), "", END])


def write_docs(folder: Path, page: Path) -> None:
    """Replace the tables between `BEGIN` and `END` in `page` with `docs_tables(folder)`."""
    text = page.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{page} has no {BEGIN} ... {END} block to fill")
    head, rest = text.split(BEGIN, 1)
    page.write_text(head + docs_tables(folder) + rest.split(END, 1)[1])


if __name__ == "__main__":
    import sys

    write_docs(Path(sys.argv[1]), Path(sys.argv[2]))
