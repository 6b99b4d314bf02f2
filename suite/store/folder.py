"""Append rows to the tidy CSVs atomically, under a lock, never touching earlier rows.

A cell is committed by its row in `cells.csv`, written after its rows in `epochs.csv`,
`steps.csv`, `evaluations.csv` and `quality.csv`. A writer killed in between leaves rows of no cell; readers
ignore them and the next writer removes them, so every committed cell's rows appear exactly once.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from suite import quality_sets
from suite.choices import COMPLETED
from suite.errors import GvbenchError
from suite.files import atomic_write, replace_all
from suite.store.schema import (
    ADDED,
    CELL_COLUMNS,
    EPOCH_COLUMNS,
    EVALUATION_COLUMNS,
    KEY_COLUMNS,
    QUALITY_COLUMNS,
    SCHEMA_VERSION,
    STEP_COLUMNS,
    TEXT_COLUMNS,
    check_row,
    columns_of,
    upgrade,
)

CELLS_CSV = "cells.csv"
EPOCHS_CSV = "epochs.csv"
QUALITY_CSV = "quality.csv"
STEPS_CSV = "steps.csv"
EVALUATIONS_CSV = "evaluations.csv"
CHILD_FILES = {
    EPOCHS_CSV: EPOCH_COLUMNS,
    QUALITY_CSV: QUALITY_COLUMNS,
    STEPS_CSV: STEP_COLUMNS,
    EVALUATIONS_CSV: EVALUATION_COLUMNS,
}
"""Files whose rows a cell's `cells.csv` row commits."""
LOCK_FILE = ".gvbench.lock"


class ResultsError(GvbenchError):
    """The output folder cannot hold results of this schema."""


class ResultsWriteError(GvbenchError):
    """Writing a finished cell's rows failed (no space, read-only, a quota): nothing of that write is kept, the rows
    already there are untouched, and the grid stops, since every later cell would fail the same way."""

    exit_code = 3


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


def header_versions(path: Path, columns: tuple[str, ...]) -> set[int] | None:
    """The schema versions whose header `path` has (several where versions share it; None for an empty file)."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    with open(path) as f:
        header = tuple(f.readline().rstrip("\r\n").split(","))
    found = {v for v in range(min(ADDED) - 1, SCHEMA_VERSION + 1) if header == columns_of(v, columns)}
    if not found:
        raise ResultsError(
            f"{path} was not written by gvbench (its header is no schema version's); "
            "use a new --out folder or move it away"
        )
    return found


def file_version(path: Path, columns: tuple[str, ...]) -> int | None:
    """The schema version of a results file, from its header and its rows' `schema_version` (None when empty)."""
    versions = header_versions(path, columns)
    if versions is None:
        return None
    try:
        rows = set(pd.read_csv(path, usecols=["schema_version"]).schema_version.unique())
    except (ValueError, pd.errors.ParserError) as e:
        raise ResultsError(
            f"{path} is not a readable CSV ({str(e).splitlines()[0]}); use a new --out folder or move it away"
        ) from e
    if len(rows) > 1 or not rows <= versions:
        found = ", ".join(str(v) for v in sorted(rows, key=str))
        raise ResultsError(
            f"{path} holds rows of schema version {found} under a version {max(versions)} header; "
            "use a new --out folder or move it away"
        )
    return rows.pop() if rows else max(versions)


def check_header(path: Path, columns: tuple[str, ...], older_ok: bool = False) -> None:
    """Refuse a file whose header or schema_version is not this schema's (or, with `older_ok`, an earlier one's)."""
    version = file_version(path, columns)
    if version is not None and version != SCHEMA_VERSION and not older_ok:
        raise ResultsError(
            f"{path} has schema version {version} (this gvbench writes {SCHEMA_VERSION}); "
            f"run `gvbench upgrade {path.parent}` to rewrite it, or use a new --out folder"
        )


def read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A results CSV of any schema version as a frame of this version's columns (quality rows written before image
    sets were named get theirs from `quality_sets.legacy`)."""
    if not path.exists() or path.stat().st_size == 0:
        return pd.DataFrame(columns=list(columns))
    frame = upgrade(pd.read_csv(path, dtype=dict.fromkeys(TEXT_COLUMNS, str)), columns)
    if "image_set" in columns and frame.image_set.isna().any():
        frame["image_set"] = frame.image_set.fillna(quality_sets.legacy(frame))
    return frame


def upgrade_folder(out: Path) -> list[Path]:
    """Rewrite a folder's CSVs of an earlier schema version as this version (atomically, under the lock)."""
    files = {CELLS_CSV: CELL_COLUMNS, **CHILD_FILES}
    rewritten = []
    with locked(out):
        for name, columns in files.items():
            check_header(out / name, columns, older_ok=True)
        for name, columns in files.items():
            if file_version(out / name, columns) not in (None, SCHEMA_VERSION):
                with atomic_write(out / name) as f:
                    f.write(read_csv(out / name, columns).to_csv(index=False).encode())
                rewritten.append(out / name)
    return rewritten


