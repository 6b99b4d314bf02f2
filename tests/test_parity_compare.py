"""The parity comparison itself, on arrays with known differences (no backend needed)."""

from __future__ import annotations

import numpy as np

from suite.parity import TOLERANCES, compare, for_golden, largest_differences


def arrays(**changes: float) -> dict[str, np.ndarray]:
    base = {
        "CNNGAN/paper/forward/generator/inference": np.ones((4, 28, 28, 1), "float32"),
        "CNNGAN/paper/train/g_loss": np.array([0.7, 0.6, 0.5], "float32"),
        "CNNGAN/paper/weights/generator/0-Dense/kernel": np.zeros((100, 200), "float32"),
    }
    for key, delta in changes.items():
        flat = base[key.replace("__", "/")].reshape(-1)
        flat[min(5, flat.size - 1)] += delta
    return base


def test_differences_within_tolerance_pass():
    small = TOLERANCES["forward"].atol / 2
    assert compare(arrays(**{"CNNGAN__paper__forward__generator__inference": small}), arrays(), "jax", "tf") == []


def test_a_difference_is_named_with_its_model_output_index_and_size():
    new = arrays(**{"CNNGAN__paper__forward__generator__inference": 0.01})
    (mismatch,) = compare(new, arrays(), "jax", "tensorflow")
    assert mismatch.index == (0, 0, 5, 0) and abs(mismatch.max_abs - 0.01) < 1e-6
    assert str(mismatch).startswith("CNNGAN (paper) output of generator/inference: jax differs from tensorflow by 0.01")


def test_nan_missing_keys_and_wrong_shapes_are_mismatches():
    new = arrays(**{"CNNGAN__paper__train__g_loss": float("nan")})
    del new["CNNGAN/paper/weights/generator/0-Dense/kernel"]
    new["CNNGAN/paper/forward/generator/inference"] = np.ones((4, 28, 28), "float32")
    assert len(compare(new, arrays(), "torch", "tensorflow")) == 3


def test_golden_keeps_a_fixed_sample_of_each_weight():
    kept = for_golden(arrays())
    assert kept["CNNGAN/paper/weights/generator/0-Dense/kernel"].shape == (64,)
    assert kept["CNNGAN/paper/forward/generator/inference"].shape == (4, 28, 28, 1)


def test_largest_differences_per_model_and_kind():
    table = largest_differences({"tensorflow": arrays(), "jax": arrays(**{"CNNGAN__paper__train__g_loss": 1e-6})})
    assert set(table.kind) == {"forward", "train", "weights"}
    assert table.set_index("kind").max_abs_diff["train"] == np.float64(np.float32(0.5 + 1e-6) - np.float32(0.5))
