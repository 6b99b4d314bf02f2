"""Run under one backend (KERAS_BACKEND): save a model after two epochs, restore it into a fresh one, train both on.

Prints one JSON line: whether every variable (weights, optimizer slots, noise generator state) came back
equal, and how far apart the two models' next epoch leaves their losses and weights.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from architectures import get_spec
from runners import resume
from runners.backends import build_trainable
from runners.timing import EpochRecorder
from suite.contract import Facts

IMAGES = 256
BATCH = 128


def build(spec):
    keras.utils.set_random_seed(0)
    model = build_trainable(spec, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-4))
    return model


def state(model) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(v).copy() for v in [*model.variables, *model.optimizer.variables]]


def fit(model, x, recorder, initial_epoch: int, epochs: int, callbacks=()) -> None:
    # shuffle=False: both models see the same batches, so only a restore that missed something can part them
    model.fit(
        x,
        batch_size=BATCH,
        epochs=epochs,
        initial_epoch=initial_epoch,
        shuffle=False,
        verbose=0,
        callbacks=[recorder, *callbacks],
    )


def probe(name: str, x: np.ndarray) -> dict:
    spec = get_spec(name, "code")
    folder = Path(tempfile.mkdtemp())
    original, recorder = build(spec), EpochRecorder(IMAGES)
    resume.restore(folder, "cell", original, recorder.epochs)
    saver = resume.EpochCheckpoint(
        folder, "cell", recorder.epochs, Facts(started_at="t0"), resume.Resumed(), time.perf_counter()
    )
    fit(original, x, recorder, 0, 2, [saver])
    restored, restored_recorder = build(spec), EpochRecorder(IMAGES)
    resumed = resume.restore(folder, "cell", restored, restored_recorder.epochs)
    before = [np.array_equal(a, b) for a, b in zip(state(original), state(restored), strict=True)]
    fit(original, x, recorder, 2, 3)
    fit(restored, x, restored_recorder, resumed.epoch, 3)
    last, restored_last = recorder.epochs[-1], restored_recorder.epochs[-1]
    try:
        resume.restore(folder, "another cell", build(spec), [])
        mismatch = None
    except resume.CheckpointMismatch as e:
        mismatch = str(e)
    return {
        "variables": len(before),
        "equal_after_restore": sum(before),
        "epochs_restored": [e.epoch for e in restored_recorder.epochs],
        "resumed": {"epoch": resumed.epoch, "resumed_epochs": resumed.resumed_epochs, "started_at": resumed.started_at},
        "loss_diff": max(abs(last.losses[k] - restored_last.losses[k]) for k in last.losses),
        "weight_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(state(original), state(restored), strict=True)),
        "files": sorted(p.name for p in folder.iterdir()),
        "mismatch": mismatch,
    }


def main() -> None:
    x = np.random.default_rng(0).random((IMAGES, 28, 28, 1), dtype=np.float32)
    print(json.dumps({name: probe(name, x) for name in ("CNNGAN", "CNNVAE")}))


if __name__ == "__main__":
    main()
