"""PyTorch baseline: torch.nn.functional layers in NCHW, torch.autograd, torch.optim.Adam; eager or torch.compile."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from architectures.family import GAN, VAE, unknown
from architectures.spec import BLOCK_KINDS, LEAKY_RELU_SLOPE, LOG_2PI, ModelSpec, noise_rows
from runners.native import (
    ADAM_BETA_1,
    ADAM_BETA_2,
    ADAM_EPSILON,
    BN_EPSILON,
    BN_MOMENTUM,
    loss_groups,
    merge,
    optimizer_applications,
    plans,
    same_padding,
    split,
)
from runners.phases import ALL_NETWORKS, BACKWARD, FORWARD, OPTIMIZER, Phase

ACTIVATIONS = {
    "relu": F.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "leaky_relu": lambda x: F.leaky_relu(x, LEAKY_RELU_SLOPE),
}


def to_torch_layout(array: np.ndarray) -> torch.Tensor:
    """Keras' (k, k, in, out) Conv2D and (k, k, out, in) Conv2DTranspose kernels become torch's; others stay."""
    tensor = torch.from_numpy(np.array(array, np.float32))
    return tensor.permute(3, 2, 0, 1).contiguous() if tensor.ndim == 4 else tensor


def to_keras_layout(tensor: torch.Tensor) -> np.ndarray:
    array = tensor.detach().numpy()
    return np.ascontiguousarray(array.transpose(2, 3, 1, 0)) if array.ndim == 4 else array.copy()


def to_nchw(x: np.ndarray) -> torch.Tensor:
    """A batch of (n, 28, 28, 1) images in torch's channels-first layout."""
    return torch.from_numpy(x).permute(0, 3, 1, 2)


