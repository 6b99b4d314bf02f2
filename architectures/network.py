"""Turn a `NetworkSpec` into a Keras model: the one place where layers are created.

Keras 3 by default; `runners.keras2` passes tf-keras (Keras 2), whose layers take the same arguments.
"""

from __future__ import annotations

from types import ModuleType

import keras

from architectures.family import unknown
from architectures.spec import BLOCK_KINDS, KERNEL_SIZE, LEAKY_RELU_SLOPE, Block, NetworkSpec, blocks


def activation(name: str, layers: ModuleType = keras.layers) -> keras.layers.Layer:
    """An activation layer; `leaky_relu` uses Keras' layer default slope of 0.3 (positional: Keras 3 calls it
    `negative_slope`, Keras 2 `alpha`)."""
    if name == "leaky_relu":
        return layers.LeakyReLU(LEAKY_RELU_SLOPE)
    return layers.Activation(name)


def layer(block: Block, layers: ModuleType = keras.layers) -> keras.layers.Layer:
    """The Keras layer of one block, from `layers` (Keras 3's `keras.layers`, or Keras 2's)."""
    if block.kind == "dense":
        return layers.Dense(block.size)
    if block.kind in ("conv", "deconv"):
        conv = layers.Conv2D if block.kind == "conv" else layers.Conv2DTranspose
        return conv(block.size, KERNEL_SIZE, strides=block.strides, padding="same")
    if block.kind == "batchnorm":
        return layers.BatchNormalization()
    if block.kind == "activation":
        return activation(block.size, layers)
    if block.kind == "reshape":
        return layers.Reshape(block.size)
    if block.kind == "flatten":
        return layers.Flatten()
    raise unknown("block kind", block.kind, BLOCK_KINDS)


def build_network(
    spec: NetworkSpec, input_shape: tuple[int, ...], hidden_activation: str, name: str, library: ModuleType = keras
) -> keras.Sequential:
    """Every weighted layer but the last is followed by BatchNormalization and the activation; `library` is `keras`
    or `tf_keras`."""
    hidden = (layer(b, library.layers) for b in blocks(spec, hidden_activation))
    return library.Sequential([library.Input(input_shape), *hidden], name=name)
