"""The smallest difference that matters, per measure: what "alike" is tested against (equivalence, TOST).

Each margin is in the measure's own units (or, where a measure's scale spans orders of magnitude across models,
relative to the lower value) and says why. Two results are alike only where an equivalence test puts their
difference inside the margin; a difference a test cannot tell from noise is `undecided`, not alike.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Margin:
    value: float
    relative: bool
    """True: a ratio within 1/(1 + value)..1 + value; False: a difference within ±value, in the measure's units."""
    why: str

    def describe(self) -> str:
        return f"{self.value:.0%}" if self.relative else f"±{self.value:g}"


SPEED = Margin(
    0.05,
    True,
    "a user choosing a backend would not move for less, and it is about the spread between processes of one setting "
    "on a 2-core machine (1–16%), so a finer claim needs far more processes than a 30-minute grid has",
)
MARGINS: dict[str, Margin] = {
    "d_loss": Margin(
        0.05,
        False,
        "nats: a tenth of the way from a balanced discriminator (log 4 = 1.39) to a "
        "winning one; smaller moves are within an epoch mean's batch-to-batch noise",
    ),
    "g_loss": Margin(0.05, False, "nats, as the discriminator's loss"),
    "loss": Margin(
        1.0, False, "nats per image, about 0.7% of a trained VAE's 140–145: the paper's Figure 4 is not read finer"
    ),
    "test_nelbo": Margin(1.0, False, "nats per image, as the training −ELBO"),
    "test_reconstruction_mse": Margin(0.05, True, "relative: the MSE spans an order of magnitude across models"),
    "frechet_distance": Margin(
        0.10,
        True,
        "relative: it spans 16–700 across models and training lengths; the claims read it in steps of 10% or more",
    ),
    "classifier_score": Margin(0.25, False, "of a 1–10 scale: a quarter of a class's worth of diversity"),
    "readable_share": Margin(0.05, False, "5 points of share: the claims' thresholds step by 0.05–0.10"),
    "confident_share": Margin(0.05, False, "as the readable share"),
    "on_manifold_share": Margin(0.05, False, "as the readable share"),
    "sharp_share": Margin(0.05, False, "as the readable share"),
    "precision": Margin(0.05, False, "a share of samples, as the readable share"),
    "recall": Margin(0.05, False, "a share of real digits, as the readable share"),
    "coverage": Margin(0.05, False, "a share of real digits, as the readable share"),
    "density": Margin(0.10, False, "about 1 for real digits: a tenth of that"),
    "recon_accuracy": Margin(0.05, False, "as the readable share"),
    "haze_share": Margin(0.02, False, "a quarter of the real digits' 0.076: less does not change how a grid looks"),
    "speckle_share": Margin(0.02, False, "as haze"),
    "mid_tone_share": Margin(0.02, False, "as haze"),
    "mean_confidence": Margin(0.02, False, "two points of the judge's top probability"),
    "digits_covered": Margin(1.0, False, "one digit of ten"),
    "label_kl_to_uniform": Margin(0.05, False, "nats: about the KL of leaving out a fifth of one digit's share"),
}
"""Per loss and quality measure: the smallest difference between backends that matters, and why."""


def margin_of(measure: str) -> Margin:
    """The margin of `measure`; a measure without one is refused, so none is compared without a stated margin."""
    if measure not in MARGINS:
        raise KeyError(f"no equivalence margin for {measure!r}; add one, with its reason, to suite/margins.py")
    return MARGINS[measure]
