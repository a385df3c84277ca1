"""qaagent as a user or CI runs it: `python -m qaagent` in a subprocess of this interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def environment(drop: Sequence[str] = ("CI",)) -> dict[str, str]:
    """This interpreter's folder first on PATH, so the fixtures' `python` is ours.

    Variables whose names start with one of `drop` are left out; by default CI, so the
    output is the same inside and outside a CI system.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(tuple(drop))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def qaagent(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run qaagent to its end and capture what it printed; `env` defaults to `environment()`."""
    return subprocess.run(
        [sys.executable, "-m", "qaagent", *args],
        cwd=cwd,
        env=dict(environment() if env is None else env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
