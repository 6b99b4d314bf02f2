"""The five models of "GAN and VAE for MNIST" as data: one spec object per model.

Every value that differs between the `paper` and `code` variants is a `Choice`
inside that model's spec; `resolve(spec, variant)` picks one side. The reasons
for each value are in the shared specification (MODELS.md).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from architectures.family import GAN, VAE, Family, unknown

T = TypeVar("T")

VARIANTS = ("paper", "code")
BATCH_SIZE = 128
"""The paper's batch (and its authors' scripts' `BATCH_SIZE`)."""
IMAGE_SHAPE = (28, 28, 1)
KERNEL_SIZE = 5
LEAKY_RELU_SLOPE = 0.3  # Keras' LeakyReLU default (tf.keras 2 and Keras 3).
LOG_2PI = math.log(2.0 * math.pi)  # of the VAE's Gaussian log-densities


@dataclass(frozen=True)
class Choice(Generic[T]):
    """A value that differs between the two variants."""

    paper: T
    code: T


WEIGHTED_KINDS = ("dense", "conv", "deconv")
"""Blocks with a kernel and a bias."""
LAYER_KINDS = (*WEIGHTED_KINDS, "reshape", "flatten")
"""What a spec's network lists; `blocks` adds BatchNormalization and activations."""
BLOCK_KINDS = (*LAYER_KINDS, "batchnorm", "activation")
"""Every kind of block a network is made of; each implementation builds each of them, and only them."""


@dataclass(frozen=True)
class Layer:
    """One block of a network: a weighted layer, a reshape or a flatten."""

    kind: Literal["dense", "conv", "deconv", "reshape", "flatten"]
    size: Any = None
    strides: Any = 1

    def __post_init__(self) -> None:
        if self.kind not in LAYER_KINDS:
            raise unknown("layer kind", self.kind, LAYER_KINDS)

    @property
    def weighted(self) -> bool:
        return self.kind in WEIGHTED_KINDS


def dense(units: Any) -> Layer:
    return Layer("dense", units)


def conv(filters: int, strides: Any) -> Layer:
    return Layer("conv", filters, strides)


def deconv(filters: int, strides: Any) -> Layer:
    return Layer("deconv", filters, strides)


def reshape(*shape: int) -> Layer:
    return Layer("reshape", tuple(shape))


def flatten() -> Layer:
    return Layer("flatten")


@dataclass(frozen=True)
class NetworkSpec:
    """Layers of one network; every weighted layer but the last gets BatchNorm + activation."""

    layers: tuple[Layer, ...]
    output_activation: Any = "linear"
    output_batchnorm: Any = False


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: Family
    latent_dim: Any
    """GAN noise dimension or VAE latent dimension."""
    first: NetworkSpec
    """Generator (GAN) or encoder (VAE; its 2·latent output layer is added by the model)."""
    second: NetworkSpec
    """Discriminator (GAN) or decoder (VAE)."""
    hidden_activation: Any = Choice(paper="relu", code="leaky_relu")
    binarize_input: Any = False
    batchnorm_training: Any = True
    """Whether BatchNormalization runs in training mode during a training step."""
    separate_updates: Any = False
    """Whether a step applies its one Adam once per network, in the family's network order, so Adam's
    step counter moves by two per step (the authors' VAE scripts: encoder at t = 1, 3, 5, ..., decoder
    at t = 2, 4, 6, ...); otherwise once over all variables."""
    noise_rows: Any = None
    """Noise rows a training step draws: None for as many as the batch has images; a number for always
    that many, also for the short last batch of an epoch (the authors' GAN scripts draw BATCH_SIZE)."""
    paper_lr: float = 1e-4
    """The learning rate the authors ran the model at (their scripts' pairing of Table 3's rates)."""
    variant: str = ""

    @property
    def convolutional(self) -> bool:
        """Whether a network has a (transposed) convolution: such a step costs ~10-50× a dense model's."""
        return any(layer.kind in ("conv", "deconv") for net in (self.first, self.second) for layer in net.layers)


def resolve(value: Any, variant: str) -> Any:
    """Replace every `Choice` inside `value` (recursively) by its `variant` side."""
    if isinstance(value, Choice):
        return resolve(getattr(value, variant), variant)
    if isinstance(value, tuple):
        return tuple(resolve(v, variant) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: resolve(getattr(value, f.name), variant) for f in dataclasses.fields(value)}
        if all(new is getattr(value, name) for name, new in changes.items()):
            return value  # nothing to resolve inside: keep the object (a Family stays the same object)
        return dataclasses.replace(value, **changes)
    return value


_CNN_DOWN = (conv(32, 2), conv(64, 2), conv(128, Choice(paper=2, code=1)), flatten())
_CNN_UP = (dense(7 * 7 * 128), reshape(7, 7, 128), deconv(64, 2), deconv(32, 1))

SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="DenseGAN",
            family=GAN,
            noise_rows=Choice(paper=None, code=BATCH_SIZE),
            latent_dim=Choice(paper=10, code=100),
            paper_lr=1e-5,
            first=NetworkSpec(
                (dense(100), dense(300), dense(600), dense(784), reshape(*IMAGE_SHAPE)),
                output_activation=Choice(paper="tanh", code="linear"),
            ),
            second=NetworkSpec((flatten(), dense(600), dense(300), dense(100), dense(1))),
        ),
        ModelSpec(
            name="DenseGAN-Deep",
            family=GAN,
            noise_rows=Choice(paper=None, code=BATCH_SIZE),
            latent_dim=Choice(paper=392, code=100),
            paper_lr=1e-6,  # saved by the script as Adam(1e-6) under the comment "# 1e-5": a reading, see MODELS.md
            first=NetworkSpec(
                tuple(dense(n) for n in (100, 200, 300, 400, 500, 600, 784)) + (reshape(*IMAGE_SHAPE),),
                output_activation=Choice(paper="tanh", code="linear"),
            ),
            second=NetworkSpec((flatten(),) + tuple(dense(n) for n in (600, 500, 400, 300, 200, 100, 1))),
        ),
        ModelSpec(
            name="CNNGAN",
            family=GAN,
            noise_rows=Choice(paper=None, code=BATCH_SIZE),
            latent_dim=Choice(paper=10, code=100),
            first=NetworkSpec(_CNN_UP + (deconv(1, 2),), output_activation="tanh"),
            second=NetworkSpec(_CNN_DOWN + (dense(1),)),
        ),
        ModelSpec(
            name="DenseVAE",
            family=VAE,
            latent_dim=2,
            first=NetworkSpec((flatten(), dense(600), dense(300), dense(100), dense(50))),
            second=NetworkSpec(
                (dense(50), dense(100), dense(300), dense(600), dense(784), reshape(*IMAGE_SHAPE)),
                output_activation=Choice(paper="linear", code="leaky_relu"),
                output_batchnorm=Choice(paper=False, code=True),
            ),
            binarize_input=Choice(paper=False, code=True),
            batchnorm_training=Choice(paper=True, code=False),
            separate_updates=Choice(paper=False, code=True),
        ),
        ModelSpec(
            name="CNNVAE",
            family=VAE,
            latent_dim=Choice(paper=10, code=2),
            first=NetworkSpec(_CNN_DOWN),
            second=NetworkSpec(_CNN_UP + (deconv(16, 2), deconv(1, 1))),
            binarize_input=Choice(paper=False, code=True),
            batchnorm_training=Choice(paper=True, code=False),
            separate_updates=Choice(paper=False, code=True),
        ),
    )
}

MODELS = tuple(SPECS)


@dataclass(frozen=True)
class Block:
    """One layer as every implementation builds it: a weighted layer, BatchNorm, an activation or a reshape."""

    kind: Literal["dense", "conv", "deconv", "batchnorm", "activation", "reshape", "flatten"]
    size: Any = None
    """Units or filters; the activation's name; the target shape of a reshape."""
    strides: int = 1

    def __post_init__(self) -> None:
        if self.kind not in BLOCK_KINDS:
            raise unknown("block kind", self.kind, BLOCK_KINDS)

    @property
    def weighted(self) -> bool:
        return self.kind in WEIGHTED_KINDS


def blocks(spec: NetworkSpec, hidden_activation: str) -> list[Block]:
    """The layers of one network in order: each weighted layer but the last gets BatchNorm + activation."""
    last = max(i for i, layer in enumerate(spec.layers) if layer.weighted)
    out: list[Block] = []
    for i, layer in enumerate(spec.layers):
        out.append(Block(layer.kind, layer.size, layer.strides))
        if layer.weighted and i < last:
            out += [Block("batchnorm"), Block("activation", hidden_activation)]
        elif i == last:
            if spec.output_batchnorm:
                out.append(Block("batchnorm"))
            if spec.output_activation != "linear":
                out.append(Block("activation", spec.output_activation))
    return out


def output_shape(block: Block, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Per-sample output shape of `block` for a per-sample input `shape` ("same" padding throughout)."""
    if block.kind == "dense":
        return (*shape[:-1], block.size)
    if block.kind == "conv":
        return (-(-shape[0] // block.strides), -(-shape[1] // block.strides), block.size)
    if block.kind == "deconv":
        return (shape[0] * block.strides, shape[1] * block.strides, block.size)
    if block.kind == "reshape":
        return tuple(block.size)
    if block.kind == "flatten":
        return (math.prod(shape),)
    if block.kind in ("batchnorm", "activation"):
        return shape
    raise unknown("block kind", block.kind, BLOCK_KINDS)


def network_inputs(spec: ModelSpec) -> dict[str, tuple[tuple[int, ...], NetworkSpec]]:
    """Each network of a model by name, with its per-sample input shape (the VAE encoder with its output layer)."""
    first, second = spec.family.networks
    if spec.family == GAN:
        return {first: ((spec.latent_dim,), spec.first), second: (IMAGE_SHAPE, spec.second)}
    if spec.family == VAE:
        encoder = dataclasses.replace(spec.first, layers=spec.first.layers + (dense(2 * spec.latent_dim),))
        return {first: (IMAGE_SHAPE, encoder), second: ((spec.latent_dim,), spec.second)}
    raise unknown("model family", spec.family.name, ("gan", "vae"))


def noise_rows(spec: ModelSpec, images: int) -> int:
    """How many noise rows a training step of `spec` draws for a batch of `images` images."""
    return spec.noise_rows or images


def get_spec(model: str, variant: str = "paper") -> ModelSpec:
    """The concrete spec of `model` in `variant`."""
    if model not in SPECS:
        raise ValueError(f"unknown model {model!r}; choose from {', '.join(MODELS)}")
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    return dataclasses.replace(resolve(SPECS[model], variant), variant=variant)