def bce_with_logits(target: float, logits: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def apply(network_blocks, shapes, trainable: list, moving: list, x: torch.Tensor, bn_training: bool):
    """One network forward; returns its output and its moving statistics (torch updates them in place)."""
    t, m = iter(trainable), iter(moving)
    for block, shape in zip(network_blocks, shapes, strict=True):
        if block.kind == "dense":
            kernel, bias = next(t), next(t)
            x = torch.addmm(bias, x, kernel)
        elif block.kind == "conv":
            kernel, bias = next(t), next(t)
            (top, bottom), (left, right) = (same_padding(n, block.strides) for n in shape[:2])
            x = F.conv2d(F.pad(x, (left, right, top, bottom)), kernel, bias, stride=block.strides)
        elif block.kind == "deconv":
            kernel, bias = next(t), next(t)
            height, width = shape[0] * block.strides, shape[1] * block.strides
            top, left = same_padding(height, block.strides)[0], same_padding(width, block.strides)[0]
            x = F.conv_transpose2d(x, kernel, bias, stride=block.strides)
            x = x[..., top : top + height, left : left + width]
        elif block.kind == "batchnorm":
            gamma, beta, mean, variance = next(t), next(t), next(m), next(m)
            x = F.batch_norm(x, mean, variance, gamma, beta, bn_training, 1.0 - BN_MOMENTUM, BN_EPSILON)
        elif block.kind == "activation":
            x = ACTIVATIONS[block.size](x)
        elif block.kind == "reshape":
            x = x.reshape(x.shape[0], *block.size)
            if x.ndim == 4:
                x = x.permute(0, 3, 1, 2)  # Keras reshapes into (H, W, C); torch convolves (C, H, W)
        elif block.kind == "flatten":
            x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        else:
            raise unknown("block kind", block.kind, BLOCK_KINDS)
    return x, moving


class Model:
    def __init__(self, spec: ModelSpec, weights: dict, lr: float, jit: str, seed: int):
        self.spec, self.bn_training = spec, bool(spec.batchnorm_training)
        plan = plans(spec)
        self.blocks = {name: p[0] for name, p in plan.items()}
        self.shapes = {name: p[1] for name, p in plan.items()}
        pairs = {name: split(self.blocks[name], [to_torch_layout(a) for a in weights[name]]) for name in plan}
        self.trainable = {name: [t.requires_grad_() for t in pair[0]] for name, pair in pairs.items()}
        self.moving = {name: pair[1] for name, pair in pairs.items()}
        groups = loss_groups(spec)
        self.loss_names = tuple(groups)
        self.groups = [[t for net in nets for t in self.trainable[net]] for nets in groups.values()]
        self.parameters = [p for group in self.groups for p in group]
        self.optimizer = torch.optim.Adam(self.parameters, lr=lr, betas=(ADAM_BETA_1, ADAM_BETA_2), eps=ADAM_EPSILON)
        self.applications = [[p for net in nets for p in self.trainable[net]] for nets in optimizer_applications(spec)]
        self.iterations = 0
        self.generator = torch.Generator().manual_seed(seed)
        self.jit_compile = jit == "on"
        self.forward = torch.compile(self._losses) if self.jit_compile else self._losses

    def _run(self, name: str, x: torch.Tensor) -> torch.Tensor:
        weights = self.trainable[name], self.moving[name]
        return apply(self.blocks[name], self.shapes[name], *weights, x, self.bn_training)[0]

    def _losses(self, x: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One forward pass of both networks; the family's losses."""
        if self.spec.family == GAN:
            fake = self._run("generator", noise)
            real_logits, fake_logits = self._run("discriminator", x), self._run("discriminator", fake)
            d_loss = bce_with_logits(1.0, real_logits) + bce_with_logits(0.0, fake_logits)
            return d_loss, bce_with_logits(1.0, fake_logits)
        if self.spec.family == VAE:
            mean, logvar = self._run("encoder", x).chunk(2, dim=-1)
            z = mean + noise * torch.exp(0.5 * logvar)
            logits = self._run("decoder", z)
            log_px_z = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(-1)
            log_pz = (-0.5 * (z.square() + LOG_2PI)).sum(-1)
            log_qz_x = (-0.5 * ((z - mean).square() * torch.exp(-logvar) + logvar + LOG_2PI)).sum(-1)
            return (-(log_px_z + log_pz - log_qz_x).mean(),)
        raise unknown("model family", self.spec.family.name, ("gan", "vae"))

    def _gradients(self, losses: tuple) -> list:
        """One `torch.autograd.grad` per loss group, from one forward graph."""
        grads = []
        for i, group in enumerate(self.groups):
            grads += torch.autograd.grad(losses[i], group, retain_graph=i < len(self.groups) - 1)
        return grads

    def _apply(self, grads: list) -> None:
        if len(self.applications) == 1:
            for parameter, grad in zip(self.parameters, grads, strict=True):
                parameter.grad = grad
            self.optimizer.step()
            self.iterations += 1
        else:
            self._apply_one_by_one(dict(zip(map(id, self.parameters), grads, strict=True)))

    def step(self, x: np.ndarray, noise: np.ndarray | None = None) -> list:
        if noise is None:
            noise = torch.randn((noise_rows(self.spec, len(x)), self.spec.latent_dim), generator=self.generator)
        else:
            noise = torch.from_numpy(np.asarray(noise, np.float32))
        losses = self.forward(to_nchw(x), noise)
        self._apply(self._gradients(losses))
        return [loss.detach() for loss in losses]

    def phases(self, calls: dict, x: np.ndarray, noise: np.ndarray) -> list[Phase]:
        """Each network's forward calls (recording the graph, as in the step), the backward alone after an untimed
        forward, and the update: the step's own code (CPU operations finish before they return)."""
        found = []
        for name, inputs in calls.items():
            batches = [to_nchw(a) if a.ndim == 4 else torch.from_numpy(a) for a in inputs]
            found.append(Phase(FORWARD, name, lambda _, name=name, b=batches: [self._run(name, batch) for batch in b]))
        x, noise = to_nchw(x), torch.from_numpy(noise)
        grads = self._gradients(self.forward(x, noise))
        return found + [
            Phase(
                BACKWARD,
                ALL_NETWORKS,
                self._gradients,
                setup=lambda: self.forward(x, noise),
                method="torch.autograd.grad of the step, after an untimed forward",
            ),
            Phase(OPTIMIZER, ALL_NETWORKS, lambda _: self._apply(grads), method="the step's torch.optim.Adam update"),
        ]

    def _apply_one_by_one(self, grads: dict[int, torch.Tensor]) -> None:
        """Apply the one Adam to each application's parameters in turn, as one optimizer whose counter moves each time.

        torch.optim.Adam counts steps per parameter, so each parameter's count is set to the
        optimizer's before its update (its state created first, as Adam would create it).
        """
        for group in self.applications:
            members = {id(p) for p in group}
            for parameter in self.parameters:
                parameter.grad = grads[id(parameter)] if id(parameter) in members else None
            for parameter in group:
                state = self.optimizer.state[parameter]
                if not state:
                    zeros = torch.zeros_like(parameter, memory_format=torch.preserve_format)
                    state.update(step=torch.tensor(0.0), exp_avg=zeros, exp_avg_sq=zeros.clone())
                state["step"].fill_(self.iterations)
            self.optimizer.step()
            self.iterations += 1

    def losses(self, x: np.ndarray, noise: np.ndarray) -> dict[str, float]:
        values = self._losses(to_nchw(x), torch.from_numpy(np.asarray(noise, np.float32)))
        return {name: float(v) for name, v in zip(self.loss_names, values, strict=True)}

    def get_weights(self) -> dict[str, list[np.ndarray]]:
        return {
            name: [to_keras_layout(t) for t in merge(self.blocks[name], self.trainable[name], self.moving[name])]
            for name in self.blocks
        }


def layer_passes(block, shape: tuple, arrays: list, x: np.ndarray) -> dict:
    """One weighted block's `LAYER_PASSES` (the baseline's own layer code, eager)."""
    params = [to_torch_layout(a).requires_grad_() for a in arrays]
    x = (to_nchw(x) if x.ndim == 4 else torch.from_numpy(x)).contiguous().requires_grad_()

    def forward():
        return apply([block], [shape], params, [], x, False)[0]

    def gradients(sources):
        def run():
            out = forward()
            return torch.autograd.grad(out, sources, out.detach())

        return run

    return {
        "forward": forward,
        "forward_backward": gradients([x, *params]),
        "input_gradient": gradients([x]),
        "weight_gradient": gradients(params),
    }
