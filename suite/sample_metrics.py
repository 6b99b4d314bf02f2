"""Sample-quality metrics, in NumPy/SciPy, from the judge's outputs on a set of images.

Every function takes what the judge gave (softmax probabilities `probs` of shape (n, 10),
penultimate-layer `features` of shape (n, d)) or the uint8 images themselves, so the same
code scores generated images, the reference sets and test fixtures with known answers.
"""

from __future__ import annotations

import contextlib
import io
import itertools

import numpy as np
from scipy.ndimage import median_filter
from scipy.special import xlogy

SCORER_VERSION = 4
"""Version of these measures, part of every image set's name (`suite.quality_sets`): 1 read an image as readable when
the judge was sure of it and it lay on the digit manifold; 2 also asks for an edge as sharp as ink, with thresholds
fitted on the control panels (`suite.controls`); 3 adds precision, recall, density and coverage; 4 the readable share
at each of `CUTOFFS`."""
DIGITS = 10
CONFIDENT = 0.9
"""A judge probability at or above this makes an image readable as that digit."""
CUTOFFS = (0.8, 0.95, 0.99)
"""Other judge cutoffs the readable share is also measured at (`readable_share_at_<cutoff>`), so that a claim can be
tried across them as across its own thresholds."""
COVERED_SHARE = 0.01
"""A digit is covered when at least this share of the images is predicted as it (a tenth of its uniform share)."""
MID_TONE = (0.1, 0.9)
"""Pixel intensities (of 1) strictly between these are neither ink nor paper: the haze of an image."""
PAIRS = list(itertools.combinations(range(DIGITS), 2))
MANIFOLD_COMPONENTS = 50
"""Principal components of the training digits that span the digit manifold (`fit_manifold`)."""
ON_MANIFOLD_QUANTILE = 0.99
"""An image is on the digit manifold when its residual off it is at most this quantile of the test digits'."""
EDGE_GRID = tuple(round(0.05 + 0.01 * i, 2) for i in range(91))
"""Candidate edge thresholds (steepest step between neighbouring pixels, of 1) that `runners.judge_training` fits
the sharp gate from, on the control panels."""
PRDC_K = 5
"""Nearest neighbours behind precision, recall, density and coverage (the default of Naeem et al. 2020)."""
PRDC_IMAGES = 2000
"""Images a side of precision, recall, density and coverage: a fixed count, since all four move with it."""
SPECKLE = 0.25
"""A pixel is speckle when it differs from the median of its 3 × 3 neighbourhood by more than this (of 1)."""


def classifier_score(probs: np.ndarray) -> float:
    """exp(mean over images of KL(p(y|x) || p(y))): 1 for one repeated answer, 10 for certain and uniform."""
    marginal = probs.mean(axis=0)
    kl = (xlogy(probs, probs) - xlogy(probs, marginal[None, :])).sum(axis=1)
    return float(np.exp(kl.mean()))


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (rows are observations) of a feature matrix."""
    features = np.asarray(features, dtype=np.float64)
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows are images)."""
    return frechet_distance_to(a, feature_stats(b))


def frechet_distance_to(a: np.ndarray, stats: tuple[np.ndarray, np.ndarray]) -> float:
    """Fréchet distance between a Gaussian fitted to a feature set and one given by its (mean, covariance).

    |μa − μb|² + tr(Σa + Σb − 2 (Σa^½ Σb Σa^½)^½); the trace of the root is taken from the
    eigenvalues of the symmetric product, so singular covariances (few images, blank images)
    give a finite, non-negative value instead of the complex noise of `scipy.linalg.sqrtm`.
    """
    mean_a, cov_a = feature_stats(a)
    mean_b, cov_b = stats
    root_a = _psd_sqrt(cov_a)
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = np.sqrt(np.clip(cross, 0, None)).sum()
    value = np.square(mean_a - mean_b).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    return float(max(value, 0.0))


def label_shares(probs: np.ndarray) -> np.ndarray:
    """Share of the images the judge labels as each digit (its top class)."""
    return np.bincount(probs.argmax(axis=1), minlength=DIGITS) / len(probs)


def coverage(shares: np.ndarray) -> dict[str, float]:
    """Digits covered and KL(label shares || uniform) in nats (0 for uniform, log 10 for one digit)."""
    return {
        "digits_covered": float((shares >= COVERED_SHARE).sum()),
        "label_kl_to_uniform": float(xlogy(shares, shares * DIGITS).sum()),
    }


