"""The report's topic sections, in the order a profile's part of the page shows them.

Each module here is one section and provides what `Section` names: its lines for the profile's "At a glance"
list, its own blocks (headings, text, tables and the figures it draws), and the CSVs it adds to the report folder.
Every function takes the profile's `ProfileFrames`, computed once. Adding a section is one module and one line of
`SECTIONS`; docs/architecture.md has the checklist.
"""

from __future__ import annotations

from types import ModuleType
from typing import Protocol, runtime_checkable

import pandas as pd

from suite.report.frames import ProfileFrames
from suite.report.page import Block
from suite.report.sections import (
    baselines,
    claims,
    cost,
    first_epoch,
    keras2,
    learning,
    lockstep_runs,
    paper_side_by_side,
    sample_quality,
    samples,
    speed,
    time_to_target,
)


@runtime_checkable
class Section(Protocol):
    """What each section module provides."""

    def glance(self, frames: ProfileFrames) -> list[Block]:
        """Its lines under "At a glance" (none where it has nothing to say at a glance)."""

    def blocks(self, frames: ProfileFrames) -> list[Block]:
        """Its part of the page: a heading, its text, tables and figures (none where the profile has no such cells)."""

    def csvs(self, frames: ProfileFrames) -> dict[str, pd.DataFrame]:
        """The rows it adds to report CSVs of its own, by file name; each profile's rows are concatenated."""


SECTIONS: tuple[ModuleType, ...] = (
    time_to_target,
    speed,
    first_epoch,
    baselines,
    keras2,
    learning,
    lockstep_runs,
    sample_quality,
    claims,
    paper_side_by_side,
    samples,
    cost,
)
"""Every section, in page order (their glance lines keep the same order)."""

if len(set(SECTIONS)) != len(SECTIONS):
    raise TypeError("a section is listed twice in SECTIONS")
for _section in SECTIONS:
    if not isinstance(_section, Section):
        raise TypeError(f"{_section.__name__} does not provide glance, blocks and csvs (suite.report.sections.Section)")
