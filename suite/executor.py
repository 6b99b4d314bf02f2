"""Executors run one cell each in a process of its own backend and hand back its result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Protocol

from suite.grid import Cell


class Executor(Protocol):
    def run(self, cell: Cell, payload: dict, workdir: Path, log_file: Path) -> dict:
        """Train `cell` (with the runner's `payload`) and return the runner's result dict."""
        ...


def tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class LocalExecutor:
    """One subprocess per cell on this machine, `KERAS_BACKEND` set in its environment."""

    def run(self, cell: Cell, payload: dict, workdir: Path, log_file: Path) -> dict:
        workdir.mkdir(parents=True, exist_ok=True)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        spec_path, result_path = workdir / f"{cell.cell_id}.json", workdir / f"{cell.cell_id}.result.json"
        spec_path.write_text(json.dumps(payload))
        result_path.unlink(missing_ok=True)
        env = os.environ | {"KERAS_BACKEND": cell.backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        with open(log_file, "w") as log:
            code = subprocess.run(
                [sys.executable, "-m", "runners.cell", str(spec_path), str(result_path)], env=env, stderr=log
            ).returncode
        try:
            return json.loads(result_path.read_text())
        except (OSError, ValueError):
            why = f"cell process exited with code {code} and no result"
            return {"status": "failed", "error": f"{why}:\n{tail(log_file)}", "facts": {}, "epochs": []}
        finally:
            spec_path.unlink(missing_ok=True)
            result_path.unlink(missing_ok=True)
