"""versions.csv: one typed row per step of `gvbench versions` (a set's install, import check or run).

The file carries a schema version like the other results files. Version 1 (written before the column existed) has
the same columns without `schema_version`; it is read as version 1 and rewritten at the next append.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from suite.choices import StepStatus
from suite.files import atomic_write
from suite.store.folder import ResultsError

VERSIONS_CSV = "versions.csv"
VERSIONS_SCHEMA = 2
"""2: the `schema_version` column; 1: the same columns without it."""


@dataclass
class Step:
    """One row of versions.csv."""

    set: str
    round: int | None
    position: int | None
    status: StepStatus
    reason: str | None = None
    run_id: str | None = None
    keras_version: str | None = None
    backend_version: str | None = None
    """Each backend's version, `backend version` joined by `;`."""
    at: str | None = None
    schema_version: int = VERSIONS_SCHEMA


FIELDS = tuple(f.name for f in dataclasses.fields(Step))
INTEGERS = ("round", "position", "schema_version")


def _value(name: str, text: str | float | None, path: Path) -> object:
    """A cell of the file as its field's type: None for an empty cell, a `StepStatus`, an int or the text."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    if name == "status":
        try:
            return StepStatus(text)
        except ValueError:
            known = ", ".join(StepStatus)
            raise ResultsError(f"{path} has a step of status {text!r}, not one of {known}; move it away") from None
    if name in INTEGERS:
        return int(float(text))
    return text


def read_steps(path: Path) -> list[Step]:
    """Every step of a versions.csv, typed; an unknown or missing column, status or schema version is refused."""
    if not path.exists():
        return []
    try:
        frame = pd.read_csv(path, dtype=str)
    except (ValueError, pd.errors.ParserError) as e:
        raise ResultsError(f"{path} is not a readable CSV ({str(e).splitlines()[0]}); move it away") from e
    if set(frame.columns) not in (set(FIELDS), set(FIELDS) - {"schema_version"}):
        odd = sorted((set(frame.columns) ^ set(FIELDS)) - {"schema_version"})
        raise ResultsError(
            f"{path} has columns {list(frame.columns)}, not versions.csv's (differ in {odd}); move it away"
        )
    if "schema_version" not in frame.columns:
        frame["schema_version"] = "1"
    versions = {int(v) for v in frame.schema_version.dropna()}
    if not versions <= {1, VERSIONS_SCHEMA}:
        raise ResultsError(f"{path} has schema version {max(versions)} (this gvbench reads up to {VERSIONS_SCHEMA})")
    return [Step(**{name: _value(name, row[name], path) for name in FIELDS}) for _, row in frame.iterrows()]


def steps_frame(paths: list[Path]) -> pd.DataFrame:
    """The steps of some versions.csv files as one frame of their columns (typed through `read_steps`)."""
    steps = [step for path in paths for step in read_steps(path)]
    return pd.DataFrame([dataclasses.asdict(s) for s in steps], columns=list(FIELDS))


def append_steps(path: Path, steps: list[Step]) -> None:
    """Add `steps` after the file's own (whole file replaced atomically), every row at this schema version."""
    rows = [dataclasses.asdict(s) | {"schema_version": VERSIONS_SCHEMA} for s in [*read_steps(path), *steps]]
    frame = pd.DataFrame(rows, columns=list(FIELDS)).astype({n: "Int64" for n in INTEGERS})
    with atomic_write(path) as f:
        f.write(frame.to_csv(index=False).encode())
