"""JAX: a stateless step; one `jax.vjp` forward pass, one pullback per loss group."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import keras
from keras.utils import unpack_x_y_sample_weight

from runners.native.jax import jitted_passes
from runners.phases import ALL_NETWORKS, BACKWARD, FORWARD, OPTIMIZER, Phase, self_times, step_phase


class TrainStep:
    def losses_vjp(self, trainable, non_trainable, x, noise):
        """The forward pass as `jax.vjp`: the losses of each group, their pullback, and (losses, new non-trainable)."""
        groups = self.loss_groups()

        def losses_fn(trainable):
            mapping = list(zip(self.trainable_variables, trainable, strict=True))
            mapping += list(zip(self.non_trainable_variables, non_trainable, strict=True))
            with keras.StatelessScope(state_mapping=mapping) as scope:
                losses = self.compute_losses(x, noise=noise, training=True)
            updated = [scope.get_current_value(v) for v in self.non_trainable_variables]
            return [losses[name] for name, _ in groups], (losses, updated)

        return jax.vjp(losses_fn, trainable, has_aux=True)

    def gradients(self, outputs, pullback) -> list:
        """One pullback per loss, each kept for the variables that loss trains: the gradient of every variable."""
        index = {id(v): i for i, v in enumerate(self.trainable_variables)}
        grads = [None] * len(self.trainable_variables)
        for k, (_, group) in enumerate(self.loss_groups()):
            cotangent = [jnp.ones_like(o) if j == k else jnp.zeros_like(o) for j, o in enumerate(outputs)]
            (group_grads,) = pullback(cotangent)
            for v in group:
                grads[index[id(v)]] = group_grads[index[id(v)]]
        return grads

    def apply_gradients(self, trainable, optimizer_vars, grads) -> tuple[list, list]:
        """The optimizer's applications (`stateless_apply`, one call per application): new trainable and its state."""
        mapping = list(zip(self.trainable_variables, trainable, strict=True))
        mapping += list(zip(self.optimizer.variables, optimizer_vars, strict=True))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            for group_grads, group in self.optimizer_applications(grads, self.trainable_variables):
                self.optimizer.apply(group_grads, group)
        trainable = [scope.get_current_value(v) for v in self.trainable_variables]
        return trainable, [scope.get_current_value(v) for v in self.optimizer.variables]

    def train_step(self, state, data):
        trainable, non_trainable, optimizer_vars, metrics_vars = state
        x, noise, _ = unpack_x_y_sample_weight(data)
        outputs, pullback, (losses, non_trainable) = self.losses_vjp(trainable, non_trainable, x, noise)
        grads = self.gradients(outputs, pullback)
        trainable, optimizer_vars = self.apply_gradients(trainable, optimizer_vars, grads)
        with keras.StatelessScope(state_mapping=list(zip(self.metrics_variables, metrics_vars, strict=True))) as scope:
            logs = self.record_losses(losses)
        metrics_vars = [scope.get_current_value(v) for v in self.metrics_variables]
        return logs, (trainable, non_trainable, optimizer_vars, metrics_vars)


def values(variables) -> list:
    return [v.value for v in variables]


def phases(model, calls: dict, x, noise) -> list[Phase]:
    """Each network's forward calls, the backward and the update, each `jax.jit`-compiled from the step's own code,
    on the model's state as it is now (`fit` donates it: build them after training)."""
    bn = model.bn_training(True)
    found = [Phase(FORWARD, name, network_forward(getattr(model, name), inputs, bn)) for name, inputs in calls.items()]
    trainable, non_trainable = values(model.trainable_variables), values(model.non_trainable_variables)
    x, noise = jnp.asarray(x), jnp.asarray(noise)
    outputs, pullback, _ = jax.jit(model.losses_vjp)(trainable, non_trainable, x, noise)
    backward = jax.jit(model.gradients)
    grads = backward(outputs, pullback)
    update = jax.jit(model.apply_gradients)
    optimizer_vars = values(model.optimizer.variables)
    how = "jax.jit of the step's own "
    return found + [
        Phase(
            BACKWARD,
            ALL_NETWORKS,
            lambda _: jax.block_until_ready(backward(outputs, pullback)),
            method=how + "pullbacks, given the forward's residuals",
        ),
        Phase(
            OPTIMIZER,
            ALL_NETWORKS,
            lambda _: jax.block_until_ready(update(trainable, optimizer_vars, grads)),
            method=how + "optimizer applications (stateless_apply)",
        ),
    ]


