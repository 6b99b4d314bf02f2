"""The contract between the grid and a cell process: what a cell is asked (`Task`) and what it answers (`Result`).

Both sides import this module. An executor (local or Ray) hands the cell process a `Task` as
JSON and reads its `Result` back as JSON; both round-trip exactly. A `Cell`'s fields are the
key columns of every results CSV, each `Facts` field is a column of `cells.csv`, and each
`EpochRecord` becomes one `epochs.csv` row per metric (suite/store/schema.py, results/README.md).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

from suite.choices import KERAS2, KERAS2_ENV, Status
from suite.profiles import PROFILES


@dataclass(frozen=True)
class Cell:
    """What is measured: one backend × implementation × compile mode × training mode × model × variant × lr ×
    profile × seed."""

    backend: str
    model: str
    variant: str
    lr: float
    profile: str
    seed: int
    epochs: int
    threads: int
    impl: str = "keras"
    jit: str = "auto"
    mode: str = "independent"
    budget_s: float | None = None
    """Training seconds a time-to-target cell may spend before it stops short of its target; None: its epochs only."""

    @property
    def cell_id(self) -> str:
        """Readable and unique: backend.model.variant.lr.profile.seed.epochs[.b<budget>s][.native|.tf_keras]
        [.jit-on|.jit-off][.lockstep]."""
        cell_id = f"{self.backend}.{self.model}.{self.variant}.lr{self.lr:g}.{self.profile}.s{self.seed}.e{self.epochs}"
        if self.budget_s is not None:
            cell_id += f".b{self.budget_s:g}s"
        if self.impl != "keras":
            cell_id += f".{self.impl}"
        if self.jit != "auto":
            cell_id += f".jit-{self.jit}"
        if self.mode != "independent":
            cell_id += f".{self.mode}"
        return cell_id

    @property
    def environment(self) -> dict[str, str]:
        """The environment variables its process starts with: its backend, and Keras 2's switch for a Keras 2 cell."""
        return {"KERAS_BACKEND": self.backend} | (KERAS2_ENV if self.impl == KERAS2 else {})

    @property
    def batch_size(self) -> int:
        return PROFILES[self.profile].batch_size

    @property
    def train_images(self) -> int | None:
        """The first N training images; None for all of them."""
        return PROFILES[self.profile].train_images

    @property
    def sample_images(self) -> int:
        return PROFILES[self.profile].sample_images

    @property
    def quality_images(self) -> int:
        return PROFILES[self.profile].quality_images

    @property
    def eval_every(self) -> int | None:
        """Steps between the evaluations of a time-to-target cell; None: scored once, at the end."""
        return PROFILES[self.profile].eval_every


@dataclass(frozen=True)
class Task:
    """Everything a cell process needs: the cell, where its data is and where its samples go."""

    cell: Cell
    data: str | None = None
    """An mnist.npz path; None: Keras' cache or a download (on each Ray node)."""
    verbose: int = 2
    """Keras' progress output (0, 1, 2)."""
    samples_file: str | None = None
    """Where the cell saves its samples; set by the executor that runs it."""
    ceiling_gflop_per_s: float | None = None
    """The backend's matmul ceiling with these threads, measured by an earlier cell on the same machine; None:
    the cell measures it (runners/ceiling.py)."""
    resume_dir: str | None = None
    """Where the cell saves its state after every epoch and resumes from when started again (`runners.resume`,
    a profile's `resumable`); None: it starts from epoch 1."""
    compile_cache: str | None = None
    """A folder the cells of one run share: a JAX cell caches there what it compiles to score its samples, after
    training (the judge is the same program in every cell); None: no cache. Training never reads it."""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Task:
        raw = json.loads(text)
        return cls(**(raw | {"cell": Cell(**raw["cell"])}))


