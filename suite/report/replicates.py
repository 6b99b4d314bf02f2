"""Do the backends learn alike? Each final loss and quality metric per seed, the backend effect tested against the
spread between seeds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from runners.backends import BACKENDS
from suite.report.data import LOSSES, model_order
from suite.report.quality import SHOWN
from suite.report.tables import in_order, last_epochs, lr_label
from suite.uncertainty import backend_effect, ratio_ci

ALPHA = 0.05
"""A backend effect is claimed when the Kruskal–Wallis p-value is below this."""
DIFFER, ALIKE, UNDECIDED, ALONE = (
    "backends differ",
    "not told apart from the seed spread",
    "undecided: one seed per backend",
    "one backend only",
)
KEYS = ["profile", "label", "lr", "measure"]


def per_seed(frame: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """Tidy: one row per ok cell and measure (its last epoch's mean of each loss, each quality metric)."""
    ids = ["profile", "label", "backend", "lr", "seed"]
    last = last_epochs(frame)
    losses = last.melt(id_vars=ids, value_vars=[c for c in LOSSES if c in last], var_name="measure")
    quality = scored.melt(id_vars=ids, value_vars=[c for c in SHOWN if c in scored], var_name="measure")
    long = pd.concat([losses.assign(kind="final loss"), quality.assign(kind="quality")], ignore_index=True)
    return long.dropna(subset=["value"])


def measure_name(measure: str) -> str:
    return f"final {LOSSES[measure]}" if measure in LOSSES else SHOWN.get(measure, measure)


def _effect(group: pd.DataFrame) -> dict:
    values = {b: g.value.to_numpy() for b, g in group.groupby("backend") if len(g)}
    values = {b: values[b] for b in BACKENDS if b in values}
    medians = {b: float(np.median(v)) for b, v in values.items()}
    high, low = max(medians, key=medians.get), min(medians, key=medians.get)
    p_value, epsilon = backend_effect(list(values.values()))
    row = {
        "backends": len(values),
        "seeds": min(len(v) for v in values.values()),
        "p_value": p_value,
        "epsilon_squared": epsilon,
        "highest": high,
        "lowest": low,
        "ratio": medians[high] / medians[low] if medians[low] > 0 else math.nan,
    }
    ci = ratio_ci(values[high], values[low]) if medians[low] > 0 and high != low else (math.nan, math.nan)
    row["ratio_ci_low"], row["ratio_ci_high"] = ci
    if len(values) < 2:
        row["verdict"] = ALONE
    elif row["seeds"] < 2:
        row["verdict"] = UNDECIDED
    else:
        row["verdict"] = DIFFER if p_value < ALPHA else ALIKE
    return row


def effects(long: pd.DataFrame) -> pd.DataFrame:
    """Per profile, model, lr and measure: Kruskal–Wallis across backends with seeds as replicates, epsilon², and
    the highest backend median over the lowest with its 95% bootstrap interval."""
    if long.empty:
        return pd.DataFrame(columns=[*KEYS, "verdict"])
    rows = [{**dict(zip(KEYS, key, strict=True)), **_effect(g)} for key, g in long.groupby(KEYS, sort=False)]
    return in_order(pd.DataFrame(rows), "lr", "measure")


def _ratio_text(row) -> str:
    if row.highest == row.lowest:
        return "every backend's median the same"
    text = f"{row.highest} {row.ratio:.3g}× {row.lowest}"
    if not np.isnan(row.ratio_ci_low):
        text += f" (95% CI {row.ratio_ci_low:.3g}–{row.ratio_ci_high:.3g})"
    return text


def glance_lines(found: pd.DataFrame) -> list[str]:
    """Per model: whether its backends learn alike, tested against the spread between seeds."""
    if found.empty:
        return ["no cell finished ok, so there is nothing to compare"]
    lines = []
    for label in model_order(found.label):
        group = found[found.label == label]
        compared = group[group.verdict.isin([DIFFER, ALIKE])]
        if compared.empty:
            seeds = int(group.seeds.max())
            why = ALONE if (group.verdict == ALONE).all() else f"{seeds} seed per backend"
            lines.append(
                f"{label}: undecided ({why}): a backend difference cannot be told from a seed difference; "
                "run `--seeds 0 1 2` (or more) to decide"
            )
            continue
        differ = compared[compared.verdict == DIFFER].sort_values("ratio", ascending=False)
        text = (
            f"{label}: the backends differ beyond the spread between seeds in {len(differ)} of {len(compared)} "
            f"measures (Kruskal–Wallis, p < {ALPHA:g}, {int(compared.seeds.min())}+ seeds per backend)"
        )
        if len(differ):
            worst = differ.iloc[0]
            text += (
                f"; largest: {measure_name(worst.measure)} at lr {lr_label(worst.lr)}, {_ratio_text(worst)}, "
                f"p = {worst.p_value:.2g}, ε² = {worst.epsilon_squared:.2f}"
            )
        lines.append(text)
    return lines


def table(found: pd.DataFrame) -> pd.DataFrame:
    """The effects as the page shows them: names for measures, lr as text, the ratio with its interval."""
    shown = found.assign(
        measure=found.measure.map(measure_name),
        lr=found.lr.map(lr_label),
        ratio=[_ratio_text(r) if not np.isnan(r.ratio) else "" for r in found.itertuples()],
    )
    columns = ["label", "lr", "measure", "verdict", "seeds", "p_value", "epsilon_squared", "ratio"]
    return shown[columns].rename(columns={"label": "model", "ratio": "highest ÷ lowest backend median"})
