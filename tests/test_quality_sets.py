"""Image sets of quality.csv: the rows a rescoring appended are told apart, invariants of one set are enforced, and a
reader takes one set per cell."""

from __future__ import annotations

import pandas as pd
import pytest

from suite import quality_sets
from suite.quality_sets import QualityError


def rows(cell: str, image_set: str | None, **metrics: float) -> list[dict]:
    return [
        {"run_id": "r", "cell_id": cell, "image_set": image_set, "metric": metric, "value": value}
        for metric, value in metrics.items()
    ]


def test_a_rescoring_block_of_an_old_file_is_the_saved_set_and_the_cells_own_rows_are_not():
    frame = pd.DataFrame(
        rows("a", None, confident_share=0.50, quality_images=10000)
        + rows("b", None, confident_share=0.70, quality_images=10000)
        + rows("a", None, readable_share=0.51, rescored_images=2000)
    )
    found = quality_sets.legacy(frame)
    assert list(found) == ["cell-q1"] * 4 + ["saved-q1"] * 2


def test_a_cell_rescored_right_after_it_ran_cannot_be_split_by_position_and_reads_as_saved():
    frame = pd.DataFrame(rows("a", None, confident_share=0.5) + rows("a", None, readable_share=0.51, rescored_images=2))
    # The two blocks touch in the file: the rescoring block is the one holding `rescored_images`, so both are saved.
    # Such a file cannot be split by position; the invariant check below is what catches the mix.
    assert set(quality_sets.legacy(frame)) == {"saved-q1"}


def test_readable_above_confident_on_one_set_is_refused_with_the_cell_named():
    frame = pd.DataFrame(rows("DenseVAE-s0", "saved-q2", readable_share=0.511, confident_share=0.500))
    with pytest.raises(QualityError, match="DenseVAE-s0 .*readable_share 0.511 above confident_share 0.5"):
        quality_sets.check(frame, "quality.csv")
    split = pd.DataFrame(
        rows("DenseVAE-s0", "saved-q1", readable_share=0.511) + rows("DenseVAE-s0", "cell-q1", confident_share=0.5)
    )
    quality_sets.check(split, "quality.csv")


def test_a_reader_takes_the_newest_measures_then_the_set_most_cells_share():
    frame = pd.DataFrame(
        rows("a", "cell-q1", readable_share=0.9)
        + rows("a", "saved-q2", readable_share=0.1)
        + rows("b", "cell-q2", readable_share=0.2)
        + rows("b", "saved-q2", readable_share=0.3)
        + rows("c", "cell-q1", readable_share=0.4)
    )
    chosen = quality_sets.chosen(frame).set_index("cell_id")
    assert chosen.image_set.to_dict() == {"a": "saved-q2", "b": "saved-q2", "c": "cell-q1"}
    assert chosen.value.to_dict() == {"a": 0.1, "b": 0.3, "c": 0.4}


def test_an_unknown_image_set_is_refused():
    with pytest.raises(QualityError, match="unknown image set 'own'"):
        quality_sets.parse("own")
    with pytest.raises(ValueError, match="unknown image source"):
        quality_sets.name("disk")
