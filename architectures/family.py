"""The two model families, GAN and VAE: every fact that differs between them, in one place.

A model's spec names its family (`ModelSpec.family`); the Keras models, the native
baselines, the FLOP counts, the preprocessing and the reports read these facts from it
instead of branching on the family's name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loss:
    """One loss of a training step: its name in logs and CSVs, how reports name it, what it trains."""

    name: str
    label: str
    trains: tuple[str, ...]
    """The networks whose weights this loss updates."""


@dataclass(frozen=True)
class Target:
    """The sample quality a time-to-target cell trains until: bounds on the judge's metrics (suite/sample_metrics.py).

    Justified against the judge's reference sets in results/README.md ("Time to target")."""

    at_least: tuple[tuple[str, float], ...]

    def met(self, scores: dict[str, float]) -> bool:
        """Whether every bound holds for these quality metrics."""
        return all(scores[metric] >= bound for metric, bound in self.at_least)

    def describe(self) -> str:
        return " and ".join(f"{metric} ≥ {bound:g}" for metric, bound in self.at_least)


READABLE_DIGITS = Target(at_least=(("readable_share", 0.5), ("digits_covered", 10.0)))
"""Half the samples read as a digit with p ≥ 0.9 and lie on the digit manifold (no blob on speckle passes), and
every digit drawn (≥ 1% of the samples): real digits score 0.98 and 10, uniform noise and blank images 0."""
CONFIDENT_DIGITS = Target(at_least=(("confident_share", 0.5), ("digits_covered", 10.0)))
"""The target of schema 5 and 6 runs before readable meant on the manifold too: the judge alone, which a speckled
blob can pass (real digits 0.99, uniform noise 0.09)."""
TARGETS = {target.describe(): target for target in (READABLE_DIGITS, CONFIDENT_DIGITS)}
"""Every target a cell has run under, by the text its `target` column records."""


@dataclass(frozen=True)
class Family:
    name: str
    networks: tuple[str, str]
    """The spec's `first` and `second` network, by the attribute names of the Keras model."""
    losses: tuple[Loss, ...]
    model_class: str
    """`module:Class` of the Keras model."""
    steps_class: str
    """`module:Class` of the family's forward pass and losses, for a model of either Keras (`architectures.base.Steps`):
    the Keras model's base, and the Keras 2 model's (runners/keras2.py)."""
    pixel_offset: float
    pixel_scale: float
    """uint8 pixels p become (p - offset) / scale."""
    step_passes: tuple[int, int]
    """Forward-pass equivalents of the first and second network in one training step (architectures/flops.py)."""
    step_calls: tuple[int, int]
    """How many batches the first and second network are called on in one training step."""
    layer_calls: tuple[tuple[int, int, int], tuple[int, int, int]]
    """How often one training step runs each weighted layer's forward, input gradient and weight gradient, in the
    first and the second network: each network's `step_passes` spread over its three operations."""
    test_metrics: tuple[str, ...]
    """Quality metrics computed on the test set besides the judge's (runners/scoring.py)."""
    reconstructs: bool
    """Whether the model reconstructs its input (its samples then hold reconstructions of test images)."""
    target: Target
    """The quality a time-to-target cell (`--profile target`) trains until."""

    @property
    def loss_names(self) -> tuple[str, ...]:
        return tuple(loss.name for loss in self.losses)

    @property
    def epoch_losses(self) -> tuple[str, ...]:
        """The loss metrics of each epoch in epochs.csv: each loss's epoch mean and its last batch."""
        return self.loss_names + tuple(f"{name}_last" for name in self.loss_names)


GAN = Family(
    name="gan",
    networks=("generator", "discriminator"),
    losses=(
        Loss("d_loss", "discriminator loss", ("discriminator",)),
        Loss("g_loss", "generator loss", ("generator",)),
    ),
    model_class="architectures.gan:GAN",
    steps_class="architectures.gan:GANSteps",
    pixel_offset=127.5,
    pixel_scale=127.5,
    # G(z) once, D on the real and the fake batch; D's loss back through both D passes (4 F_D);
    # G's loss back through D to the images (F_D) and through G (2 F_G).
    step_passes=(3, 7),
    step_calls=(1, 2),  # G(z); D on the real and on the fake batch
    # D: forward twice; its loss back through both D passes (input and weight gradients twice), G's loss back through
    # D(G(z)) (input gradients once more); G: forward once, back once.
    layer_calls=((1, 1, 1), (2, 3, 2)),
    test_metrics=(),
    reconstructs=False,
    target=READABLE_DIGITS,
)
VAE = Family(
    name="vae",
    networks=("encoder", "decoder"),
    losses=(Loss("loss", "negative ELBO (nats/image)", ("encoder", "decoder")),),
    model_class="architectures.vae:VAE",
    steps_class="architectures.vae:VAESteps",
    pixel_offset=0.0,
    pixel_scale=255.0,
    step_passes=(3, 3),
    step_calls=(1, 1),
    layer_calls=((1, 1, 1), (1, 1, 1)),
    test_metrics=("test_nelbo", "test_reconstruction_mse"),
    reconstructs=True,
    target=READABLE_DIGITS,
)
FAMILIES: dict[str, Family] = {family.name: family for family in (GAN, VAE)}
LOSS_LABELS: dict[str, str] = {loss.name: loss.label for family in FAMILIES.values() for loss in family.losses}
"""Every loss of every family, in order, with the name figures give it."""


def unknown(what: str, value: object, known: tuple | list | dict) -> ValueError:
    """The error of a dispatch on a closed set that met a value outside it."""
    return ValueError(f"unknown {what} {value!r}; known: {', '.join(map(str, known))}")
