"""JAX: a stateless step; one `jax.vjp` forward pass, one pullback per loss group."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import keras
from keras.utils import unpack_x_y_sample_weight


class TrainStep:
    def train_step(self, state, data):
        trainable, non_trainable, optimizer_vars, metrics_vars = state
        x, noise, _ = unpack_x_y_sample_weight(data)
        groups = self.loss_groups()

        def losses_fn(trainable):
            mapping = list(zip(self.trainable_variables, trainable, strict=True))
            mapping += list(zip(self.non_trainable_variables, non_trainable, strict=True))
            with keras.StatelessScope(state_mapping=mapping) as scope:
                losses = self.compute_losses(x, noise=noise, training=True)
            updated = [scope.get_current_value(v) for v in self.non_trainable_variables]
            return [losses[name] for name, _ in groups], (losses, updated)

        outputs, pullback, (losses, non_trainable) = jax.vjp(losses_fn, trainable, has_aux=True)
        index = {id(v): i for i, v in enumerate(self.trainable_variables)}
        grads = [None] * len(trainable)
        for k, (_, group) in enumerate(groups):
            cotangent = [jnp.ones_like(o) if j == k else jnp.zeros_like(o) for j, o in enumerate(outputs)]
            (group_grads,) = pullback(cotangent)
            for v in group:
                grads[index[id(v)]] = group_grads[index[id(v)]]
        mapping = list(zip(self.trainable_variables, trainable, strict=True))
        mapping += list(zip(self.optimizer.variables, optimizer_vars, strict=True))
        with keras.StatelessScope(state_mapping=mapping) as scope:  # `stateless_apply`, one call per application
            for group_grads, group in self.optimizer_applications(grads, self.trainable_variables):
                self.optimizer.apply(group_grads, group)
        trainable = [scope.get_current_value(v) for v in self.trainable_variables]
        optimizer_vars = [scope.get_current_value(v) for v in self.optimizer.variables]

        with keras.StatelessScope(state_mapping=list(zip(self.metrics_variables, metrics_vars, strict=True))) as scope:
            logs = self.record_losses(losses)
        metrics_vars = [scope.get_current_value(v) for v in self.metrics_variables]
        return logs, (trainable, non_trainable, optimizer_vars, metrics_vars)


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
