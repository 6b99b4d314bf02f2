"""Turn a `NetworkSpec` into a Keras 3 model: the one place where layers are created."""

from __future__ import annotations

import keras

from architectures.spec import KERNEL_SIZE, LEAKY_RELU_SLOPE, Layer, NetworkSpec


def activation(name: str) -> keras.layers.Layer:
    """An activation layer; `leaky_relu` uses Keras' layer default slope of 0.3."""
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=LEAKY_RELU_SLOPE)
    return keras.layers.Activation(name)


def _weighted(layer: Layer) -> keras.layers.Layer:
    if layer.kind == "dense":
        return keras.layers.Dense(layer.size)
    conv = keras.layers.Conv2D if layer.kind == "conv" else keras.layers.Conv2DTranspose
    return conv(layer.size, KERNEL_SIZE, strides=layer.strides, padding="same")


def build_network(
    spec: NetworkSpec, input_shape: tuple[int, ...], hidden_activation: str, name: str
) -> keras.Sequential:
    """Every weighted layer but the last is followed by BatchNormalization and the activation."""
    last = max(i for i, layer in enumerate(spec.layers) if layer.weighted)
    layers: list[keras.layers.Layer] = [keras.Input(input_shape)]
    for i, layer in enumerate(spec.layers):
        if layer.kind == "reshape":
            layers.append(keras.layers.Reshape(layer.size))
        elif layer.kind == "flatten":
            layers.append(keras.layers.Flatten())
        elif i < last:
            layers += [_weighted(layer), keras.layers.BatchNormalization(), activation(hidden_activation)]
        else:
            layers.append(_weighted(layer))
            if spec.output_batchnorm:
                layers.append(keras.layers.BatchNormalization())
            if spec.output_activation != "linear":
                layers.append(activation(spec.output_activation))
    return keras.Sequential(layers, name=name)