def compiled_step(model, x) -> Phase:
    """The model's `train_step` as `fit` runs it: jitted with its state donated, given a batch and no noise (the step
    draws its own), on a copy of the state (`fit` goes on training the model's own)."""
    step = jax.jit(model.train_step, donate_argnums=0)
    variables = model.trainable_variables, model.non_trainable_variables, model.optimizer.variables
    state = [jax.tree.map(jnp.copy, tuple(values(v) for v in (*variables, model.metrics_variables)))]
    x = jnp.asarray(x)

    def run():
        _, state[0] = step(state[0], (x,))
        return state[0]

    return step_phase(run, jax.block_until_ready, "jax.jit of the model's train_step, its state donated, as fit")


def network_forward(network, inputs: list, bn: bool):
    """One network's forward calls of a step as one `jax.jit` of `stateless_call`, in training mode."""
    trainable, non_trainable = values(network.trainable_variables), values(network.non_trainable_variables)
    inputs = [jnp.asarray(a) for a in inputs]

    def run(trainable, non_trainable, inputs):
        outputs = []
        for batch in inputs:
            out, non_trainable = network.stateless_call(trainable, non_trainable, batch, training=bn)
            outputs.append(out)
        return outputs, non_trainable

    compiled = jax.jit(run)
    return lambda _: jax.block_until_ready(compiled(trainable, non_trainable, inputs))


def layer_passes(layer, x) -> dict:
    """A Keras layer's `LAYER_PASSES`, each `jax.jit`-compiled from its `stateless_call`."""
    return jitted_passes(
        lambda w, x: layer.stateless_call(w, [], x)[0], values(layer.trainable_variables), jnp.asarray(x)
    )


CACHE_MAX_BYTES = 2**30
"""The compilation cache's bound: far above what a grid's scoring compiles (a few MiB a model)."""


def configure_threads(threads: int) -> str:
    return "CPU affinity only (XLA has no thread-count API)"


def version() -> str:
    return f"{jax.__version__} (jaxlib {jax.lib.__version__})"


def cache_compilations(folder: str) -> None:
    """JAX's persistent compilation cache in `folder`, every program cached however quick its compile; bounded, so
    that JAX locks the folder while it reads or writes an entry (cells running side by side share it)."""
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    jax.config.update("jax_compilation_cache_max_size", CACHE_MAX_BYTES)


def traced(run, folder: Path, name: str) -> tuple[Path, dict[str, tuple[float, int]]]:
    """Run `run()` under `jax.profiler.trace`; save its Perfetto trace as `folder/name.perfetto.json.gz` and return
    it with the self seconds and count of each kind of XLA operation (an event with an `hlo_op`, named without its
    `.N` suffix: `convolution`, `dot`, `ynn_fusion`...; `runners.phases.self_times`)."""
    with tempfile.TemporaryDirectory() as tmp:
        with jax.profiler.trace(tmp, create_perfetto_trace=True):
            run()
        found = next(Path(tmp).rglob("perfetto_trace.json.gz"))
        path = folder / f"{name}.perfetto.json.gz"
        shutil.move(found, path)
    with gzip.open(path) as f:
        events = [
            e | {"name": re.sub(r"\.\d+$", "", e["args"]["hlo_op"])}
            for e in json.load(f)["traceEvents"]
            if "hlo_op" in e.get("args", {})
        ]
    return path, self_times(events)
