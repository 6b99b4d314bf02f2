"""The cell process's resident memory, from the kernel's accounting in /proc (Linux)."""

from __future__ import annotations

from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_mb(field: str) -> float | None:
    """A `kB` field of /proc/self/status in MiB, or None where there is no /proc."""
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def rss_mb() -> float | None:
    """Resident memory now (VmRSS)."""
    return _status_mb("VmRSS")


def peak_rss_mb() -> float | None:
    """Highest resident memory since the process started or since `reset_peak` (VmHWM)."""
    return _status_mb("VmHWM")


def reset_peak() -> bool:
    """Restart the peak (VmHWM) from the current resident memory (Linux 4.0+: "5" to clear_refs); whether it worked."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True
