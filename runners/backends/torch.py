"""PyTorch: one forward graph, one `torch.autograd.grad` per loss group."""

from __future__ import annotations

import torch
import torch._functorch.config
from keras.utils import unpack_x_y_sample_weight

# A GAN step takes two gradients from one graph (retain_graph=True for the first); under
# torch.compile, AOTAutograd's donated buffers forbid that ("compiled with non-empty donated
# buffers which requires ... retain_graph=False"). Donation only saves memory; turn it off.
torch._functorch.config.donated_buffer = False


class TrainStep:
    def train_step(self, data):
        x, noise, _ = unpack_x_y_sample_weight(data)
        losses = self.compute_losses(x, noise=noise, training=True)
        groups = self.loss_groups()
        grads, variables = [], []
        for i, (name, group) in enumerate(groups):
            keep = i < len(groups) - 1
            grads += torch.autograd.grad(losses[name], [v.value for v in group], retain_graph=keep)
            variables += group
        with torch.no_grad():
            for group_grads, group in self.optimizer_applications(grads, variables):
                self.optimizer.apply(group_grads, group)
            return self.record_losses({name: loss.detach() for name, loss in losses.items()})


def configure_threads(threads: int) -> str:
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:
        return f"torch.set_num_threads({threads}); interop already fixed at {torch.get_num_interop_threads()}"
    return f"torch.set_num_threads({threads}) set_num_interop_threads({threads})"


def version() -> str:
    return torch.__version__


def cache_compilations(folder: str) -> None:
    """Nothing: PyTorch keeps no compilation cache between processes (its scoring compiles little)."""
