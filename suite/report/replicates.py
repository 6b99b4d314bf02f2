"""Do the backends learn alike? Each final loss and quality metric per seed: a backend effect tested against the
spread between seeds, and equivalence within the measure's margin (`suite.margins`), each family of tests adjusted
by Holm's method over the profile's measures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from suite.choices import BACKENDS
from suite.formatting import interval, lr_label, number, times
from suite.margins import margin_of
from suite.report.quality_frames import SHOWN
from suite.report.tables import in_order
from suite.store.derived import last_epochs
from suite.store.loading import LOSSES, model_order
from suite.uncertainty import (
    NO_INTERVAL,
    backend_effect,
    equivalence_p,
    holm,
    log_t_interval,
    paired_backend_effect,
    shift_interval,
)

ALPHA = 0.05
"""A backend effect is claimed when the test's p-value is below this."""
INDEPENDENT, PAIRED = "Kruskal–Wallis", "Friedman, paired by seed"
"""The test of a backend effect: seeds as independent replicates, or (lockstep) as blocks shared by every backend."""
DIFFER, ALIKE, UNDECIDED, ALONE, OPEN = (
    "backends differ",
    "alike within the margin",
    "undecided: one seed per backend",
    "one backend only",
    "undecided",
)
KEYS = ["profile", "label", "lr", "measure"]


