"""Keras 2 beside Keras 3: each backend's Keras 3 (and any native baseline) against Keras 2 (tf-keras) on
TensorFlow, over processes: the steady step, the first epoch, the memory training adds, and whether they learn alike.

Keras 2 is the reference because it is what a user moving to Keras 3 leaves: a ratio above 1 is slower than Keras 2.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from scipy.stats import ttest_ind

from suite.choices import BACKENDS, COMPLETED, KERAS2
from suite.formatting import has_interval, interval, level, lr_label, number, signed, span, times
from suite.margins import SPEED, margin_of
from suite.report import figures
from suite.report.frames import ProfileFrames
from suite.report.page import Block, Bullets, Details, Figure, Heading, Table, Text
from suite.report.replicates import measure_name, per_seed
from suite.store.loading import label, model_order
from suite.uncertainty import (
    ALIKE,
    CONFIDENCE,
    UNDECIDED,
    equivalence_p,
    geometric_interval,
    holm,
    ratio_test,
    verdict,
)

REFERENCE = "Keras 2 · tensorflow"
MEASURES = {
    "steady_step_median_s": "steady step",
    "first_epoch_s": "first epoch",
    "train_added_mb": "memory training adds",
}
"""Each cell's measures compared as ratios over processes (`train_added_mb`: `train_peak_rss_mb` minus
`rss_before_train_mb`; a Keras 2 process imports Keras 3 too, for gvbench's callbacks and scoring, so the resident
totals would compare imports, not training)."""
DIFFER = "differ"
RATIO_TICKS = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50]
"""Labelled ticks of the ratio axes, in plain numbers."""
SPEED_VERDICTS = ("slower", "faster", ALIKE, UNDECIDED)
MEMORY_WORDS = {"slower": "more", "faster": "less"}
"""A memory ratio's verdict: more or less than Keras 2's, not slower or faster."""
LEARNING_SHOWN = [
    "model",
    "lr",
    "measure",
    "setting",
    "difference",
    "margin",
    "seeds",
    "p_alike_holm",
    "p_differ_holm",
    "verdict",
]


def setting(impl: str, backend: str) -> str:
    """`Keras 3 · torch`, `native · tensorflow`, `Keras 2 · tensorflow`."""
    name = {"keras": "Keras 3", KERAS2: "Keras 2"}.get(impl, impl)
    return f"{name} · {backend}"


def settings_order(names) -> list[str]:
    """Keras 3 on each backend, then the native baselines, then Keras 2."""
    impls = ["Keras 3", "native", "Keras 2"]
    return sorted(set(names), key=lambda s: (impls.index(s.split(" · ")[0]), BACKENDS.index(s.split(" · ")[1])))


def cells_of(frames: ProfileFrames) -> pd.DataFrame:
    """The completed cells at the default compile mode, each with its `setting` and its model as `model` (the label
    without the implementation), when the profile has Keras 2 cells; else none."""
    chosen = frames.chosen
    ok = chosen[chosen.status.isin(COMPLETED) & (chosen.jit == "auto")]
    if not (ok.impl == KERAS2).any():
        return ok.iloc[:0].assign(setting=[], model_label=[], train_added_mb=[])
    return ok.assign(
        setting=[setting(i, b) for i, b in zip(ok.impl, ok.backend, strict=True)],
        model_label=label(ok.assign(impl="keras", jit="auto")),
        train_added_mb=ok.train_peak_rss_mb - ok.rss_before_train_mb,
    )


def versus(frames: ProfileFrames) -> pd.DataFrame:
    """Per model, measure and setting: its values over Keras 2's as a ratio of geometric means over processes, with
    Welch's t interval, and a verdict within the speed margin (`more`/`less` for memory); Holm's adjustment over the
    profile's ratios of each measure, a family per question asked."""
    cells = frames.once("keras2_cells", cells_of)
    rows = []
    for model, group in cells.groupby("model_label"):
        reference = group[group.setting == REFERENCE]
        for name in settings_order(group.setting):
            if name == REFERENCE or reference.empty:
                continue
            mine = group[group.setting == name]
            for measure, title in MEASURES.items():
                a, b = mine[measure].dropna(), reference[measure].dropna()
                if (a <= 0).any() or (b <= 0).any() or a.empty or b.empty:
                    continue
                test = ratio_test(a, b, margin=SPEED.value)
                rows.append(
                    {
                        "model": model,
                        "measure": title,
                        "setting": name,
                        "ratio": test.ratio,
                        "ci_low": test.interval.low,
                        "ci_high": test.interval.high,
                        "processes": f"{len(a)} / {len(b)}",
                        "p_differ": test.p_differ,
                        "p_alike": test.p_alike,
                    }
                )
    columns = ["model", "measure", "setting", "ratio", "ci_low", "ci_high", "processes", "p_differ", "p_alike"]
    table = pd.DataFrame(rows, columns=columns)
    if table.empty:
        return table.assign(verdict=[])
    for name in ("p_differ", "p_alike"):
        table[f"{name}_holm"] = table.groupby("measure")[name].transform(holm)
    table["verdict"] = [
        MEMORY_WORDS.get(found, found) if r.measure == MEASURES["train_added_mb"] else found
        for r in table.itertuples()
        for found in [verdict(r.ratio, r.p_differ_holm, r.p_alike_holm)]
    ]
    order = {m: i for i, m in enumerate(model_order(table.model))}
    return table.sort_values("model", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def learning(frames: ProfileFrames) -> pd.DataFrame:
    """Per model, learning rate, measure (final losses, quality) and Keras 3 backend: the mean difference from
    Keras 2 over seeds, Welch's test of a difference and Schuirmann's of one within the measure's margin (Holm)."""
    cells = frames.once("keras2_cells", cells_of)
    if cells.empty:
        return pd.DataFrame()
    long = frames.once("per_seed", lambda f: per_seed(f.epochs, f.scored))
    keys = cells[["label", "backend", "lr", "seed", "setting", "model_label"]]
    long = long.merge(keys, on=["label", "backend", "lr", "seed"], how="inner")
    rows = []
    for (model, lr, measure), group in long.groupby(["model_label", "lr", "measure"]):
        reference = group[group.setting == REFERENCE].value
        margin = margin_of(measure)
        for name in settings_order(group.setting):
            mine = group[group.setting == name].value
            if name == REFERENCE or not name.startswith("Keras 3") or reference.empty or mine.empty:
                continue
            enough = len(mine) > 1 and len(reference) > 1
            p_differ = float(ttest_ind(mine, reference, equal_var=False).pvalue) if enough else math.nan
            rows.append(
                {
                    "model": model,
                    "lr": lr,
                    "measure": measure_name(measure),
                    "setting": name,
                    "keras3": mine.mean(),
                    "keras2": reference.mean(),
                    "difference": mine.mean() - reference.mean(),
                    "margin": margin.describe(),
                    "seeds": f"{len(mine)} / {len(reference)}",
                    "p_differ": p_differ,
                    "p_alike": equivalence_p(mine, reference, margin),
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["p_differ_holm"], table["p_alike_holm"] = holm(table.p_differ), holm(table.p_alike)
    table["verdict"] = [
        ALIKE if r.p_alike_holm < 0.05 else DIFFER if r.p_differ_holm < 0.05 else UNDECIDED for r in table.itertuples()
    ]
    return table


def across_models(found: pd.DataFrame) -> pd.DataFrame:
    """Per Keras 3 backend: the steady step's ratio to Keras 2 over the models, as their geometric mean with the t
    interval of the mean log ratio over models (each model one value: it answers "on these models", and its spread
    holds both how the models differ and each ratio's own noise), and the per-model verdicts."""
    steady = found[(found.measure == "steady step") & found.setting.str.startswith("Keras 3")]
    rows = []
    for name in settings_order(steady.setting):
        group = steady[steady.setting == name]
        centre, spread = geometric_interval(group.ratio)
        counts = group.verdict.value_counts()
        rows.append(
            {
                "setting": name,
                "models": len(group),
                "ratio": centre,
                "ci_low": spread.low,
                "ci_high": spread.high,
                "lowest": group.ratio.min(),
                "highest": group.ratio.max(),
                "verdicts": ", ".join(f"{counts[v]} {v}" for v in SPEED_VERDICTS if v in counts),
            }
        )
    return pd.DataFrame(rows)


def speed_sentence(found: pd.DataFrame) -> str:
    """At a glance: is Keras 3 slower than Keras 2, on each backend, and by how much."""
    overall = across_models(found)
    if overall.empty:
        return "Keras 2 has no steady step time to compare Keras 3 with"
    parts = []
    for r in overall.itertuples():
        ci = interval(r.ci_low, r.ci_high, CONFIDENCE) if has_interval(r.ci_low) else "one model: no interval"
        parts.append(
            f"on {r.setting.split(' · ')[1]} {times(r.ratio)} ({ci} over the {r.models} models; each model "
            f"{span(r.lowest, r.highest, collapse=True)}×, {r.verdicts} alone)"
        )
    return (
        "Is Keras 3 slower than Keras 2 (tf-keras, on TensorFlow) on these models, on this CPU? Its steady step "
        f"takes, as a ratio to Keras 2's, {'; '.join(parts)} (each model's verdict within {SPEED.describe()} over "
        "its processes, Holm-adjusted)"
    )


def ratio_figure(found: pd.DataFrame) -> plt.Figure:
    """Per measure, model and setting: the ratio to Keras 2 with its interval, on a log axis."""
    title = f"Against Keras 2 (tf-keras) on TensorFlow: ratio of geometric means over processes, {level(CONFIDENCE)} CI"
    if found.empty:
        return figures.nothing(title, "no setting beside a Keras 2 cell")
    measures = [m for m in MEASURES.values() if m in set(found.measure)]
    models, names = model_order(found.model), settings_order(found.setting)
    colours = dict(zip(names, plt.get_cmap("tab10").colors, strict=False))
    fig, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures), 0.3 * len(models) * len(names) + 1.5))
    axes = np.atleast_1d(axes)
    for ax, measure in zip(axes, measures, strict=True):
        part = found[found.measure == measure]
        for j, name in enumerate(names):
            rows = part[part.setting == name]
            y = np.array([models.index(m) for m in rows.model]) + (j - (len(names) - 1) / 2) * 0.8 / len(names)
            low = np.where(rows.ci_low.notna(), rows.ratio - rows.ci_low, 0)
            high = np.where(rows.ci_high.notna(), rows.ci_high - rows.ratio, 0)
            ax.errorbar(rows.ratio, y, xerr=[low, high], fmt="o", ms=4, capsize=2, color=colours[name], label=name)
        ax.axvline(1, color="black", lw=0.8)
        ax.axvspan(1 / (1 + SPEED.value), 1 + SPEED.value, color="grey", alpha=0.15, lw=0)
        ax.set_xscale("log")
        ticks = [t for t in RATIO_TICKS if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        if len(ticks) > 6:  # a wide axis: decades alone, so the labels do not run together
            ticks = [t for t in ticks if math.log10(t).is_integer()]
        ax.set_xticks(ticks, [number(t, "tick") for t in ticks])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_yticks(range(len(models)), models if ax is axes[0] else [""] * len(models))
        ax.set_ylim(len(models) - 0.5, -0.5)
        ax.set_title(f"{measure} (÷ Keras 2)", fontsize=10)
        ax.grid(axis="y", visible=False)
    axes[-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle(title + f"; the band is ±{SPEED.describe()}", fontsize=10)
    fig.tight_layout()
    return fig


def shown(found: pd.DataFrame) -> pd.DataFrame:
    """The ratios as the page prints them."""
    return pd.DataFrame(
        {
            "model": found.model,
            "measure": found.measure,
            "setting": found.setting,
            "÷ Keras 2": [times(r) for r in found.ratio],
            "95% CI": [
                span(a, b) if has_interval(a) else "one process a side"
                for a, b in zip(found.ci_low, found.ci_high, strict=True)
            ],
            "processes": found.processes,
            "verdict": found.verdict,
        }
    )


def overall_shown(overall: pd.DataFrame) -> pd.DataFrame:
    """The ratios over the models as the page prints them."""
    return pd.DataFrame(
        {
            "setting": overall.setting,
            "÷ Keras 2, over the models": [times(r) for r in overall.ratio],
            "95% CI": [
                span(a, b) if has_interval(a) else "one model"
                for a, b in zip(overall.ci_low, overall.ci_high, strict=True)
            ],
            "each model": [
                span(a, b, collapse=True) + "×" for a, b in zip(overall.lowest, overall.highest, strict=True)
            ],
            "verdicts per model": overall.verdicts,
        }
    )


def glance(frames: ProfileFrames) -> list[Block]:
    found = frames.once("keras2_versus", versus)
    if found.empty:
        return []
    lines = [speed_sentence(found)]
    alike = frames.once("keras2_learning", learning)
    if len(alike):
        counts = alike.verdict.value_counts()
        lines.append(
            "Keras 3 and Keras 2 learning alike (final losses and quality per seed, each measure's margin): "
            + ", ".join(f"{counts[v]} {v}" for v in (ALIKE, DIFFER, UNDECIDED) if v in counts)
            + f" of {len(alike)} comparisons"
        )
    return [Text("Keras 3 against Keras 2:"), Bullets(lines)]


def blocks(frames: ProfileFrames) -> list[Block]:
    found = frames.once("keras2_versus", versus)
    if found.empty:
        return []
    figure = figures.save(ratio_figure(found), frames.folder, "keras2")
    found_blocks: list[Block] = [
        Heading("Keras 2 beside Keras 3", 3),
        Text(
            "Each setting's processes against the Keras 2 (tf-keras) processes of the same model, trained with the "
            "same `fit` and custom `train_step` on TensorFlow: the ratio of geometric means with Welch's t interval "
            "over processes (a ratio above 1 is slower, or more memory, than Keras 2). The memory is what training "
            "adds to the process (`train_peak_rss_mb - rss_before_train_mb`)."
        ),
        Figure(figure, "Steady step, first epoch and training memory of each setting as a ratio to Keras 2's"),
        Text(
            "Over the models: each Keras 3 backend's steady step over Keras 2's, the geometric mean of the models' "
            'ratios with the t interval over models (it answers "on these models"; a model\'s own ratio and its '
            "verdict are in the table after it)."
        ),
        Table(overall_shown(across_models(found))),
        Table(shown(found)),
    ]
    alike = frames.once("keras2_learning", learning)
    if len(alike):
        table = alike.assign(
            lr=[lr_label(v) for v in alike.lr],
            difference=[signed(v) for v in alike.difference],
            p_alike_holm=[number(v) for v in alike.p_alike_holm],
            p_differ_holm=[number(v) for v in alike.p_differ_holm],
        )[LEARNING_SHOWN]
        found_blocks.append(
            Details(
                f"Do Keras 3 and Keras 2 learn alike? ({len(alike)} comparisons)",
                [
                    Text(
                        "Each measure's mean over seeds on a Keras 3 backend minus Keras 2's; `alike` where two "
                        "one-sided tests put the difference inside the measure's margin (suite/margins.py), "
                        "`differ` where Welch's test finds one, both Holm-adjusted over the profile's comparisons."
                    ),
                    Table(table),
                ],
            )
        )
    return found_blocks


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    found = frames.once("keras2_versus", versus)
    if found.empty:
        return {}
    out = {
        "keras2.csv": found.assign(profile=frames.profile),
        "keras2_models.csv": across_models(found).assign(profile=frames.profile),
    }
    alike = frames.once("keras2_learning", learning)
    if len(alike):
        out["keras2_learning.csv"] = alike.assign(profile=frames.profile)
    return out
