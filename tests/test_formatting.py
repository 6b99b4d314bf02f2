"""The number policy: one module decides the digits of every kind of number, and nothing else picks its own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from suite.formatting import KINDS, lr_label, near_one, number, percent, span, times

ROOT = Path(__file__).resolve().parent.parent
PRINTERS = [
    *sorted((ROOT / "suite" / "report").rglob("*.py")),
    ROOT / "suite" / "compare.py",
    ROOT / "suite" / "history.py",
    ROOT / "suite" / "cli.py",
]
"""Every module that prints numbers to a reader: the report and its history page, compare, history and the CLI."""
SPEC = re.compile(r"^[+\- ]?(,?(\d+)?(\.\d+)?[dfgeE%]|,)$|%[+\- ]?\d*\.\d+[fgeE]")
"""A format spec for a number, in `format`'s or printf's spelling: `.3g`, `,.0f`, `g`, `%+.3g s`, `.0%`."""


def format_specs(path: Path) -> list[str]:
    """Where a module picks a number's digits itself: an f-string's format spec, or a string that is one."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            text = "".join(v.value for v in node.format_spec.values if isinstance(v, ast.Constant))
            if SPEC.search(text) or not text:
                found.append(f"{path.name}:{node.lineno} f-string format spec {text!r}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SPEC.search(node.value):
            found.append(f"{path.name}:{node.lineno} {node.value!r}")
    return found


def test_no_module_that_prints_numbers_picks_its_own_digits():
    found = [spec for path in PRINTERS for spec in format_specs(path)]
    assert not found, "format specs outside suite/formatting.py (name a kind instead):\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        'x = f"{ratio:.2f}"',
        'x = number(v, ".3g")',
        'x = ax.bar_label(c, fmt="%+.3g s")',
        'x = f"{lr:g}"',
        'x = f"{n:,}"',
    ],
)
def test_the_check_finds_a_planted_format_spec(tmp_path, source):
    planted = tmp_path / "planted.py"
    planted.write_text(source + "\n")
    assert format_specs(planted)


def test_a_date_format_is_not_a_number_format(tmp_path):
    planted = tmp_path / "dates.py"
    planted.write_text('x = f"{started:%Y-%m-%d %H:%M}"\n')
    assert format_specs(planted) == []


def test_two_close_learning_rates_get_two_labels():
    """One significant digit would print 2e-4 and 2.5e-4 alike, and merge two cells' columns."""
    assert lr_label(2e-4) != lr_label(2.5e-4)
    assert (lr_label(2e-4), lr_label(2.5e-4), lr_label(1e-5)) == ("2e-04", "2.5e-04", "1e-05")


def test_each_kind_prints_as_the_policy_says():
    assert number(0.123456, "share") == "0.123" and number(0.03449, "share") == "0.0345"
    assert number(0.7, "share") == "0.700"
    assert number(1234.5, "count") == "1,234" and number(1582.0) == "1,582"  # never an exponent
    assert number(0.0123, "p") == "0.012" and number(0.3712, "effect") == "0.37"
    assert percent(0.3312) == "33%" and percent(0.979, "confidence") == "97.9%"
    assert times(1.4712) == "1.47×" and times(1.000001) == "1.000001×"  # a ratio that is not 1 never prints as 1
    assert near_one(0.9999996) == "0.9999996" and span(2.0, 2.0, collapse=True) == "2"


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="no kind of number 'ratios'"):
        number(1.0, "ratios")


def test_kinds_are_documented():
    """Every kind the policy knows is explained in its docstring, so a call site can choose one by reading."""
    source = (ROOT / "suite" / "formatting.py").read_text()
    assert [kind for kind in KINDS if f"`{kind}`" not in source] == []