def per_seed(frame: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """Tidy: one row per ok cell and measure (its last epoch's mean of each loss, each quality metric)."""
    ids = ["profile", "label", "mode", "backend", "lr", "seed"]
    last = last_epochs(frame)
    losses = last.melt(id_vars=ids, value_vars=[c for c in LOSSES if c in last], var_name="measure")
    quality = scored.melt(id_vars=ids, value_vars=[c for c in SHOWN if c in scored], var_name="measure")
    long = pd.concat([losses.assign(kind="final loss"), quality.assign(kind="quality")], ignore_index=True)
    return long.dropna(subset=["value"])


def measure_name(measure: str) -> str:
    return f"final {LOSSES[measure]}" if measure in LOSSES else SHOWN.get(measure, measure)


def _effect(group: pd.DataFrame) -> dict:
    lockstep = bool((group["mode"] == "lockstep").all())
    blocks = group.pivot_table(index="seed", columns="backend", values="value").dropna() if lockstep else None
    paired = lockstep and len(blocks) > 0
    if paired:  # a seed every backend ran is one block, its values compared with each other only
        values = {b: blocks[b].to_numpy() for b in BACKENDS if b in blocks}
        (p_value, w), epsilon = paired_backend_effect(np.column_stack(list(values.values()))), math.nan
    else:
        values = {b: g.value.to_numpy() for b, g in group.groupby("backend") if len(g)}
        values = {b: values[b] for b in BACKENDS if b in values}
        (p_value, epsilon), w = backend_effect(list(values.values())), math.nan
    medians = {b: float(np.median(v)) for b, v in values.items()}
    high, low = max(medians, key=medians.get), min(medians, key=medians.get)
    row = {
        "backends": len(values),
        "seeds": min(len(v) for v in values.values()),
        "test": PAIRED if paired else INDEPENDENT,
        "p_value": p_value,
        "epsilon_squared": epsilon,
        "kendalls_w": w,
        "highest": high,
        "lowest": low,
        "ratio": math.nan,
    }
    positive = all((v > 0).all() for v in values.values())
    if positive and high != low:  # each ratio is what its own interval estimates
        a, b = np.log(values[high]), np.log(values[low])
        if paired:
            row["ratio"], ci = float(np.exp((a - b).mean())), log_t_interval(values[high], values[low], paired)
        else:
            row["ratio"], ci = (
                float(np.exp(np.median(np.subtract.outer(a, b)))),
                shift_interval(values[high], values[low]),
            )
    else:
        ci = NO_INTERVAL
    row["ratio_ci_low"], row["ratio_ci_high"], row["ratio_ci_level"] = ci.low, ci.high, ci.level
    margin = margin_of(group.measure.iloc[0])
    names = list(values)
    pairs = [equivalence_p(values[x], values[y], margin, paired) for i, x in enumerate(names) for y in names[i + 1 :]]
    row["margin"] = margin.describe()
    row["p_alike"] = max(pairs) if pairs and not any(math.isnan(p) for p in pairs) else math.nan  # every pair alike
    row["spread"] = medians[high] - medians[low]
    row["verdict"] = ALONE if len(values) < 2 else UNDECIDED if row["seeds"] < 2 else None
    return row


def effects(long: pd.DataFrame) -> pd.DataFrame:
    """Per profile, model, lr and measure: Kruskal–Wallis across backends with seeds as replicates and its epsilon²
    (lockstep cells: Friedman's test with each seed a block, and Kendall's W), and the highest backend median over
    the lowest with its interval at its real confidence (`shift_interval`; lockstep: `log_t_interval`, paired)."""
    if long.empty:
        return pd.DataFrame(columns=[*KEYS, "verdict"])
    rows = [{**dict(zip(KEYS, key, strict=True)), **_effect(g)} for key, g in long.groupby(KEYS, sort=False)]
    found = pd.DataFrame(rows)
    for _, group in found.groupby("profile"):
        open_ = group[group.verdict.isna()].index
        differ, alike = holm(found.loc[open_, "p_value"]), holm(found.loc[open_, "p_alike"])
        found.loc[open_, "p_value_holm"], found.loc[open_, "p_alike_holm"] = differ, alike
        found.loc[open_, "verdict"] = [
            ALIKE if a < ALPHA else DIFFER if d < ALPHA else OPEN for d, a in zip(differ, alike, strict=True)
        ]
    return in_order(found, "lr", "measure")


def effect_size(row) -> str:
    """`ε² = 0.76` (Kruskal–Wallis) or `W = 1.00` (Friedman); empty where there is none."""
    if not np.isnan(row.kendalls_w):
        return f"W = {number(row.kendalls_w, 'effect')}"
    return "" if np.isnan(row.epsilon_squared) else f"ε² = {number(row.epsilon_squared, 'effect')}"


def _ratio_text(row) -> str:
    if row.highest == row.lowest:
        return "every backend's median the same"
    text = f"{row.highest} {times(row.ratio)} {row.lowest}"
    if not np.isnan(row.ratio_ci_low):
        text += f" ({interval(row.ratio_ci_low, row.ratio_ci_high, row.ratio_ci_level)})"
    return text


def glance_lines(found: pd.DataFrame) -> list[str]:
    """Per model: in how many measures its backends are alike within the margin, differ, or are undecided."""
    if found.empty:
        return ["no cell finished ok, so there is nothing to compare"]
    lines = []
    for label in model_order(found.label):
        group = found[found.label == label]
        compared = group[group.verdict.isin([DIFFER, ALIKE, OPEN])]
        if compared.empty:
            seeds = int(group.seeds.max())
            why = ALONE if (group.verdict == ALONE).all() else f"{seeds} seed per backend"
            lines.append(
                f"{label}: undecided ({why}): a backend difference cannot be told from a seed difference; "
                "run `--seeds 0 1 2` (or more) to decide"
            )
            continue
        differ = compared[compared.verdict == DIFFER].sort_values("ratio", ascending=False)
        alike, undecided = compared[compared.verdict == ALIKE], compared[compared.verdict == OPEN]
        how = "consistently across seeds" if (compared.test == PAIRED).all() else "beyond the spread between seeds"
        text = (
            f"{label}, {len(compared)} measures ({int(compared.seeds.min())}+ seeds per backend, Holm over the "
            f"profile's measures, alpha {number(ALPHA, 'threshold')}): alike within their margins in {len(alike)}, "
            f"different {how} in {len(differ)}, undecided in {len(undecided)}"
        )
        if len(undecided):
            names = ", ".join(f"{measure_name(r.measure)} (margin {r.margin})" for r in undecided.itertuples())
            text += f" ({names}: neither equivalence nor a difference is shown)"
        if len(differ):
            worst = differ.iloc[0]
            text += (
                f"; largest difference: {measure_name(worst.measure)} at lr {lr_label(worst.lr)}, "
                f"{_ratio_text(worst)}, "
                f"Holm-adjusted p = {number(worst.p_value_holm, 'p')}, {effect_size(worst)}"
            )
        lines.append(text)
    return lines


def table(found: pd.DataFrame) -> pd.DataFrame:
    """The effects as the page shows them: names for measures, lr as text, the ratio with its interval."""
    shown = found.assign(
        measure=found.measure.map(measure_name),
        lr=found.lr.map(lr_label),
        ratio=[_ratio_text(r) if not np.isnan(r.ratio) else "" for r in found.itertuples()],
        effect=[effect_size(r) for r in found.itertuples()],
    )
    columns = ["label", "lr", "measure", "verdict", "margin", "test", "seeds", "p_value_holm", "p_alike_holm"]
    columns += ["effect", "spread", "ratio"]
    names = {
        "label": "model",
        "effect": "effect size",
        "spread": "highest − lowest backend median",
        "ratio": "highest ÷ lowest backend (what its interval estimates)",
        "p_value_holm": "p differ (Holm)",
        "p_alike_holm": "p alike (TOST, Holm)",
    }
    return shown[[c for c in columns if c in shown]].rename(columns=names)
