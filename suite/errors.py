"""The one base of every error a user can fix: `gvbench` prints it as one line and exits with its code."""

from __future__ import annotations


class GvbenchError(Exception):
    """Bad input or an unusable environment, found before anything trains; `main` prints it and exits 2."""

    exit_code = 2


class UsageError(GvbenchError):
    """A command-line value that cannot work here (say what to pass instead)."""