def fit_manifold(train_images: np.ndarray, fit_images: np.ndarray) -> dict[str, np.ndarray]:
    """The digit manifold: the mean and first `MANIFOLD_COMPONENTS` principal directions of the training images
    (pixels in [0, 1]), and the residual off it that `ON_MANIFOLD_QUANTILE` of the held-out `fit_images` stay
    within. The sharp gate's threshold is added by `runners.judge_training` (it is fitted on the controls)."""
    x = train_images.reshape(len(train_images), -1).astype(np.float64) / 255.0
    mean = x.mean(axis=0)
    basis = np.linalg.svd(x - mean, full_matrices=False)[2][:MANIFOLD_COMPONENTS]
    manifold = {"mean": mean, "basis": basis}
    threshold = np.quantile(manifold_residuals(fit_images, manifold), ON_MANIFOLD_QUANTILE)
    return manifold | {"threshold": np.array(threshold)}


def manifold_residuals(images: np.ndarray, manifold: dict[str, np.ndarray]) -> np.ndarray:
    """Each image's distance (pixels in [0, 1]) from its projection onto the digit manifold: small for digits,
    sharp or blurred, large for noise and for digits drawn on speckle."""
    x = images.reshape(len(images), -1).astype(np.float64) / 255.0 - manifold["mean"]
    basis = manifold["basis"]
    return np.sqrt(np.square(x - (x @ basis.T) @ basis).sum(axis=1))


def edges(images: np.ndarray) -> np.ndarray:
    """Each image's steepest step between two neighbouring pixels (of 1): about 1 for a digit in ink, 0.6–0.8 for
    one blurred by half a pixel, under 0.55 for a blur, a blob or a mean digit, 0 for a blank page."""
    x = images.astype(np.float64) / 255.0
    down = np.abs(np.diff(x, axis=1)).max(axis=(1, 2))
    across = np.abs(np.diff(x, axis=2)).max(axis=(1, 2))
    return np.maximum(down, across)


def gates(images: np.ndarray, manifold: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Which images lie on the digit manifold (`on_manifold`) and have an edge as sharp as ink's (`sharp`, where the
    manifold carries an edge threshold)."""
    found = {"on_manifold": manifold_residuals(images, manifold) <= manifold["threshold"]}
    if "edge_threshold" in manifold:
        found["sharp"] = edges(images) >= manifold["edge_threshold"]
    return found


def readability(probs: np.ndarray, gate: dict[str, np.ndarray] | None = None, cutoff: float = CONFIDENT) -> dict:
    """Mean top-class probability; the share of images with a top class at or above `cutoff`; and, given the images'
    `gates`, the share passing each gate and the share confident and passing all of them (`readable_share`)."""
    top = probs.max(axis=1)
    confident = top >= cutoff
    scores = {"mean_confidence": float(top.mean()), "confident_share": float(confident.mean())}
    if gate:
        scores |= {f"{name}_share": float(passed.mean()) for name, passed in gate.items()}
        scores["readable_share"] = float(np.logical_and.reduce([confident, *gate.values()]).mean())
    return scores


def at_cutoffs(probs: np.ndarray, gate: dict[str, np.ndarray]) -> dict[str, float]:
    """The readable share at each of `CUTOFFS` (`readable_share_at_<cutoff>`)."""
    return {readable_at(c): readability(probs, gate, c)["readable_share"] for c in CUTOFFS}


def readable_at(cutoff: float) -> str:
    """The metric of the readable share at a judge cutoff other than the default: `readable_share_at_0.95`."""
    return f"readable_share_at_{cutoff:g}"


def mid_tone_share(images: np.ndarray) -> float:
    """Share of pixels that are neither ink nor paper: 0 for a binary image, higher for hazier and noisier ones."""
    x = images.astype(np.float64) / 255.0
    return float(((x > MID_TONE[0]) & (x < MID_TONE[1])).mean())


def _off_median(images: np.ndarray) -> np.ndarray:
    """Each pixel's distance (of 1) from the median of its 3 × 3 neighbourhood."""
    x = images.astype(np.float64) / 255.0
    return np.abs(x - median_filter(x, size=(1, 3, 3), mode="nearest"))


