"""Quality metrics on inputs whose answers are known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from suite import sample_metrics
from suite.controls import blurred, speckled, strokes


def one_hot(labels) -> np.ndarray:
    return np.eye(10)[np.asarray(labels)]


def test_classifier_score_of_a_certain_uniform_judge_is_10():
    assert sample_metrics.classifier_score(one_hot(np.arange(1000) % 10)) == pytest.approx(10.0)


def test_classifier_score_of_one_repeated_answer_or_of_no_opinion_is_1():
    assert sample_metrics.classifier_score(one_hot([3] * 50)) == pytest.approx(1.0)
    assert sample_metrics.classifier_score(np.full((50, 10), 0.1)) == pytest.approx(1.0)


def test_classifier_score_of_certain_answers_over_k_digits_is_k():
    assert sample_metrics.classifier_score(one_hot(np.arange(400) % 4)) == pytest.approx(4.0)
    # Two equally likely digits, each image 0.75 sure: exp(KL) = exp(log 2 - H(0.75))
    probs = np.zeros((2, 10))
    probs[0, :2] = [0.75, 0.25]
    probs[1, :2] = [0.25, 0.75]
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert sample_metrics.classifier_score(probs) == pytest.approx(math.exp(math.log(2) - entropy))


def test_frechet_distance_of_a_set_with_itself_is_zero():
    features = np.random.default_rng(0).standard_normal((500, 16))
    assert sample_metrics.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_shifted_features_is_the_squared_shift():
    features = np.random.default_rng(1).standard_normal((500, 16))
    shift = np.linspace(-1, 2, 16)
    expected = float(np.square(shift).sum())
    assert sample_metrics.frechet_distance(features, features + shift) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_scaled_features_matches_the_closed_form():
    # Same mean; covariance Σ and 4Σ: tr(Σ + 4Σ - 2·(4Σ²)^½) = tr(Σ)·(1 + 4 - 4) = tr(Σ)
    features = np.random.default_rng(2).standard_normal((300, 8)) @ np.diag(np.arange(1, 9))
    centred = features - features.mean(axis=0)
    _, cov = sample_metrics.feature_stats(features)
    assert sample_metrics.frechet_distance(centred, 2 * centred) == pytest.approx(np.trace(cov), rel=1e-9)


def test_frechet_distance_of_a_constant_set_is_finite():
    """Blank images give identical features: a singular covariance must not make the distance NaN or complex."""
    rng = np.random.default_rng(3)
    test = rng.standard_normal((200, 8))
    blank = np.ones((200, 8))
    mean, cov = sample_metrics.feature_stats(test)
    expected = float(np.square(mean - 1).sum() + np.trace(cov))
    assert sample_metrics.frechet_distance(blank, test) == pytest.approx(expected, rel=1e-9)


def test_label_coverage_of_uniform_and_of_one_digit():
    uniform = sample_metrics.label_shares(one_hot(np.arange(100) % 10))
    assert np.allclose(uniform, 0.1)
    assert sample_metrics.coverage(uniform) == {"digits_covered": 10.0, "label_kl_to_uniform": pytest.approx(0.0)}
    only_sevens = sample_metrics.label_shares(one_hot([7] * 30))
    assert sample_metrics.coverage(only_sevens) == {
        "digits_covered": 1.0,
        "label_kl_to_uniform": pytest.approx(math.log(10)),
    }


def test_a_digit_below_the_covered_share_is_not_covered():
    labels = [0] * 995 + [1] * 5  # digit 1 is 0.5% of the images
    assert sample_metrics.coverage(sample_metrics.label_shares(one_hot(labels)))["digits_covered"] == 1.0


def test_readability_counts_images_at_or_above_the_confidence_threshold():
    probs = np.zeros((4, 10))
    probs[0, 0] = 1.0
    probs[1, :2] = [0.9, 0.1]
    probs[2, :2] = [0.6, 0.4]
    probs[3, :] = 0.1
    assert sample_metrics.readability(probs) == {
        "mean_confidence": pytest.approx((1.0 + 0.9 + 0.6 + 0.1) / 4),
        "confident_share": pytest.approx(0.5),
    }


def test_mid_tone_share_is_zero_for_ink_and_paper_and_one_for_grey():
    binary = np.zeros((2, 28, 28), dtype=np.uint8)
    binary[:, 10:20, 10:20] = 255
    assert sample_metrics.mid_tone_share(binary) == 0.0
    assert sample_metrics.mid_tone_share(np.full((2, 28, 28), 128, dtype=np.uint8)) == 1.0
    quarter = binary.copy()
    quarter[:, :14, :14] = 100
    assert sample_metrics.mid_tone_share(quarter) == pytest.approx(0.25)


def test_confusions_count_unsure_images_by_their_two_top_digits():
    probs = np.zeros((5, 10))
    probs[0, [2, 3]] = [0.55, 0.45]  # unsure between 2 and 3
    probs[1, [3, 2]] = [0.6, 0.4]  # the same pair, other order
    probs[2, [4, 9, 1]] = [0.5, 0.3, 0.2]  # unsure between 4 and 9
    probs[3, [4, 9]] = [0.95, 0.05]  # sure: not a confusion
    probs[4, 7] = 1.0
    pairs = sample_metrics.confusions(probs)
    assert pairs[(2, 3)] == pytest.approx(2 / 5)
    assert pairs[(4, 9)] == pytest.approx(1 / 5)
    assert sum(pairs.values()) == pytest.approx(3 / 5)
    assert len(pairs) == 45


def test_score_images_gives_every_metric_once():
    rng = np.random.default_rng(4)
    probs = rng.dirichlet(np.ones(10), 100)
    scores = sample_metrics.score_images(
        rng.integers(0, 256, (100, 28, 28), dtype=np.uint8),
        probs,
        rng.standard_normal((100, 8)),
        sample_metrics.feature_stats(rng.standard_normal((80, 8))),
    )
    assert sum(scores[f"label_share_{d}"] for d in range(10)) == pytest.approx(1.0)
    assert len([k for k in scores if k.startswith("confused_")]) == 45
    assert all(np.isfinite(v) for v in scores.values())


@pytest.fixture(scope="module")
def manifold() -> dict[str, np.ndarray]:
    """A digit manifold of 2,000 stroke images, its threshold from 500 others."""
    return sample_metrics.fit_manifold(strokes(2000, seed=1), strokes(500, seed=2))


def on_manifold(images: np.ndarray, manifold: dict) -> float:
    return float((sample_metrics.manifold_residuals(images, manifold) <= manifold["threshold"]).mean())


def test_digits_sharp_or_blurred_lie_on_the_manifold_and_noise_and_speckle_do_not(manifold):
    digits = strokes(500, seed=3)
    assert on_manifold(digits, manifold) >= 0.95, "held-out digits of the same kind"
    assert on_manifold(blurred(digits), manifold) >= 0.95, "blur keeps a digit a digit"
    assert on_manifold(speckled(digits), manifold) <= 0.05, "a digit on salt and pepper is not one"
    noise = np.random.default_rng(4).integers(0, 256, (500, 28, 28), dtype=np.uint8)
    assert on_manifold(noise, manifold) == 0.0


def test_readable_needs_a_confident_judge_an_image_on_the_manifold_and_a_sharp_edge(manifold):
    digits, confident = strokes(4, seed=5), one_hot([1, 2, 3, 4])
    images = np.concatenate([digits, speckled(digits), blurred(digits, 2.0, stretch=True)])
    gate = sample_metrics.gates(images, manifold | {"edge_threshold": np.array(0.45)})
    found = sample_metrics.readability(np.concatenate([confident] * 3), gate)
    assert found["confident_share"] == 1.0, "the judge is sure of every image, the speckled and blurred ones too"
    assert found["readable_share"] == pytest.approx(1 / 3), "only the clean ones are readable"
    assert found["sharp_share"] == pytest.approx(2 / 3), "a blur of 2 pixels has no edge as sharp as ink"
    unsure = sample_metrics.readability(np.full((12, 10), 0.1), gate)
    assert unsure["readable_share"] == 0.0 and unsure["on_manifold_share"] == pytest.approx(2 / 3)
    stricter = sample_metrics.readability(np.concatenate([confident] * 3) * 0.95, gate, cutoff=0.96)
    assert stricter["readable_share"] == 0.0, "a judge 95% sure is not sure enough at a cutoff of 0.96"


def test_edges_are_the_steepest_step_between_neighbouring_pixels():
    image = np.zeros((3, 28, 28), np.uint8)
    image[1, 10, 10] = 255
    image[2, 5:20, 8] = np.arange(15) * 17
    np.testing.assert_allclose(sample_metrics.edges(image), [0.0, 1.0, 14 * 17 / 255])
    digits = strokes(200, seed=9)
    sharp, soft = sample_metrics.edges(digits), sample_metrics.edges(blurred(digits, 2.0, stretch=True))
    assert sharp.min() > soft.max(), "any stroke in ink has a steeper edge than any stroke blurred by 2 pixels"


def test_blur_reads_as_haze_and_speckle_as_speckle_not_haze():
    digits = strokes(500, seed=6)
    clean, soft, spotted = (
        {
            name: measure(images)
            for name, measure in (("haze", sample_metrics.haze_share), ("speckle", sample_metrics.speckle_share))
        }
        for images in (digits, blurred(digits), speckled(digits))
    )
    gained = soft["haze"] - clean["haze"]
    assert gained > 0.05, "a blurred digit is hazier than the digit"
    assert spotted["haze"] - clean["haze"] < 0.25 * gained, "speckle adds far less haze than blur does"
    assert spotted["speckle"] > clean["speckle"] + 0.05, "a speckled digit reads speckled"
    assert soft["speckle"] <= clean["speckle"] + 0.01, "blur adds no speckle"


def test_precision_and_recall_tell_a_faithful_sample_from_a_collapsed_and_from_an_off_support_one():
    rng = np.random.default_rng(8)
    real, same = rng.standard_normal((400, 8)), rng.standard_normal((400, 8))
    faithful = sample_metrics.fidelity_diversity(same, real)
    assert faithful["precision"] > 0.9 and faithful["recall"] > 0.9 and faithful["coverage"] > 0.9
    assert faithful["prdc_images"] == 400
    collapsed = sample_metrics.fidelity_diversity(np.tile(real[:1], (400, 1)) + 1e-3 * same, real)
    assert collapsed["precision"] == 1.0 and collapsed["recall"] < 0.1, "one real mode: all real-looking, no variety"
    elsewhere = sample_metrics.fidelity_diversity(same + 10.0, real)
    assert elsewhere["precision"] == 0.0 and elsewhere["coverage"] == 0.0, "off the real digits' support"
    assert sample_metrics.fidelity_diversity(same, real[:100])["prdc_images"] == 100, "as many as both sides have"
