"""TensorFlow: one persistent GradientTape, one gradient call per loss group."""

from __future__ import annotations

import tensorflow as tf
from keras.utils import unpack_x_y_sample_weight


class TrainStep:
    def train_step(self, data):
        x, noise, _ = unpack_x_y_sample_weight(data)
        with tf.GradientTape(persistent=True) as tape:
            losses = self.compute_losses(x, noise=noise, training=True)
        grads, variables = [], []
        for name, group in self.loss_groups():
            grads += tape.gradient(losses[name], group)
            variables += group
        del tape
        for group_grads, group in self.optimizer_applications(grads, variables):
            self.optimizer.apply(group_grads, group)
        return self.record_losses(losses)


def configure_threads(threads: int) -> str:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    return f"tf.config.threading intra_op={threads} inter_op={threads}"


def version() -> str:
    return tf.__version__


def cache_compilations(folder: str) -> None:
    """Nothing: TensorFlow keeps no compilation cache between processes (its scoring compiles little)."""
