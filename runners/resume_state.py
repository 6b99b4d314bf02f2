"""A resumable cell's state file: the last saved epoch of one cell and the weights file that belongs to it, as typed,
versioned rows (no Keras here, so that reading one costs nothing)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from suite.contract import EpochRecord

STATE_FILE = "state.json"
STATE_SCHEMA = 1
"""The version of the state file's fields; a file of another version, or with a field unknown or missing, is
refused (`CheckpointMismatch`) rather than half-read."""


class CheckpointMismatch(ValueError):
    """A checkpoint folder holds the state of another cell, or a state this gvbench cannot read."""


@dataclass
class State:
    """The state file: the last saved epoch of one cell, and the weights file that belongs to it."""

    cell_id: str
    epoch: int
    weights: str
    epochs: list[EpochRecord]
    wall_s: float
    started_at: str | None
    resumed_epochs: list[int]
    seed_generator_state: list
    schema_version: int = STATE_SCHEMA

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def read(cls, path: Path) -> State:
        """The state `to_json` wrote to `path`; refused in one line when it is not this version's."""
        unreadable = f"{path} is not a checkpoint state this gvbench reads"
        try:
            raw = json.loads(path.read_text())
        except ValueError as e:
            raise CheckpointMismatch(f"{unreadable} ({e}); remove its folder to start the cell afresh") from e
        version = raw.get("schema_version") if isinstance(raw, dict) else None
        if version != STATE_SCHEMA:
            raise CheckpointMismatch(
                f"{path} is a checkpoint of schema version {version} (this gvbench reads {STATE_SCHEMA}); "
                "remove its folder to start the cell afresh"
            )
        try:
            return cls(**(raw | {"epochs": [EpochRecord(**record) for record in raw["epochs"]]}))
        except (TypeError, KeyError) as e:
            raise CheckpointMismatch(f"{unreadable} ({e}); remove its folder to start the cell afresh") from e
