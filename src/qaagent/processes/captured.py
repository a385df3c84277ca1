"""Short commands whose output qaagent reads itself: test collection, interpreter probes, git."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Captured:
    """How a short command ended and what it printed, decoded leniently."""

    exit_code: int
    stdout: str
    stderr: str


class CommandTimedOut(Exception):
    """A short command that did not finish in time; it was killed, so nothing of it is left."""


def run_captured(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Captured:
    """Run `argv` with no input and its output kept, so a caller can read what it answered.

    OSError when it cannot start; CommandTimedOut when it outlasts `timeout`. Output that is
    not UTF-8 is replaced rather than raised on, so a stray byte never hides the answer.
    """
    try:
        completed = subprocess.run(
            list(argv),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CommandTimedOut(f"did not finish within {timeout:g} s") from None
    return Captured(completed.returncode, completed.stdout, completed.stderr)
