"""SIGINT and SIGTERM ask a grid to stop; they never interrupt a write."""

from __future__ import annotations

import os
import signal

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Counts stop signals while active; the grid and its executor poll it.

    The first signal stops the running cell (which reports its finished epochs) and ends
    the grid after that cell is written; a second one kills the cell at once.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.count = 0
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: object) -> None:
        self.signum = self.signum or signum
        self.count += 1
        if self.count == 1:
            message = f"\ngvbench: {signal.Signals(signum).name}: stopping the running cell; again to kill it\n"
            os.write(2, message.encode())  # not print(): a handler may run in the middle of another print

    def __enter__(self) -> StopRequest:
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def reclaim(self) -> None:
        """Take the signals back from a library that set its own handlers (`ray.init` sets one for SIGTERM)."""
        if self._previous:
            for signum in SIGNALS:
                signal.signal(signum, self._handle)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal number."""
        return 128 + (self.signum or 0)
