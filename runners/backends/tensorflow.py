"""TensorFlow: one persistent GradientTape, one gradient call per loss group."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import tensorflow as tf
from keras.utils import unpack_x_y_sample_weight

from runners.native.tensorflow import forward_calls, step_phases
from runners.phases import Phase, self_times, step_phase


class TrainStep:
    def losses_and_gradients(self, x, noise) -> tuple[dict, list, list]:
        """The forward under one persistent tape, then one gradient call per loss group: losses, grads, variables."""
        with tf.GradientTape(persistent=True) as tape:
            losses = self.compute_losses(x, noise=noise, training=True)
        grads, variables = [], []
        for name, group in self.loss_groups():
            grads += tape.gradient(losses[name], group)
            variables += group
        del tape
        return losses, grads, variables

    def apply_gradients(self, grads: list, variables: list) -> None:
        for group_grads, group in self.optimizer_applications(grads, variables):
            self.optimizer.apply(group_grads, group)

    def train_step(self, data):
        x, noise, _ = unpack_x_y_sample_weight(data)
        losses, grads, variables = self.losses_and_gradients(x, noise)
        self.apply_gradients(grads, variables)
        return self.record_losses(losses)


def compiled(model, function):
    """`function` as the model's train step is compiled: a `tf.function`, with XLA when the model's `jit_compile`."""
    return tf.function(function, jit_compile=bool(model.jit_compile))


def phases(model, calls: dict, x, noise) -> list[Phase]:
    """Each network's forward calls, the backward and the update, each a `tf.function` of the step's own code."""
    bn = model.bn_training(True)
    forwards = forward_calls(
        lambda name, batch: getattr(model, name)(batch, training=bn), calls, lambda f: compiled(model, f)
    )
    x, noise = tf.constant(x), tf.constant(noise)
    variables = model.losses_and_gradients(x, noise)[2]
    with_grads = compiled(model, lambda: model.losses_and_gradients(x, noise)[1])
    losses_only = compiled(model, lambda: model.compute_losses(x, noise=noise, training=True))
    update = compiled(model, lambda grads: model.apply_gradients(grads, variables))
    return step_phases(forwards, losses_only, with_grads, update, "optimizer applications")


def compiled_step(model, x) -> Phase:
    """The whole `train_step`, a `tf.function` as Keras' `fit` makes it, on batch `x`."""
    step = tf.function(model.train_step, reduce_retracing=True, jit_compile=bool(model.jit_compile))
    x = tf.constant(x)
    return step_phase(lambda: step((x,)), fetched, "tf.function of the model's train_step, as fit compiles it")


def fetched(outputs: dict) -> list:
    """The values of a compiled call's outputs (a `tf.function` on CPU has finished them when it returns)."""
    return [value.numpy() for value in outputs.values()]


def layer_passes(layer, x) -> dict:
    """A Keras layer's `LAYER_PASSES`, each a `tf.function`: its forward, and its forward with the gradients for its
    input and weights, for its input alone, for its weights alone."""
    x = tf.constant(x)

    def gradients(sources):
        def run():
            with tf.GradientTape() as tape:
                tape.watch(x)
                out = layer(x)
            return tape.gradient(out, sources(), output_gradients=out)

        return tf.function(run)

    weights = lambda: list(layer.trainable_variables)  # noqa: E731
    return {
        "forward": tf.function(lambda: layer(x)),
        "forward_backward": gradients(lambda: [x, *weights()]),
        "input_gradient": gradients(lambda: [x]),
        "weight_gradient": gradients(weights),
    }


def configure_threads(threads: int) -> str:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    return f"tf.config.threading intra_op={threads} inter_op={threads}"


def version() -> str:
    return tf.__version__


def cache_compilations(folder: str) -> None:
    """Nothing: TensorFlow keeps no compilation cache between processes (its scoring compiles little)."""


def traced(run, folder: Path, name: str) -> tuple[Path, dict[str, tuple[float, int]]]:
    """Run `run()` under TensorFlow's profiler; save its XPlane (TensorBoard's and xprof's trace viewer open it) as
    `folder/name.xplane.pb` and return it with the self seconds and count of each type of TensorFlow op the executor
    ran (events named `node:Type` on its `tf_Compute` threads, counted by `Type`; `runners.phases.self_times`)."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    with tempfile.TemporaryDirectory() as tmp:
        tf.profiler.experimental.start(tmp)
        try:
            run()
        finally:
            tf.profiler.experimental.stop()
        path = folder / f"{name}.xplane.pb"
        shutil.move(next(Path(tmp).rglob("*.xplane.pb")), path)
    space = xplane_pb2.XSpace.FromString(path.read_bytes())
    events = []
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                node = plane.event_metadata[event.metadata_id].name
                if ":" not in node:
                    continue
                start = (line.timestamp_ns * 1000 + event.offset_ps) / 1e6  # µs, as Chrome traces count
                kind = node.rsplit(":", 1)[1]
                events.append({"ph": "X", "tid": line.id, "ts": start, "dur": event.duration_ps / 1e6, "name": kind})
    return path, self_times(events)