def haze_share(images: np.ndarray) -> float:
    """Share of pixels that are mid-tone and smooth (within `SPECKLE` of their neighbourhood's median): the haze
    of blur, which speckle does not add to."""
    x = images.astype(np.float64) / 255.0
    mid = (x > MID_TONE[0]) & (x < MID_TONE[1])
    return float((mid & (_off_median(images) <= SPECKLE)).mean())


def speckle_share(images: np.ndarray) -> float:
    """Share of pixels that stand out from their 3 × 3 neighbourhood's median by more than `SPECKLE`: salt and
    pepper, which blur does not add to."""
    return float((_off_median(images) > SPECKLE).mean())


def confusions(probs: np.ndarray) -> dict[tuple[int, int], float]:
    """For each digit pair, the share of images that are unsure (top < CONFIDENT) between exactly those two."""
    order = np.argsort(-probs, axis=1)
    unsure = probs.max(axis=1) < CONFIDENT
    first, second = order[unsure, 0], order[unsure, 1]
    low, high = np.minimum(first, second), np.maximum(first, second)
    counts = np.zeros((DIGITS, DIGITS))
    np.add.at(counts, (low, high), 1)
    return {(a, b): float(counts[a, b] / len(probs)) for a, b in PAIRS}


def pair_name(a: int, b: int) -> str:
    return f"confused_{a}_{b}"


def recon_pair_name(a: int, b: int) -> str:
    return f"recon_confused_{a}_{b}"


def reconstruction_reading(labels: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """How the judge reads a VAE's reconstructions of labelled test images: the share it reads as their own digit
    (`recon_accuracy`), and for each digit pair the share of reconstructions of one it reads as the other, either
    way (the paper's "confuses 2 with 3", seen as the paper saw it: in reconstructions)."""
    read = probs.argmax(axis=1)
    wrong = read != labels
    counts = np.zeros((DIGITS, DIGITS))
    np.add.at(counts, (np.minimum(labels[wrong], read[wrong]), np.maximum(labels[wrong], read[wrong])), 1)
    scores = {"recon_accuracy": float((~wrong).mean())}
    return scores | {recon_pair_name(a, b): float(counts[a, b] / len(labels)) for a, b in PAIRS}


def fidelity_diversity(features: np.ndarray, real_features: np.ndarray) -> dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020) of the
    images' judge features against real digits' features, `PRDC_IMAGES` a side (or as many as both have), from the
    `prdc` package: precision and density say how many samples look real, recall and coverage how much of the real
    digits' variety the samples reach."""
    from prdc import compute_prdc

    n = min(len(features), len(real_features), PRDC_IMAGES)
    with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the two counts
        found = compute_prdc(np.asarray(real_features[:n], np.float32), np.asarray(features[:n], np.float32), PRDC_K)
    return {name: float(value) for name, value in found.items()} | {"prdc_images": float(n)}


def score_images(
    images: np.ndarray,
    probs: np.ndarray,
    features: np.ndarray,
    test_stats: tuple[np.ndarray, np.ndarray],
    manifold: dict[str, np.ndarray] | None = None,
    real_features: np.ndarray | None = None,
) -> dict[str, float]:
    """Every image metric of one set of images, as metric name → value (the rows of `quality.csv`).

    `test_stats`: mean and covariance of the judge's features of the test images (`feature_stats`); `manifold`:
    the digit manifold (`fit_manifold`), without which the readable share is not measured; `real_features`: the
    judge's features of real digits, without which precision, recall, density and coverage are not."""
    shares = label_shares(probs)
    gate = None if manifold is None else gates(images, manifold)
    scores = {
        "classifier_score": classifier_score(probs),
        "frechet_distance": frechet_distance_to(features, test_stats),
        **readability(probs, gate),
        **({} if gate is None else at_cutoffs(probs, gate)),
        **coverage(shares),
        "mid_tone_share": mid_tone_share(images),
        "haze_share": haze_share(images),
        "speckle_share": speckle_share(images),
    }
    if real_features is not None:
        scores |= fidelity_diversity(features, real_features)
    scores |= {f"label_share_{digit}": float(share) for digit, share in enumerate(shares)}
    scores |= {pair_name(a, b): share for (a, b), share in confusions(probs).items()}
    return scores
