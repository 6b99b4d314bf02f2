"""Image sets of `quality.csv`: which images a cell's quality rows were measured on, and which set a reader takes.

Every metric of one image set is measured on the same images, whose count the set records (`quality_images` for the
cell's own scored images, `rescored_images` for its saved samples scored again). A set is named by where its images
come from and by the version of the measures (`suite.sample_metrics.SCORER_VERSION`): `cell-q4`, `saved-q4`. Rows
written before sets were named are `cell-q1`, or `saved-q1` for those a rescoring appended.
"""

from __future__ import annotations

import re

import pandas as pd

from suite.errors import GvbenchError
from suite.sample_metrics import SCORER_VERSION

SOURCES = ("cell", "saved")
"""Where a set's images come from: the cell's own scored images, or its saved samples scored again."""
COUNTS = {"cell": "quality_images", "saved": "rescored_images"}
"""The metric that records how many images each source's set holds."""
NAME = re.compile(r"^(cell|saved)-q(\d+)$")
INVARIANTS = (
    ("readable_share", "confident_share"),
    ("readable_share", "on_manifold_share"),
    ("readable_share", "sharp_share"),
)
"""(smaller, larger): on one set of images, a share of images passing more tests is never above one passing fewer."""


class QualityError(GvbenchError):
    """A quality file breaks an invariant that holds on one set of images, or names an unknown one."""


def name(source: str, version: int = SCORER_VERSION) -> str:
    """The name of the image set of `source` scored by measures of `version`."""
    if source not in SOURCES:
        raise ValueError(f"unknown image source {source!r}; one of {', '.join(SOURCES)}")
    return f"{source}-q{version}"


def parse(set_name: str) -> tuple[str, int]:
    """(source, version) of an image set's name."""
    found = NAME.match(str(set_name))
    if not found:
        raise QualityError(f"unknown image set {set_name!r}; expected cell-qN or saved-qN")
    return found.group(1), int(found.group(2))


def legacy(frame: pd.DataFrame) -> pd.Series:
    """The image set of rows written before sets were named, from their order in the file: a rescoring appended a
    cell's new metrics in one block ending with `rescored_images`, after the rows the cell wrote itself."""
    sets = pd.Series(name("cell", 1), index=frame.index)
    for _, rows in frame.groupby(["run_id", "cell_id"], sort=False):
        positions = rows.index.to_numpy()
        blocks = (pd.Series(positions).diff() != 1).cumsum().to_numpy()
        rescored = set(blocks[(rows.metric == "rescored_images").to_numpy()])
        saved = [index for index, block in zip(positions, blocks, strict=True) if block in rescored]
        sets[saved] = name("saved", 1)
    return sets


def check(frame: pd.DataFrame, where: str) -> None:
    """Refuse quality rows that break an invariant of one image set, naming the first cell that does."""
    if frame.empty:
        return
    wide = frame.pivot_table(index=["run_id", "cell_id", "image_set"], columns="metric", values="value")
    for smaller, larger in INVARIANTS:
        if smaller in wide and larger in wide:
            broken = wide[wide[smaller] > wide[larger] + 1e-12]
            if not broken.empty:
                run_id, cell_id, image_set = broken.index[0]
                raise QualityError(
                    f"{where}: {cell_id} (run {run_id}, image set {image_set}) has {smaller} "
                    f"{broken[smaller].iloc[0]:.4g} above {larger} {broken[larger].iloc[0]:.4g}, impossible on one set "
                    "of images; the file was edited or mixes sets: restore it from version control"
                )


def chosen(frame: pd.DataFrame) -> pd.DataFrame:
    """One image set per cell: the newest measures first, then the set most of the cells have (so that a folder's
    cells are compared on images of one kind and count), then the cell's own."""
    if frame.empty:
        return frame
    cells = frame.drop_duplicates(["run_id", "cell_id", "image_set"])
    coverage = cells.image_set.value_counts()
    rank = sorted(coverage.index, key=lambda s: (-parse(s)[1], -coverage[s], SOURCES.index(parse(s)[0])))
    order = {set_name: i for i, set_name in enumerate(rank)}
    best = frame.assign(_rank=frame.image_set.map(order)).groupby(["run_id", "cell_id"])._rank.transform("min")
    return frame[frame.image_set.map(order) == best].reset_index(drop=True)
