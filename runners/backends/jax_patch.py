"""A candidate fix for Keras on JAX, applied at Keras' operations: the two convolution gradients XLA:CPU computes
slowly, written the way it runs them fast (the native JAX baseline's `jax.custom_vjp` rules, runners/native/jax.py).

- `ops.conv_transpose` with a stride: its kernel gradient is one matrix product of the cotangent's strided windows
  and the input, not XLA's convolution with a dilated input (jax-ml/jax#23783);
- `ops.conv` with a stride that does not divide its input: its input gradient is the kernel-weighted cotangent
  placed back window by window, not XLA's convolution of a dilated cotangent.

Forward passes are Keras' own lax calls; every other case goes to Keras' own function. `apply()` replaces the two
functions of Keras' JAX backend in this process only: gvbench applies it for the `keras_patched` implementation,
never for `keras`, whose cells time Keras as released.
"""

from __future__ import annotations

from keras.src.backend.jax import nn
from keras.src.backend.jax.core import convert_to_tensor

from architectures.spec import KERNEL_SIZE
from runners.native.jax import conv, deconv, uneven

KERAS_CONV, KERAS_CONV_TRANSPOSE = nn.conv, nn.conv_transpose


def _stride(strides) -> int | None:
    """The one stride of a 2-D operation with equal strides, else None."""
    values = set(strides) if isinstance(strides, list | tuple) else {strides}
    return values.pop() if len(values) == 1 else None


def _fits(inputs, kernel, strides, padding, data_format, dilation_rate) -> int | None:
    """The stride, where the operation is the kind the rules are written for: 2-D, "same", channels last, no
    dilation, a KERNEL_SIZE square kernel."""
    stride = _stride(strides)
    plain = _stride(dilation_rate) == 1 and data_format in (None, "channels_last") and padding.lower() == "same"
    square = kernel.ndim == 4 and kernel.shape[0] == kernel.shape[1] == KERNEL_SIZE
    return stride if plain and square and inputs.ndim == 4 else None


def patched_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    stride = _fits(inputs, kernel, strides, padding, data_format, dilation_rate)
    if stride and uneven(inputs, stride):
        return conv(convert_to_tensor(inputs), convert_to_tensor(kernel), stride)
    return KERAS_CONV(inputs, kernel, strides, padding, data_format, dilation_rate)


def patched_conv_transpose(
    inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None, dilation_rate=1
):
    stride = _fits(inputs, kernel, strides, padding, data_format, dilation_rate)
    if stride and stride > 1 and output_padding is None:
        return deconv(convert_to_tensor(inputs), convert_to_tensor(kernel), stride)
    return KERAS_CONV_TRANSPOSE(inputs, kernel, strides, padding, output_padding, data_format, dilation_rate)


def apply() -> None:
    """Route Keras' JAX `conv` and `conv_transpose` through the patched functions in this process."""
    nn.conv, nn.conv_transpose = patched_conv, patched_conv_transpose
