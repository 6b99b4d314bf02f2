"""Turn a `NetworkSpec` into a Keras 3 model: the one place where layers are created."""

from __future__ import annotations

import keras

from architectures.family import unknown
from architectures.spec import BLOCK_KINDS, KERNEL_SIZE, LEAKY_RELU_SLOPE, Block, NetworkSpec, blocks


def activation(name: str) -> keras.layers.Layer:
    """An activation layer; `leaky_relu` uses Keras' layer default slope of 0.3."""
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=LEAKY_RELU_SLOPE)
    return keras.layers.Activation(name)


def layer(block: Block) -> keras.layers.Layer:
    """The Keras layer of one block."""
    if block.kind == "dense":
        return keras.layers.Dense(block.size)
    if block.kind in ("conv", "deconv"):
        conv = keras.layers.Conv2D if block.kind == "conv" else keras.layers.Conv2DTranspose
        return conv(block.size, KERNEL_SIZE, strides=block.strides, padding="same")
    if block.kind == "batchnorm":
        return keras.layers.BatchNormalization()
    if block.kind == "activation":
        return activation(block.size)
    if block.kind == "reshape":
        return keras.layers.Reshape(block.size)
    if block.kind == "flatten":
        return keras.layers.Flatten()
    raise unknown("block kind", block.kind, BLOCK_KINDS)


def build_network(
    spec: NetworkSpec, input_shape: tuple[int, ...], hidden_activation: str, name: str
) -> keras.Sequential:
    """Every weighted layer but the last is followed by BatchNormalization and the activation."""
    return keras.Sequential([keras.Input(input_shape), *(layer(b) for b in blocks(spec, hidden_activation))], name=name)
