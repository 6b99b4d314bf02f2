"""Score the saved samples of a results folder again with today's measures: `python -m runners.rescore DIR`.

Run under $KERAS_BACKEND (the judge's outputs agree across backends to 1e-5). For every completed cell with a
samples file, the judge reads its saved generated images (and a VAE's saved reconstructions of the first test
images), and every image metric is appended to `quality.csv` as one image set, `saved-qN` (`suite.quality_sets`),
with `rescored_images`, the number of saved images all of them were measured on. A cell that already has that set
is skipped, so a second run adds nothing; rows of other sets are never touched.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from runners.scoring import judge, reading_of_reconstructions, real_features
from suite import quality_sets
from suite.choices import COMPLETED
from suite.store.folder import CELLS_CSV, append_quality, read_csv, read_quality
from suite.store.schema import CELL_COLUMNS, KEY_COLUMNS


def saved_scores(arrays: dict[str, np.ndarray], labels: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """Every metric that saved samples alone give, all on the saved generated images: the judge's metrics, haze and
    speckle, and the reading of the reconstructions."""
    from architectures.judge import digit_manifold, test_stats
    from suite.sample_metrics import score_images

    generated = arrays["generated"]
    probs, features = judge()(generated)
    scores = score_images(generated, probs, features, test_stats(), digit_manifold(), real)
    return scores | reading_of_reconstructions(arrays, labels) | {"rescored_images": float(len(generated))}


def rescore(out: Path, data: str | None = None) -> int:
    """Append the metrics each completed cell of `out` lacks; return how many rows were added."""
    from suite.mnist import load_mnist

    cells = read_csv(out / CELLS_CSV, CELL_COLUMNS)
    cells = cells[cells.status.isin(COMPLETED) & cells.samples_file.notna()]
    image_set = quality_sets.name("saved")
    quality = read_quality(out, every_set=True)
    have = set(quality.loc[quality.image_set == image_set, ["run_id", "cell_id"]].itertuples(index=False, name=None))
    mnist = load_mnist(data, log=lambda line: print(line, file=sys.stderr))
    labels, real = mnist["y_test"], real_features(mnist)
    added = 0
    for cell in cells.itertuples():
        path = out / cell.samples_file
        if not path.is_file():
            print(f"{cell.cell_id}: no samples file {path}; skipped", file=sys.stderr)
            continue
        if (cell.run_id, cell.cell_id) in have:
            continue
        with np.load(path) as saved:
            arrays = {name: saved[name] for name in saved.files}
        new = saved_scores(arrays, labels, real)
        keys = {column: getattr(cell, column) for column in KEY_COLUMNS} | {"image_set": image_set}
        append_quality(out, [keys | {"metric": metric, "value": value} for metric, value in new.items()])
        added += len(new)
        print(f"{cell.cell_id}: {len(new)} metrics of {image_set} from {len(arrays['generated'])} images", flush=True)
    return added


def main(argv: list[str]) -> int:
    added = rescore(Path(argv[0]), argv[1] if len(argv) > 1 else None)
    print(f"rescored {argv[0]}: {added} quality rows added")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
