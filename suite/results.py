"""Append rows to the tidy CSVs atomically, under a lock, never touching earlier rows.

A cell is committed by its row in `cells.csv`, written after its rows in `epochs.csv` and
`quality.csv`. A writer killed in between leaves rows of no cell; readers ignore them and
the next writer removes them, so every committed cell's rows appear exactly once.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from suite.files import atomic_write
from suite.schema import CELL_COLUMNS, EPOCH_COLUMNS, KEY_COLUMNS, QUALITY_COLUMNS, SCHEMA_VERSION

CELLS_CSV = "cells.csv"
EPOCHS_CSV = "epochs.csv"
QUALITY_CSV = "quality.csv"
CHILD_FILES = {EPOCHS_CSV: EPOCH_COLUMNS, QUALITY_CSV: QUALITY_COLUMNS}
"""Files whose rows a cell's `cells.csv` row commits."""
LOCK_FILE = ".gvbench.lock"


class ResultsError(Exception):
    """The output folder cannot hold results of this schema."""


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the folder's exclusive lock; say so when another writer makes us wait."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK_FILE, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another gvbench writing to {out} ...", flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_header(path: Path, columns: tuple[str, ...]) -> None:
    """Refuse a file whose header or schema_version is not this schema's."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path) as f:
        header = f.readline().rstrip("\r\n").split(",")
    advice = "use a new --out folder or move that file away"
    if tuple(header) != columns:
        raise ResultsError(f"{path} was written by another gvbench schema (this is version {SCHEMA_VERSION}); {advice}")
    try:
        versions = set(pd.read_csv(path, usecols=["schema_version"]).schema_version.unique())
    except (ValueError, pd.errors.ParserError) as e:
        raise ResultsError(f"{path} is not a readable CSV ({str(e).splitlines()[0]}); {advice}") from e
    if versions - {SCHEMA_VERSION}:
        found = ", ".join(str(v) for v in sorted(versions - {SCHEMA_VERSION}, key=str))
        raise ResultsError(
            f"{path} holds rows of schema version {found} (this gvbench writes version {SCHEMA_VERSION}); {advice}"
        )


def committed_cells(out: Path) -> set[tuple[str, str]]:
    """(run_id, cell_id) of every cell row in `cells.csv`."""
    if not (out / CELLS_CSV).exists() or (out / CELLS_CSV).stat().st_size == 0:
        return set()
    frame = pd.read_csv(out / CELLS_CSV, usecols=["run_id", "cell_id"], dtype=str)
    return set(zip(frame.run_id, frame.cell_id, strict=True))


def finished_ok(out: Path) -> set[str]:
    """cell_id of every cell with an `ok` row in `cells.csv`."""
    if not (out / CELLS_CSV).exists() or (out / CELLS_CSV).stat().st_size == 0:
        return set()
    frame = pd.read_csv(out / CELLS_CSV, usecols=["cell_id", "status"], dtype=str)
    return set(frame.cell_id[frame.status == "ok"])


def _drop_uncommitted(out: Path) -> None:
    """Remove what a killed writer left: temporary files, and rows whose cell row never came."""
    for name in (CELLS_CSV, *CHILD_FILES):
        for stale in out.glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)
    committed = committed_cells(out)
    run, cell = KEY_COLUMNS.index("run_id"), KEY_COLUMNS.index("cell_id")
    for name in CHILD_FILES:
        path = out / name
        if not path.exists():
            continue
        lines = path.read_text().splitlines(keepends=True)
        keep = lines[:1] + [
            line
            for line, row in zip(lines[1:], csv.reader(lines[1:]), strict=True)
            if (row[run], row[cell]) in committed
        ]
        if len(keep) != len(lines):
            with atomic_write(path) as f:
                f.write("".join(keep).encode())


def _append(path: Path, rows: list[dict], columns: tuple[str, ...]) -> None:
    frame = pd.DataFrame(rows, columns=list(columns))
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=not path.exists() or path.stat().st_size == 0)
    old = path.read_bytes() if path.exists() else b""
    with atomic_write(path) as f:
        f.write(old + buffer.getvalue().encode())


def append_cell(out: Path, cell_row: dict, epoch_rows: list[dict], quality_rows: list[dict] = ()) -> None:
    """Write one finished cell: its epoch and quality rows, then its cell row, each file replaced whole."""
    with locked(out):
        check_header(out / CELLS_CSV, CELL_COLUMNS)
        for name, columns in CHILD_FILES.items():
            check_header(out / name, columns)
        _drop_uncommitted(out)
        for name, new_rows in ((EPOCHS_CSV, epoch_rows), (QUALITY_CSV, quality_rows)):
            if new_rows or not (out / name).exists():
                _append(out / name, list(new_rows), CHILD_FILES[name])
        _append(out / CELLS_CSV, [cell_row], CELL_COLUMNS)


def _committed_rows(cells: pd.DataFrame, path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.exists() or path.stat().st_size == 0:
        return pd.DataFrame(columns=list(columns))
    frame = pd.read_csv(path)
    committed = frame.set_index(["run_id", "cell_id"]).index.isin(cells.set_index(["run_id", "cell_id"]).index)
    return frame[committed].reset_index(drop=True)


def read_results(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`cells.csv` and the committed rows of `epochs.csv` of a results folder as DataFrames."""
    cells = pd.read_csv(out / CELLS_CSV)
    return cells, _committed_rows(cells, out / EPOCHS_CSV, EPOCH_COLUMNS)


def read_quality(out: Path) -> pd.DataFrame:
    """The committed rows of `quality.csv` (empty where the folder has none)."""
    cells = pd.read_csv(out / CELLS_CSV)
    return _committed_rows(cells, out / QUALITY_CSV, QUALITY_COLUMNS)
