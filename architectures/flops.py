"""Floating-point operations of one training step, counted from the layer shapes of a spec.

Counting rules (the convention of MLPerf/PaLM "model FLOPs"):

- A multiply-accumulate is 2 FLOPs. Only Dense and convolution layers are counted: their
  products are all but a few percent of a step's arithmetic. BatchNorm, activations, bias
  adds, the losses and the optimizer update are left out (they are memory-bound).
- Dense: 2 · inputs · units per sample. Conv2D ("same", stride s): 2 · k² · C_in · C_out ·
  H_out · W_out. Conv2DTranspose: 2 · k² · C_in · C_out · H_in · W_in (every input pixel
  spreads a k×k×C_out patch). Padding positions count as if they held data, as the kernels
  compute them.
- A backward pass through a network costs twice its forward pass (gradients with respect to
  the inputs and to the weights). Where only input gradients are needed (the generator's loss
  passing back through the discriminator), it costs one forward pass.
- The passes per step are each family's `step_passes` (architectures/family.py).
- A GAN step: G(z) once and D on the real and the fake batch forward (F_G + 2 F_D); the
  discriminator's loss backward through both D passes (4 F_D); the generator's loss back
  through D(G(z)) to the images (F_D) and through G (2 F_G): 3 F_G + 7 F_D per sample.
- A VAE step: encoder and decoder forward, and backward through both: 3 (F_E + F_D).

These are the FLOPs a step needs; a backend may execute more (JAX's pullback of the
discriminator loss also forms the generator's gradients, then drops them).
"""

from __future__ import annotations

from architectures.family import unknown
from architectures.spec import BLOCK_KINDS, KERNEL_SIZE, Block, ModelSpec, blocks, network_inputs, output_shape


def block_flops(block: Block, shape: tuple[int, ...]) -> int:
    """Forward FLOPs of one block for one sample of per-sample input `shape`."""
    if block.kind == "dense":
        return 2 * shape[-1] * block.size
    if block.kind == "conv":
        out = output_shape(block, shape)
        return 2 * KERNEL_SIZE**2 * shape[-1] * block.size * out[0] * out[1]
    if block.kind == "deconv":
        return 2 * KERNEL_SIZE**2 * shape[-1] * block.size * shape[0] * shape[1]
    if block.kind in ("batchnorm", "activation", "reshape", "flatten"):
        return 0
    raise unknown("block kind", block.kind, BLOCK_KINDS)


def forward_flops(spec: ModelSpec) -> dict[str, int]:
    """Forward FLOPs of each network of the model, for one sample."""
    found = {}
    for name, (shape, network) in network_inputs(spec).items():
        total = 0
        for block in blocks(network, spec.hidden_activation):
            total += block_flops(block, shape)
            shape = output_shape(block, shape)
        found[name] = total
    return found


def train_step_flops(spec: ModelSpec, batch_size: int) -> int:
    """FLOPs one training step on a batch needs (rules in the module docstring)."""
    f = forward_flops(spec)
    passes = zip(spec.family.networks, spec.family.step_passes, strict=True)
    return sum(n * f[network] for network, n in passes) * batch_size
