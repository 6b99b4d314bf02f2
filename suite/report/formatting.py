"""How the report prints a number: values, learning rates, ratios, spans and intervals, in one place.

Every sentence, table and figure label of the report formats its numbers through these functions, so a
spelling (an interval's level, a ratio's digits) changes here or nowhere.
"""

from __future__ import annotations

import math


def number(value: float, fmt: str = ".3g") -> str:
    """`value` in `fmt`, but whole with thousands separators where `fmt` would use an exponent (1,582, not 1.58e+03)."""
    text = format(value, fmt)
    return f"{value:,.0f}" if "e+" in text else text


def lr_label(lr: float) -> str:
    """A learning rate as the report names it: `1e-04`, with the digits that tell it from every other rate
    (`2.5e-04`, not `2e-04`, so that two rates are never one column or one panel)."""
    for digits in range(16):
        text = f"{lr:.{digits}e}"
        if float(text) == lr:
            return text
    return repr(lr)


def signed(value: float, fmt: str = ".3g") -> str:
    """`+4.39` or `-0.364`: a difference that may go either way."""
    return format(value, "+" + fmt)


def near_one(ratio: float, fmt: str = ".3g") -> str:
    """A ratio in `fmt`, with as many more digits as it takes not to print a ratio that is not 1 as 1
    (1.000001, not 1: a consistent difference of a millionth is a finding, and its size is what says how small)."""
    text = number(ratio, fmt)
    if not math.isfinite(ratio) or abs(ratio - 1) < 1e-9 or float(text) != 1:  # below 1e-9: float64 arithmetic's own
        return text
    return number(ratio, f".{2 + math.ceil(-math.log10(abs(ratio - 1)))}g")


def times(ratio: float, fmt: str = ".3g") -> str:
    """A ratio: `1.47×`; one within a rounding of 1 with the digits that tell it from 1 (`1.000001×`)."""
    return f"{near_one(ratio, fmt)}×"


def span(low: float, high: float, fmt: str = ".3g", collapse: bool = False) -> str:
    """`a–b`; ends within a rounding of 1 get the digits that tell them from 1; with `collapse`, just `a` where both
    ends print the same."""
    a, b = near_one(low, fmt), near_one(high, fmt)
    return a if collapse and a == b else f"{a}–{b}"


def level(confidence: float) -> str:
    """An interval's real confidence: `95%`, `75%`, `97.9%`."""
    return f"{number(100 * confidence, '.3g')}%"


def interval(low: float, high: float, confidence: float, fmt: str = ".3g") -> str:
    """`95% CI a–b`, at the interval's own confidence."""
    return f"{level(confidence)} CI {span(low, high, fmt)}"


def bracketed(low: float, high: float, fmt: str = ".3g", sep: str = "–") -> str:
    """An interval after its estimate, as figure labels and compact tables print it: `[a–b]` or `[a, b]`."""
    return f"[{number(low, fmt)}{sep}{number(high, fmt)}]"


def has_interval(low: float) -> bool:
    """Whether an interval was computed (its low end is not NaN)."""
    return not (low is None or (isinstance(low, float) and math.isnan(low)))
