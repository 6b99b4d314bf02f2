"""Append rows to the tidy CSVs atomically, under a lock, never touching earlier rows."""

from __future__ import annotations

import contextlib
import fcntl
import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from suite.files import atomic_write
from suite.schema import CELL_COLUMNS, EPOCH_COLUMNS, SCHEMA_VERSION

CELLS_CSV = "cells.csv"
EPOCHS_CSV = "epochs.csv"
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
    """Refuse a file whose header is not this schema's."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path) as f:
        header = f.readline().rstrip("\r\n").split(",")
    if tuple(header) != columns:
        raise ResultsError(
            f"{path} was written by another gvbench schema (this is version {SCHEMA_VERSION}); "
            "use a new --out folder or move that file away"
        )


def _append(path: Path, rows: list[dict], columns: tuple[str, ...]) -> None:
    frame = pd.DataFrame(rows, columns=list(columns))
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=not path.exists() or path.stat().st_size == 0)
    old = path.read_bytes() if path.exists() else b""
    with atomic_write(path) as f:
        f.write(old + buffer.getvalue().encode())


def append_cell(out: Path, cell_row: dict, epoch_rows: list[dict]) -> None:
    """Write one finished cell: its epoch rows, then its cell row, each file replaced whole."""
    with locked(out):
        check_header(out / CELLS_CSV, CELL_COLUMNS)
        check_header(out / EPOCHS_CSV, EPOCH_COLUMNS)
        if epoch_rows or not (out / EPOCHS_CSV).exists():
            _append(out / EPOCHS_CSV, epoch_rows, EPOCH_COLUMNS)
        _append(out / CELLS_CSV, [cell_row], CELL_COLUMNS)


def read_results(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`cells.csv` and `epochs.csv` of a results folder as DataFrames."""
    return pd.read_csv(out / CELLS_CSV), pd.read_csv(out / EPOCHS_CSV)
