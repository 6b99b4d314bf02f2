"""How gvbench prints a number: one policy that decides the digits of each kind of number, in one place.

Every sentence, table and figure label of the report, the history page, `gvbench compare` and the CLI formats its
numbers through these functions, naming the kind of number it prints (`number(x, "share")`), never a format
spec; a spelling (a ratio's digits, an interval's level) changes here or nowhere.
"""

from __future__ import annotations

import math

import pandas as pd

KINDS = {
    "value": ".3g",
    "seconds": ".3g",
    "loss": ".3g",
    "ratio": ".3g",
    "precise": ".4g",
    "share": "#.3g",
    "percent": ".2g",
    "confidence": ".3g",
    "p": ".2g",
    "effect": ".2f",
    "spread": ".2g",
    "annotation": ".2g",
    "count": ",.0f",
    "threshold": "g",
    "tried": ".2f",
    "tick": "g",
}
"""Each kind of number and the digits it prints with:

- `value`, `seconds`, `loss`: a measured value (seconds, milliseconds, MiB, a loss, a quality metric), 3 significant
  digits;
- `ratio`: a ratio of two measures, 3 significant digits, and near 1 as many more as tell it from 1 (`near_one`);
- `precise`: a value read against its neighbours row by row (every point of a table, the CLI's tables, a ceiling),
  or a classifier's accuracy (99.23%), 4 significant digits;
- `share`: a share in 0..1 (of images, pixels, misreadings), 3 significant digits, trailing zeros kept (0.700,
  0.0345);
- `percent`: a share printed as a percentage (`percent`), 2 significant digits;
- `confidence`: an interval's level as a percentage (95%, 97.9%), 3 significant digits;
- `p`: a p-value, 2 significant digits; `effect`: an effect size (Kendall's W, ε²), 2 decimals;
- `spread`: a typical difference or a standard deviation beside a value, 2 significant digits;
- `annotation`: a number written in a figure's cell, 2 significant digits;
- `count`: a count (steps, processes, images), whole with thousands separators;
- `threshold`: a threshold or setting as it was given (`0.9`, `1.05`, `1e-05`); `tried`: a value a threshold is
  tried at, or the ends of a range a threshold was chosen in, 2 decimals;
- `tick`: an axis tick where matplotlib placed it (`0.5`, `2`).

Learning rates have `lr_label`."""


def spec(kind: str) -> str:
    """The format spec of a kind of number; an unknown kind raises."""
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"no kind of number {kind!r}; one of {', '.join(KINDS)}") from None


def _formatted(value: float, fmt: str) -> str:
    """`value` in `fmt`, but whole with thousands separators where `fmt` would use an exponent (1,582, not 1.58e+03)."""
    text = format(value, fmt)
    return f"{value:,.0f}" if "e+" in text else text


def number(value: float, kind: str = "value") -> str:
    """`value` printed as its kind prints."""
    return _formatted(value, spec(kind))


def percent(share: float, kind: str = "percent") -> str:
    """A share in 0..1 as a percentage: `33%`, `0.95%`."""
    return f"{number(100 * share, kind)}%"


def lr_label(lr: float) -> str:
    """A learning rate as the report names it: `1e-04`, with the digits that tell it from every other rate
    (`2.5e-04`, not `2e-04`, so that two rates are never one column or one panel)."""
    for digits in range(16):
        text = f"{lr:.{digits}e}"
        if float(text) == lr:
            return text
    return repr(lr)


def lr_labels(lrs: list[float] | tuple[float, ...]) -> str:
    """Learning rates joined by spaces, as a command line takes them."""
    return " ".join(lr_label(lr) for lr in lrs)


def signed(value: float, kind: str = "value") -> str:
    """`+4.39` or `-0.364`: a difference that may go either way."""
    return format(value, "+" + spec(kind))


def near_one(ratio: float, kind: str = "ratio") -> str:
    """A ratio as its kind prints, with as many more digits as it takes not to print a ratio that is not 1 as 1
    (1.000001, not 1: a consistent difference of a millionth is a finding, and its size is what says how small)."""
    text = number(ratio, kind)
    if not math.isfinite(ratio) or abs(ratio - 1) < 1e-9 or float(text.replace(",", "")) != 1:
        return text  # below 1e-9: float64 arithmetic's own
    return _formatted(ratio, f".{2 + math.ceil(-math.log10(abs(ratio - 1)))}g")


def times(ratio: float) -> str:
    """A ratio: `1.47×`; one within a rounding of 1 with the digits that tell it from 1 (`1.000001×`)."""
    return f"{near_one(ratio)}×"


def span(low: float, high: float, kind: str = "ratio", collapse: bool = False) -> str:
    """`a–b`; ends within a rounding of 1 get the digits that tell them from 1; with `collapse`, just `a` where both
    ends print the same."""
    a, b = near_one(low, kind), near_one(high, kind)
    return a if collapse and a == b else f"{a}–{b}"


def level(confidence: float) -> str:
    """An interval's real confidence: `95%`, `75%`, `97.9%`."""
    return percent(confidence, "confidence")


def interval(low: float, high: float, confidence: float, kind: str = "ratio") -> str:
    """`95% CI a–b`, at the interval's own confidence."""
    return f"{level(confidence)} CI {span(low, high, kind)}"


def bracketed(low: float, high: float, kind: str = "ratio", sep: str = "–") -> str:
    """An interval after its estimate, as figure labels and compact tables print it: `[a–b]` or `[a, b]`."""
    return f"[{number(low, kind)}{sep}{number(high, kind)}]"


def has_interval(low: float) -> bool:
    """Whether an interval was computed (its low end is not NaN)."""
    return not (low is None or (isinstance(low, float) and math.isnan(low)))


def frame_text(frame: pd.DataFrame, kind: str = "precise") -> str:
    """A pandas frame as the CLI prints it: its floats as `kind` prints them."""
    return frame.to_string(index=False, float_format=lambda v: number(v, kind))
