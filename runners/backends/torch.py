"""PyTorch: one forward graph, one `torch.autograd.grad` per loss group."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import torch
import torch._functorch.config
from keras.utils import unpack_x_y_sample_weight

from runners.phases import ALL_NETWORKS, BACKWARD, FORWARD, OPTIMIZER, Phase, nothing, step_phase

# A GAN step takes two gradients from one graph (retain_graph=True for the first); under
# torch.compile, AOTAutograd's donated buffers forbid that ("compiled with non-empty donated
# buffers which requires ... retain_graph=False"). Donation only saves memory; turn it off.
torch._functorch.config.donated_buffer = False


class TrainStep:
    def gradients(self, losses: dict) -> tuple[list, list]:
        """One `torch.autograd.grad` per loss group, from one forward graph: the gradients and their variables."""
        groups = self.loss_groups()
        grads, variables = [], []
        for i, (name, group) in enumerate(groups):
            keep = i < len(groups) - 1
            grads += torch.autograd.grad(losses[name], [v.value for v in group], retain_graph=keep)
            variables += group
        return grads, variables

    def apply_gradients(self, grads: list, variables: list) -> None:
        with torch.no_grad():
            for group_grads, group in self.optimizer_applications(grads, variables):
                self.optimizer.apply(group_grads, group)

    def train_step(self, data):
        x, noise, _ = unpack_x_y_sample_weight(data)
        losses = self.compute_losses(x, noise=noise, training=True)
        grads, variables = self.gradients(losses)
        self.apply_gradients(grads, variables)
        with torch.no_grad():
            return self.record_losses({name: loss.detach() for name, loss in losses.items()})


def phases(model, calls: dict, x, noise) -> list[Phase]:
    """Each network's forward calls (recording the graph, as in the step), the backward alone after an untimed
    forward, and the update: the step's own code, eager as PyTorch runs it (CPU operations finish before returning)."""
    bn = model.bn_training(True)
    found = []
    for name, inputs in calls.items():
        network, batches = getattr(model, name), [torch.from_numpy(a) for a in inputs]
        found.append(Phase(FORWARD, name, lambda _, n=network, b=batches: [n(batch, training=bn) for batch in b]))
    x, noise = torch.from_numpy(x), torch.from_numpy(noise)
    grads, variables = model.gradients(model.compute_losses(x, noise=noise, training=True))
    return found + [
        Phase(
            BACKWARD,
            ALL_NETWORKS,
            model.gradients,
            setup=lambda: model.compute_losses(x, noise=noise, training=True),
            method="torch.autograd.grad of the step, after an untimed forward",
        ),
        Phase(
            OPTIMIZER,
            ALL_NETWORKS,
            lambda _: model.apply_gradients(grads, variables),
            method="the step's optimizer applications",
        ),
    ]


def compiled_step(model, x) -> Phase:
    """The whole step on batch `x`, through the train function Keras' `fit` calls (eager: done when it returns)."""
    model.make_train_function()
    x = torch.from_numpy(x)
    return step_phase(lambda: model.train_function([(x,)]), nothing, "the model's train function, as fit calls it")


def layer_passes(layer, x) -> dict:
    """A Keras layer's `LAYER_PASSES` (eager): its forward, and its forward with the gradients for its input and
    weights, for its input alone, for its weights alone."""
    x = torch.from_numpy(x).requires_grad_()
    weights = [v.value for v in layer.trainable_variables]

    def gradients(sources):
        def run():
            out = layer(x)
            return torch.autograd.grad(out, sources, out.detach())

        return run

    return {
        "forward": lambda: layer(x),
        "forward_backward": gradients([x, *weights]),
        "input_gradient": gradients([x]),
        "weight_gradient": gradients(weights),
    }


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


def traced(run, folder: Path, name: str) -> tuple[Path, dict[str, tuple[float, int]]]:
    """Run `run()` under `torch.profiler`; save its Chrome trace as `folder/name.pt.trace.json.gz` and return it with
    each operation's self CPU seconds and calls (`key_averages`)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    plain = folder / f"{name}.pt.trace.json"
    prof.export_chrome_trace(str(plain))
    path = plain.with_suffix(".json.gz")
    with open(plain, "rb") as source, gzip.open(path, "wb") as target:
        shutil.copyfileobj(source, target)
    plain.unlink()
    return path, {a.key: (a.self_cpu_time_total / 1e6, a.count) for a in prof.key_averages()}
