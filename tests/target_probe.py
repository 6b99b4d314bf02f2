"""Run under one backend (KERAS_BACKEND): time-to-target training of a DenseVAE on random images.

Evaluates every 3 steps (4 steps an epoch) under three targets: one met at once, one never met (the
cell trains its 2 epochs), and one never met with a budget the first step exceeds. Prints one JSON line.
"""

from __future__ import annotations

import dataclasses
import json
import os

from runners.cell import import_keras

import_keras(os.environ["KERAS_BACKEND"])

import numpy as np  # noqa: E402

from architectures import get_spec  # noqa: E402
from architectures.family import Target  # noqa: E402
from architectures.inputs import preprocess  # noqa: E402
from runners.cell import train_keras  # noqa: E402
from runners.target_watch import TargetWatch  # noqa: E402
from runners.timing import EpochRecorder  # noqa: E402
from suite import profiles  # noqa: E402
from suite.choices import Status  # noqa: E402
from suite.contract import Cell, Result, Task  # noqa: E402

EVERY, STEPS_PER_EPOCH = 3, 4
profiles.PROFILES["target"] = dataclasses.replace(profiles.PROFILES["target"], eval_every=EVERY, quality_images=64)
rng = np.random.default_rng(0)
arrays = {
    "x_train": rng.integers(0, 256, (STEPS_PER_EPOCH * 128, 28, 28), dtype=np.uint8),
    "x_test": rng.integers(0, 256, (64, 28, 28), dtype=np.uint8),
}


def run(met: bool, budget_s: float | None) -> dict:
    Target.met = lambda self, scores: met
    cell = Cell(os.environ["KERAS_BACKEND"], "DenseVAE", "paper", 1e-3, "target", 0, 2, 2, budget_s=budget_s)
    spec = get_spec(cell.model)
    x = preprocess(spec, arrays["x_train"])
    recorder = EpochRecorder(len(x))
    result = Result(Status.OK, epochs=recorder.epochs)
    watch = TargetWatch(cell, arrays, recorder, result, STEPS_PER_EPOCH)
    train_keras(spec, Task(cell, verbose=0), x, recorder, result, watch)
    watch.finish()
    return {
        "evaluated_steps": [e.step for e in result.evaluations],
        "evaluated_epochs": [e.epoch for e in result.evaluations],
        "train_s": [e.train_s for e in result.evaluations],
        "eval_s": [e.eval_s for e in result.evaluations],
        "test_nelbo": [e.scores["test_nelbo"] for e in result.evaluations],
        "target_step": result.target_step,
        "target_train_s": result.target_train_s,
        "epoch_steps": [e.steps for e in result.epochs],
        "epoch_s": [e.epoch_time_s for e in result.epochs],
        "watch_train_s": watch.train_s,
    }


print(json.dumps({"met": run(True, None), "never": run(False, None), "budget": run(False, 1e-3)}))
