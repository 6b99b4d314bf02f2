"""`gvbench versions SET...`: the same grid under other releases of Keras and of a backend, for `gvbench history`.

A version set is a list of pip requirements (`keras==3.13.2,jax==0.7.2,jaxlib==0.7.2`), or `installed` for the
environment as it is. Each set is installed once, without its dependencies, into a folder of its own under the
cache (`pip install --target`), which is put in front of the environment's own packages (`PYTHONPATH`) for the
`gvbench run` of that set: the set replaces just the packages it names, and everything else (NumPy, pandas,
the other backends, gvbench itself) stays the environment's. A set whose packages need other versions of what
they leave out does not import, and is recorded so; name those packages in the set too (`keras==3.0.5,dm-tree`).

Runs go in rounds, forward then backward over the sets (ABC CBA ...), so each set's runs sit, on average, at the
same point in time: a machine that drifts slower through the session moves every set alike instead of reading as
a change between the first set and the last. Every set gets a run in every round, and the spread between a set's
own runs is the noise the history reads its changes against.

`versions.csv` in `--out` records every step: a set that does not install or import, with pip's or Python's
last line, is a row of its own, never a gap.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from suite.choices import StepStatus
from suite.run import RUN_ID_FILE_ENV
from suite.store.version_steps import VERSIONS_CSV, Step, append_steps

INSTALLED = "installed"
"""The set that changes nothing: the environment gvbench runs in."""
ROOT = Path(__file__).resolve().parent.parent

IMPORT_CHECK = """
import json, os
from runners.cell import import_keras
import_keras(os.environ["KERAS_BACKEND"])
import keras
from runners import backends
print(json.dumps({"keras": keras.__version__, "backend": backends.current().version()}))
"""


def requirements(version_set: str) -> list[str]:
    """The pip requirements a set names; none for `installed`."""
    if version_set == INSTALLED:
        return []
    found = [r.strip() for r in version_set.split(",") if r.strip()]
    if not found:
        raise ValueError(f"version set {version_set!r} names no package; give pip requirements or {INSTALLED!r}")
    return found


def plan(sets: list[str], rounds: int) -> list[tuple[int, int, str]]:
    """(round, position, set) in the order they run: forward in odd rounds, backward in even ones."""
    order = []
    for r in range(1, rounds + 1):
        for version_set in sets if r % 2 else sets[::-1]:
            order.append((r, len(order) + 1, version_set))
    return order


def overlay(version_set: str, cache: Path) -> Path:
    """The folder a set is installed into: named by its requirements, so a set is installed once."""
    digest = hashlib.sha256(",".join(sorted(requirements(version_set))).encode()).hexdigest()[:12]
    readable = re.sub(r"[^A-Za-z0-9.]+", "-", version_set)[:60]
    return cache / f"{readable}-{digest}"


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def install(version_set: str, cache: Path) -> tuple[dict, str | None]:
    """The environment variables that put a set in front of the environment; a reason when it does not install."""
    if version_set == INSTALLED:
        return {}, None
    folder = overlay(version_set, cache)
    ready = folder / ".installed"
    if not ready.exists():
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(folder)]
        done = subprocess.run([*command, *requirements(version_set)], capture_output=True, text=True)
        if done.returncode != 0:
            return {}, f"pip: {last_line(done.stderr or done.stdout)}"
        ready.write_text(version_set + "\n")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))}, None


def check_import(env: dict, backends: list[str]) -> tuple[dict | None, str | None]:
    """The Keras and backend versions the set imports, per backend, or why it does not."""
    found = {}
    for backend in backends:
        done = subprocess.run(
            [sys.executable, "-c", IMPORT_CHECK],
            env=os.environ | env | {"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"},
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            return None, f"import on {backend}: {last_line(done.stderr)}"
        found[backend] = json.loads(done.stdout.strip().splitlines()[-1])
    return found, None


def run_set(env: dict, run_args: list[str]) -> tuple[int, str | None, str]:
    """`gvbench run RUN_ARGS --force` under the set, its output passed on as it comes; its exit code, run_id (which
    the run writes to a file, `suite.run.RUN_ID_FILE_ENV`) and last line of output."""
    last = "no output"
    with tempfile.TemporaryDirectory(prefix="gvbench-versions-") as tmp:
        handed = Path(tmp) / "run_id"
        with subprocess.Popen(
            [sys.executable, "-m", "suite", "run", *run_args, "--force"],
            env=os.environ | env | {RUN_ID_FILE_ENV: str(handed)},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as process:
            for line in process.stdout:
                sys.stdout.write(line)
                if line.strip():
                    last = line.strip()[:300]
        run_id = handed.read_text() if handed.exists() else None
    return process.returncode, run_id, last


def record(out: Path, steps: list[Step]) -> None:
    """Append `steps` to `out`'s versions.csv."""
    append_steps(out / VERSIONS_CSV, steps)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_versions(
    sets: list[str], backends: list[str], run_args: list[str], out: Path, rounds: int, cache: Path
) -> list[Step]:
    """Install and check every set, then run the grid under each in rounds; record and return every step."""
    usable: dict[str, tuple[dict, dict]] = {}
    for version_set in sets:
        env, reason = install(version_set, cache)
        found = None
        if reason is None:
            found, reason = check_import(env, backends)
        if reason is not None:
            status = StepStatus.NOT_INSTALLED if reason.startswith("pip") else StepStatus.DOES_NOT_IMPORT
            record(out, [Step(version_set, None, None, status, reason, at=now())])
            print(f"gvbench versions: {version_set}: {status} ({reason})", flush=True)
            continue
        usable[version_set] = env, found
        seen = "; ".join(f"keras {v['keras']}, {b} {v['backend']}" for b, v in found.items())
        print(f"gvbench versions: {version_set}: {seen}", flush=True)
    steps = []
    for r, position, version_set in plan([s for s in sets if s in usable], rounds):
        print(f"gvbench versions: round {r}, run {position}: {version_set}", flush=True)
        env, found = usable[version_set]
        at = now()
        code, run_id, last = run_set(env, run_args)
        stopped = StepStatus.INTERRUPTED
        status = {0: StepStatus.RAN, 130: stopped, 143: stopped}.get(code, StepStatus.CELLS_FAILED)
        step = Step(version_set, r, position, status, None if code == 0 else last, run_id, at=at)
        step.keras_version = ";".join(sorted({v["keras"] for v in found.values()}))
        step.backend_version = ";".join(f"{b} {v['backend']}" for b, v in found.items())
        record(out, [step])
        steps.append(step)
        if status == StepStatus.INTERRUPTED:
            break
    return steps
