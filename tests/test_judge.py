"""The shipped judge: its accuracy on the MNIST test set, the same predictions on every backend, its card."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from architectures import judge
from architectures.judge import CONTROLS, MANIFOLD, REFERENCE, TEST_STATS, WEIGHTS, card
from suite import sample_metrics
from suite.choices import BACKENDS
from suite.controls import NEGATIVE, NEGATIVE_MAX, POSITIVE, POSITIVE_MIN
from suite.paper import PAPER_SCORES
from suite.sample_metrics import feature_stats
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def judged(tmp_path_factory) -> dict[str, dict]:
    """Each backend's judge outputs on the 10,000 MNIST test images, from a process of its own."""
    folder = tmp_path_factory.mktemp("judge")
    found = {}
    for backend in BACKENDS:
        env = os.environ | {"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        env.pop("GVBENCH_DATA_SHA256", None)
        out = folder / f"{backend}.npz"
        done = subprocess.run(
            [sys.executable, str(ROOT / "tests" / "judge_probe.py"), str(out)], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"judge probe failed on {backend}:\n{done.stderr[-3000:]}"
        with np.load(out) as arrays:
            found[backend] = {name: arrays[name] for name in arrays.files}
    return found


@pytest.mark.parity
@pytest.mark.parametrize("backend", BACKENDS)
def test_judge_reads_at_least_99_percent_of_the_test_set(judged, backend):
    outputs = judged[backend]
    accuracy = (outputs["probs"].argmax(axis=1) == outputs["labels"]).mean()
    assert accuracy >= 0.99
    # The card's figure was measured with these weights: at most a near-tie or two may differ.
    assert accuracy == pytest.approx(card()["test_accuracy"], abs=2e-4)


@pytest.mark.parity
def test_backends_give_the_judge_the_same_outputs(judged):
    base = judged[BACKENDS[0]]
    for backend in BACKENDS[1:]:
        other = judged[backend]
        # float32 convolutions summed in a different order differ by ~1e-6 relative; 1e-4 leaves room
        # for the 128 features' magnitudes (up to ~30) and still catches a transposed or missing kernel.
        np.testing.assert_allclose(other["features"], base["features"], rtol=1e-4, atol=1e-4, err_msg=backend)
        np.testing.assert_allclose(other["probs"], base["probs"], rtol=0, atol=1e-5, err_msg=backend)
        disagree = other["probs"].argmax(axis=1) != base["probs"].argmax(axis=1)
        top2 = np.sort(base["probs"], axis=1)[:, -2:]
        assert (top2[disagree, 1] - top2[disagree, 0] < 1e-4).all(), "labels may differ only at exact ties"


@pytest.mark.parity
@pytest.mark.parametrize("backend", BACKENDS)
def test_shipped_test_statistics_are_the_judges_features_of_the_test_set(judged, backend):
    mean, cov = judge.test_stats()
    found_mean, found_cov = feature_stats(judged[backend]["features"])
    # Each backend's features match the others' to ~1e-6 relative (above), and so do their mean and
    # covariance over 10,000 images; 1e-4 of the largest entry still catches statistics of another judge,
    # another image set or a subset of it (the first 5,000 test images move the mean by ~1e-2 of it).
    np.testing.assert_allclose(found_mean, mean, rtol=0, atol=1e-4 * np.abs(mean).max(), err_msg=backend)
    np.testing.assert_allclose(found_cov, cov, rtol=0, atol=1e-4 * np.abs(cov).max(), err_msg=backend)


def test_shipped_test_statistics_are_a_mean_and_a_covariance():
    mean, cov = judge.test_stats()
    assert mean.shape == (128,) and cov.shape == (128, 128)
    np.testing.assert_array_equal(cov, cov.T)
    assert np.linalg.eigvalsh(cov).min() > -1e-9 * np.abs(cov).max(), "a covariance is positive semi-definite"
    assert TEST_STATS.stat().st_size < 300_000, "the statistics must stay a small file"


def test_card_describes_the_shipped_weights():
    assert hashlib.sha256(WEIGHTS.read_bytes()).hexdigest() == card()["weights_sha256"]
    assert WEIGHTS.stat().st_size < 2_000_000, "the weights must stay a small file"


def test_reference_sets_span_best_to_worst():
    ref = pd.read_csv(REFERENCE).pivot_table(index=["images", "source"], columns="metric", values="value")
    for images in ref.index.get_level_values("images").unique():
        real, noise, blank = (ref.loc[(images, s)] for s in ("real", "noise", "blank"))
        assert real.frechet_distance < 0.1 * min(noise.frechet_distance, blank.frechet_distance)
        assert real.classifier_score > 9 and real.confident_share > 0.95 and real.digits_covered == 10
        assert blank.classifier_score == pytest.approx(1.0) and blank.digits_covered == 1
        assert noise.mid_tone_share > 0.5 > real.mid_tone_share


def readable(found: dict, name: str, measure: str = "readable_share") -> float:
    """A probed image set's readable share (or another of `readability`'s measures)."""
    images, probs = found[f"{name}/images"], found[f"{name}/probs"]
    return sample_metrics.readability(probs, sample_metrics.gates(images, judge.digit_manifold()))[measure]


@pytest.mark.parity
def test_no_negative_control_reads_as_digits_and_held_out_digits_do(judged):
    found = judged[BACKENDS[0]]
    for name in NEGATIVE:
        assert readable(found, f"control/{name}") <= NEGATIVE_MAX, f"{name} must not read as digits"
    for name in POSITIVE:
        assert readable(found, f"control/{name}") >= POSITIVE_MIN, f"{name} must read as digits"
    assert readable(found, "control/speckled digits", "confident_share") >= 0.5, "the judge alone is fooled"
    for name in NEGATIVE:
        images = found[f"control/{name}/images"]
        passed = np.logical_and.reduce(list(sample_metrics.gates(images, judge.digit_manifold()).values()))
        assert passed.mean() <= NEGATIVE_MAX, f"{name}: the image gates refuse it without the judge's help"
    assert readable(found, "control/test digits blurred σ=2", "readable_share") == 0.0, "a blur of 2 pixels is haze"


@pytest.mark.parity
def test_shipped_control_and_paper_scores_are_what_the_shipped_judge_gives(judged):
    found = judged[BACKENDS[0]]
    shipped = pd.read_csv(CONTROLS).pivot_table(index="control", columns="metric", values="value")
    for name in shipped.index:
        for measure in ("readable_share", "confident_share", "sharp_share", "on_manifold_share"):
            # The judge's probabilities agree across backends to 1e-5 (test above); a share moves by 1/1000 at most
            # when one image sits on the cutoff.
            assert readable(found, f"control/{name}", measure) == pytest.approx(shipped.at[name, measure], abs=1e-3)
    if "paper/GAN_CNN_GenImage.png/images" not in found:
        pytest.skip("the paper's figures are not beside the checkout (shared/paper/figures/)")
    paper = pd.read_csv(PAPER_SCORES).pivot_table(index="figure", columns="metric", values="value")
    for figure in ("GAN_CNN_GenImage.png", "GAN_Dense_GenImage.png", "VAE_Dense_GenImage.png"):
        assert readable(found, f"paper/{figure}") == pytest.approx(paper.at[figure, "readable_share"], abs=1 / 16)


def test_shipped_manifold_is_the_training_digits_principal_directions():
    manifold = judge.digit_manifold()
    basis = manifold["basis"]
    assert basis.shape == (sample_metrics.MANIFOLD_COMPONENTS, 784) and manifold["mean"].shape == (784,)
    np.testing.assert_allclose(basis @ basis.T, np.eye(len(basis)), atol=1e-9, err_msg="orthonormal directions")
    assert 0 < float(manifold["threshold"]) < 28, "a residual in [0, 1] pixels over 784 pixels"
    low, high = manifold["edge_range"]
    assert low <= float(manifold["edge_threshold"]) <= high, "the sharp gate's threshold is one the controls allowed"
    assert MANIFOLD.stat().st_size < 400_000, "the manifold must stay a small file"
