"""`gvbench report DIR`: figures, summary tables, report.md and a self-contained report.html.

The cells are read and the report-wide tables computed once; each profile's frames are computed once
(`frames.ProfileFrames`) and handed to every section of `sections.SECTIONS` in turn.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from suite.choices import BACKENDS, COMPLETED, MISSING
from suite.formatting import lr_label
from suite.report import step_profile, tables
from suite.report.frames import ProfileFrames, profile_frames
from suite.report.page import Block, Contents, Heading, Table, Text, write_page
from suite.report.sections import SECTIONS
from suite.store.derived import wide_quality, with_training_time
from suite.store.loading import latest, load, load_evaluations, load_steps, result_folders

PROVENANCE_COLUMNS = [
    "backend_version",
    "keras_version",
    "python_version",
    "numpy_version",
    "threads",
    "parallel_cells",
    "jit_compile",
    "cpu_model",
    "cpu_count",
    "hostname",
    "platform",
    "git_commit",
]


def _joined(values: pd.Series) -> str:
    return ", ".join(sorted({str(v) for v in values.dropna()}))


def provenance(chosen: pd.DataFrame) -> pd.DataFrame:
    """Per backend: the machines, versions, threads and commits behind its numbers."""
    rows = []
    for backend, group in chosen.groupby("backend"):
        row = {"backend": backend, "profiles": _joined(group.profile), "runs": group.run_id.nunique()}
        row |= {column: _joined(group[column]) for column in PROVENANCE_COLUMNS}
        row["started"] = f"{group.started_at.min()} .. {group.started_at.max()}"
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["_order"] = frame.backend.map(BACKENDS.index)
    return frame.sort_values("_order").drop(columns="_order")


def side_by_side(chosen: pd.DataFrame) -> list[Block]:
    """A warning where cells ran beside other cells: their times are not those of a machine to themselves."""
    at_once = pd.to_numeric(chosen.parallel_cells, errors="coerce").fillna(1)
    if not (at_once > 1).any():
        return []
    return [
        Text(
            f"{(at_once > 1).sum()} of {len(chosen)} cells ran up to {int(at_once.max())} at once, each given "
            "CPUs of its own (`parallel_cells`): they shared the machine's memory bandwidth and caches, so their "
            "times check that everything runs; compare them only with cells run the same way, not with cells "
            "that had the machine to themselves."
        )
    ]


def glance(frames: ProfileFrames) -> list[Block]:
    """ "At a glance": a caveat where cells ran side by side, each section's lines, then the cells not ok."""
    blocks: list[Block] = [Heading("At a glance", 3), *side_by_side(frames.chosen)]
    for section in SECTIONS:
        blocks += section.glance(frames)
    grid = frames.grid
    absent = [b for b in BACKENDS if b in set(grid.backend) and (grid[grid.backend == b].status == MISSING).all()]
    if absent:
        blocks.append(Text(f"No cell of this profile ran on {' or '.join(absent)}: its grid is read without them."))
    grid = grid[~grid.backend.isin(absent)]
    not_ok = grid[~grid.status.isin(COMPLETED)]
    if len(not_ok):
        shown = not_ok[["backend", "label", "lr", "seed", "status", "diverged_epoch", "error"]].rename(
            columns={"label": "model"}
        )
        shown = shown.assign(
            lr=shown.lr.map(lr_label),
            error=shown.error.astype(object).fillna("").map(lambda e: e.splitlines()[0] if e else ""),
        )
        blocks += [Text(f"Cells not ok: {len(not_ok)} of {len(grid)} cells of the grid."), Table(shown)]
    return blocks


def profile_section(frames: ProfileFrames) -> list[Block]:
    """One profile's part of the page: at a glance, then every section in order."""
    blocks: list[Block] = [Heading(f"Profile `{frames.profile}`"), *glance(frames)]
    for section in SECTIONS:
        blocks += section.blocks(frames)
    return blocks


def build_report(root: Path, out: Path | None = None, exclude: tuple[str, ...] = ()) -> Path:
    """Write the report of every results folder under `root` (but `exclude`) into `out` (default `root/report`):
    the cells' profiles, then where the time goes (`gvbench profile` folders)."""
    out = out or root / "report"
    profiled = step_profile.blocks(root, out, exclude)
    blocks: list[Block] = [Heading("gvbench report", 1)]
    tables_out: dict[str, pd.DataFrame] = step_profile.csvs(root, exclude)
    if profiled and not result_folders(root, exclude):
        blocks += [Contents(), *profiled]
    else:
        cell_blocks, cell_tables = cells_report(root, out, exclude)
        blocks += [*cell_blocks[:-2], *profiled, *cell_blocks[-2:]]
        tables_out |= cell_tables
    write_page(out, "report", "gvbench report", blocks, tables_out)
    return out


def cells_report(root: Path, out: Path, exclude: tuple[str, ...]) -> tuple[list[Block], dict[str, pd.DataFrame]]:
    """The blocks (the last two: where the numbers come from) and the CSVs of the cells of every results folder."""
    cells, epochs, scores = load(root, exclude)
    chosen, superseded = latest(cells)
    summary = tables.summary(chosen, epochs)
    agreement = tables.agreement(chosen, epochs)
    scored = with_training_time(wide_quality(chosen, scores), epochs)
    blocks: list[Block] = [
        Text(
            f"{len(chosen)} cells from {chosen.run_id.nunique()} runs in {len(set(chosen.source))} results "
            f"folder(s). Reruns of a cell show its latest ok row (else its latest row); "
            f"{superseded} earlier rows are not shown."
        ),
        Contents(),
    ]
    steps = load_steps(root, exclude)
    evaluations = load_evaluations(root, exclude)
    per_profile: dict[str, list[pd.DataFrame]] = {}
    for profile in sorted(chosen.profile.unique()):
        frames = profile_frames(root, out, profile, chosen, epochs, summary, agreement, scored, steps, evaluations)
        blocks += profile_section(frames)
        for section in SECTIONS:
            for name, rows in section.csvs(frames).items():
                per_profile.setdefault(name, []).append(rows)
    blocks += [Heading("Where the numbers come from", 2), Table(provenance(chosen))]
    return blocks, {name: pd.concat(rows, ignore_index=True) for name, rows in per_profile.items()}
