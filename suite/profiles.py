"""How much each cell trains: the `smoke`, `quick`, `paper` and `target` profiles."""

from __future__ import annotations

from dataclasses import dataclass

from architectures import get_spec
from architectures.spec import BATCH_SIZE


@dataclass(frozen=True)
class Profile:
    name: str
    train_images: int | None
    """The first N training images; None for all 60,000."""
    epochs: int
    batch_size: int
    sample_images: int
    """Generated images (and VAE reconstructions of as many test images) saved at the end of each cell: what a
    report reads of a trained model, so it can be measured again without training again."""
    quality_images: int
    """Generated images the judge scores at the end of each cell (see suite/sample_metrics.py); a VAE's test-set
    fit is measured on as many test images."""
    purpose: str
    dense_epochs: int | None = None
    """Epochs of the models without convolutions, when not `epochs`: their epochs are so short that a few
    of them would leave a cell's fixed costs (process start, first-epoch compile, scoring) most of its time."""
    eval_every: int | None = None
    """Time to target: score the samples every this many steps and stop at the family's target (`Family.target`);
    None: score once, at the end."""
    budget_s: float | None = None
    """Time to target: the training seconds a cell may spend before it stops short of its target (`--budget`)."""
    resumable: bool = False
    """Save each cell's weights, optimizer state and epoch records after every epoch, so that running the same
    command again after an interruption goes on from the last finished epoch (`runners.resume`)."""
    parallel: bool = False
    """Run as many cells at once as there are CPUs, one thread each, unless `--jobs` or `--threads` say otherwise:
    for a profile whose cells check that everything runs rather than measure it (cells.csv `parallel_cells`)."""

    def epochs_for(self, model: str) -> int:
        """How many epochs `model` trains under this profile."""
        if self.dense_epochs is None or get_spec(model).convolutional:
            return self.epochs
        return self.dense_epochs


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "smoke",
            512,
            2,
            BATCH_SIZE,
            16,
            500,
            "a few hundred images for tests and CI, a cell per CPU at once",
            parallel=True,
        ),
        Profile("quick", 3200, 5, BATCH_SIZE, 64, 2000, "a training subset, most of its time in steady epochs", 40),
        Profile(
            "speed",
            3200,
            3,
            BATCH_SIZE,
            16,
            500,
            "many short processes for speed comparisons: quick's images, 3 epochs (dense models 10), few scored "
            "samples; run several --seeds, each a process (docs/methodology.md#precision)",
            10,
        ),
        Profile(
            "paper",
            None,
            50,
            BATCH_SIZE,
            2000,
            10000,
            "the paper's setting: all 60,000 images, 50 epochs; 2,000 samples (and VAE reconstructions) kept; "
            "an interrupted cell goes on from its last finished epoch",
            resumable=True,
        ),
        Profile(
            "target",
            None,
            50,
            BATCH_SIZE,
            100,
            2000,
            "time to target: all 60,000 images, scored every 250 steps, until the family's quality target, "
            "30 training minutes or the paper's 50 epochs",
            eval_every=250,
            budget_s=1800.0,
        ),
    )
}