def committed_cells(out: Path) -> set[tuple[str, str]]:
    """(run_id, cell_id) of every cell row in `cells.csv`."""
    if not (out / CELLS_CSV).exists() or (out / CELLS_CSV).stat().st_size == 0:
        return set()
    frame = pd.read_csv(out / CELLS_CSV, usecols=["run_id", "cell_id"], dtype=str)
    return set(zip(frame.run_id, frame.cell_id, strict=True))


def finished_ok(out: Path) -> set[str]:
    """cell_id of every cell with a completed row (`ok`, or `budget`) in `cells.csv`."""
    if not (out / CELLS_CSV).exists() or (out / CELLS_CSV).stat().st_size == 0:
        return set()
    frame = pd.read_csv(out / CELLS_CSV, usecols=["cell_id", "status"], dtype=str)
    return set(frame.cell_id[frame.status.isin(COMPLETED)])


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


def _appended(path: Path, rows: list[dict], columns: tuple[str, ...]) -> bytes:
    """The bytes of `path` with `rows` appended (and the header, where the file is new or empty)."""
    frame = pd.DataFrame(rows, columns=list(columns))
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=not path.exists() or path.stat().st_size == 0)
    old = path.read_bytes() if path.exists() else b""
    return old + buffer.getvalue().encode()


def append_cell(
    out: Path,
    cell_row: dict,
    epoch_rows: list[dict],
    quality_rows: list[dict] = (),
    step_rows: list[dict] = (),
    evaluation_rows: list[dict] = (),
) -> None:
    """Write one finished cell: its epoch, quality, step and evaluation rows, then its cell row, each file replaced
    whole.

    Every row is checked against its file's columns before anything is written, and every file's new bytes are on
    disk before the first is replaced (`replace_all`), so a write that fails changes no file; it raises
    `ResultsWriteError`."""
    children = dict(zip(CHILD_FILES, (epoch_rows, quality_rows, step_rows, evaluation_rows), strict=True))
    for name, new_rows in ((CELLS_CSV, [cell_row]), *children.items()):
        for row in new_rows:
            check_row(row, CHILD_FILES.get(name, CELL_COLUMNS), name)
    try:
        with locked(out):
            check_header(out / CELLS_CSV, CELL_COLUMNS)
            for name, columns in CHILD_FILES.items():
                check_header(out / name, columns)
            _drop_uncommitted(out)
            contents = [
                (out / name, _appended(out / name, list(new_rows), CHILD_FILES[name]))
                for name, new_rows in children.items()
                if new_rows or not (out / name).exists()
            ]
            replace_all([*contents, (out / CELLS_CSV, _appended(out / CELLS_CSV, [cell_row], CELL_COLUMNS))])
    except OSError as e:
        raise ResultsWriteError(
            f"could not write results to {out} ({e.strerror or e}): the rows of cell {cell_row['cell_id']} were not "
            "written and the rows already there are untouched; free space (or write access) there and run the same "
            "command again to resume, or rerun into another --out"
        ) from e


def append_quality(out: Path, rows: list[dict]) -> None:
    """Append quality rows of cells already committed (a rescoring), staged like `append_cell`."""
    for row in rows:
        check_row(row, QUALITY_COLUMNS, QUALITY_CSV)
    try:
        with locked(out):
            check_header(out / QUALITY_CSV, QUALITY_COLUMNS)
            replace_all([(out / QUALITY_CSV, _appended(out / QUALITY_CSV, rows, QUALITY_COLUMNS))])
    except OSError as e:
        raise ResultsWriteError(
            f"could not write quality rows to {out} ({e.strerror or e}); the rows already there are untouched; "
            "free space (or write access) there and run the same command again"
        ) from e


def _committed_rows(cells: pd.DataFrame, path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    frame = read_csv(path, columns)
    committed = frame.set_index(["run_id", "cell_id"]).index.isin(cells.set_index(["run_id", "cell_id"]).index)
    return frame[committed].reset_index(drop=True)


def read_results(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`cells.csv` and the committed rows of `epochs.csv` of a results folder as DataFrames."""
    cells = read_csv(out / CELLS_CSV, CELL_COLUMNS)
    return cells, _committed_rows(cells, out / EPOCHS_CSV, EPOCH_COLUMNS)


def read_quality(out: Path, every_set: bool = False) -> pd.DataFrame:
    """The committed rows of `quality.csv` (empty where the folder has none), checked against the invariants of one
    image set; one set per cell (`quality_sets.chosen`), or with `every_set` all of them."""
    cells = read_csv(out / CELLS_CSV, CELL_COLUMNS)
    frame = _committed_rows(cells, out / QUALITY_CSV, QUALITY_COLUMNS)
    quality_sets.check(frame, str(out / QUALITY_CSV))
    return frame if every_set else quality_sets.chosen(frame)


def read_steps(out: Path) -> pd.DataFrame:
    """The committed rows of `steps.csv` (empty where the folder has none)."""
    cells = read_csv(out / CELLS_CSV, CELL_COLUMNS)
    return _committed_rows(cells, out / STEPS_CSV, STEP_COLUMNS)


def read_evaluations(out: Path) -> pd.DataFrame:
    """The committed rows of `evaluations.csv` (empty where the folder has none)."""
    cells = read_csv(out / CELLS_CSV, CELL_COLUMNS)
    return _committed_rows(cells, out / EVALUATIONS_CSV, EVALUATION_COLUMNS)