@dataclass(slots=True)
class EpochRecord:
    """One finished epoch: its wall time, steps and throughput, and each loss's epoch mean and last batch."""

    epoch: int
    """1-based; epoch 1 includes tracing/compiling."""
    epoch_time_s: float
    steps: int
    samples_per_s: float
    losses: dict[str, float]

    @classmethod
    def timed(cls, epoch: int, seconds: float, steps: int, samples: int, losses: dict[str, float]) -> EpochRecord:
        return cls(epoch, seconds, steps, samples / seconds, losses)

    @property
    def finite(self) -> bool:
        return all(math.isfinite(v) for v in self.losses.values())

    def metrics(self) -> dict[str, float]:
        """Every metric of the epoch (the `metric` → `value` rows of epochs.csv)."""
        timing = {"epoch_time_s": self.epoch_time_s, "steps": self.steps, "samples_per_s": self.samples_per_s}
        return timing | self.losses


@dataclass(slots=True)
class StepRecord:
    """The losses of one training step (lockstep cells): `step` counts from 1 across epochs."""

    step: int
    losses: dict[str, float]


@dataclass(slots=True)
class EvaluationRecord:
    """One evaluation of a time-to-target cell: the sample quality after `step` steps and `train_s` training seconds
    (evaluations kept out), the `eval_s` it took, and whether it met the family's target."""

    step: int
    epoch: int
    """The 1-based epoch the step belongs to."""
    train_s: float
    eval_s: float
    met: bool
    scores: dict[str, float]

    def metrics(self) -> dict[str, float]:
        """Every metric of the evaluation (the `metric` → `value` rows of evaluations.csv)."""
        return self.scores | {"eval_s": self.eval_s, "target_met": float(self.met)}


@dataclass(slots=True)
class Facts:
    """Where and how a cell ran. Every field is a column of cells.csv (results/README.md)."""

    started_at: str | None = None
    cell_wall_s: float | None = None
    resumed_epochs: list[int] = field(default_factory=list)
    """The 1-based epochs that began in a new process after an interruption (`runners.resume`): each
    includes a fresh trace/compile, so none is a steady epoch. `cell_wall_s` is then the processes' sum."""
    peak_rss_mb: float | None = None
    rss_before_train_mb: float | None = None
    train_peak_rss_mb: float | None = None
    jit_compile: bool | None = None
    thread_controls: str | None = None
    parallel_cells: int | None = None
    """How many cells the executor ran at once on this machine, each on CPUs of its own (1: this one alone)."""
    ceiling_gflop_per_s: float | None = None
    python_version: str | None = None
    keras_version: str | None = None
    backend_version: str | None = None
    numpy_version: str | None = None
    cpu_model: str | None = None
    cpu_count: int | None = None
    hostname: str | None = None
    platform: str | None = None
    git_commit: str | None = None


@dataclass(slots=True)
class Result:
    """What a cell answers: how it ended, its facts, its finished epochs (in lockstep also steps; with a target its
    evaluations) and, when completed, its quality metrics."""

    status: Status
    error: str | None = None
    diverged_epoch: int | None = None
    facts: Facts = field(default_factory=Facts)
    epochs: list[EpochRecord] = field(default_factory=list)
    quality: dict[str, float] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    evaluations: list[EvaluationRecord] = field(default_factory=list)
    target_step: int | None = None
    """A time-to-target cell's step at its first evaluation that met the target (None: not reached)."""
    target_train_s: float | None = None
    """Training seconds up to that evaluation (the first, compiling epoch included; evaluations kept out)."""

    @classmethod
    def failed(cls, error: str) -> Result:
        return cls(Status.FAILED, error=error)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Result:
        """A result as `to_json` wrote it; an unknown status, fact or epoch field raises."""
        raw = json.loads(text)
        return cls(
            status=Status(raw["status"]),
            error=raw["error"],
            diverged_epoch=raw["diverged_epoch"],
            facts=Facts(**raw["facts"]),
            epochs=[EpochRecord(**epoch) for epoch in raw["epochs"]],
            quality=raw["quality"],
            steps=[StepRecord(**step) for step in raw["steps"]],
            evaluations=[EvaluationRecord(**record) for record in raw["evaluations"]],
            target_step=raw["target_step"],
            target_train_s=raw["target_train_s"],
        )
