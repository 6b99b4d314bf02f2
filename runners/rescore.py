"""Score the saved samples of a results folder again with today's metrics: `python -m runners.rescore DIR`.

Run under $KERAS_BACKEND (the judge's outputs agree across backends to 1e-5). For every completed cell with a
samples file, the judge reads its saved generated images (and a VAE's saved reconstructions of the first test
images); each metric the cell has no row of yet is appended to `quality.csv`, with `rescored_images`, the number of
saved images it was measured on. A metric the cell already has is never replaced, so a second run adds nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from runners.scoring import judge, reading_of_reconstructions
from suite.choices import COMPLETED
from suite.results import CELLS_CSV, append_quality, read_csv, read_quality
from suite.schema import CELL_COLUMNS, KEY_COLUMNS


def saved_scores(arrays: dict[str, np.ndarray], labels: np.ndarray) -> dict[str, float]:
    """Every metric that saved samples alone give: readability, haze and speckle of the generated images, and the
    reading of the reconstructions."""
    from architectures.judge import digit_manifold
    from suite.sample_metrics import haze_share, manifold_residuals, readability, speckle_share

    generated = arrays["generated"]
    manifold = digit_manifold()
    on = manifold_residuals(generated, manifold) <= manifold["threshold"]
    scores = readability(judge()(generated)[0], on) | {
        "haze_share": haze_share(generated),
        "speckle_share": speckle_share(generated),
    }
    return scores | reading_of_reconstructions(arrays, labels) | {"rescored_images": float(len(generated))}


def rescore(out: Path, data: str | None = None) -> int:
    """Append the metrics each completed cell of `out` lacks; return how many rows were added."""
    from suite.mnist import load_mnist

    cells = read_csv(out / CELLS_CSV, CELL_COLUMNS)
    cells = cells[cells.status.isin(COMPLETED) & cells.samples_file.notna()]
    have = read_quality(out).groupby(["run_id", "cell_id"]).metric.agg(set)
    labels = load_mnist(data, log=lambda line: print(line, file=sys.stderr))["y_test"]
    added = 0
    for cell in cells.itertuples():
        path = out / cell.samples_file
        if not path.is_file():
            print(f"{cell.cell_id}: no samples file {path}; skipped", file=sys.stderr)
            continue
        with np.load(path) as saved:
            arrays = {name: saved[name] for name in saved.files}
        known = have.get((cell.run_id, cell.cell_id), set())
        new = {metric: value for metric, value in saved_scores(arrays, labels).items() if metric not in known}
        if set(new) <= {"rescored_images"}:
            continue
        keys = {column: getattr(cell, column) for column in KEY_COLUMNS}
        append_quality(out, [keys | {"metric": metric, "value": value} for metric, value in new.items()])
        added += len(new)
        print(f"{cell.cell_id}: {len(new)} metrics from {len(arrays['generated'])} saved images", flush=True)
    return added


def main(argv: list[str]) -> int:
    added = rescore(Path(argv[0]), argv[1] if len(argv) > 1 else None)
    print(f"rescored {argv[0]}: {added} quality rows added")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
