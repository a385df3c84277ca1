"""Shared pieces of the benchmarks: timing commands and writing throwaway profiles."""

from __future__ import annotations

import compileall
import json
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import qaagent

QAAGENT = str(Path(sys.executable).parent / "qaagent")


def byte_compile_qaagent() -> None:
    """Write qaagent's bytecode, as a wheel install does, so no run pays for compiling its source.

    An editable install under PYTHONDONTWRITEBYTECODE would otherwise compile every module anew
    on each run, which is a cost of the checkout and not of qaagent.
    """
    compileall.compile_dir(Path(qaagent.__file__).parent, quiet=1)


def wall_seconds(argv: Sequence[str], *, cwd: Path | None = None, check: bool = True) -> float:
    """Wall time of one run of a command, its output discarded."""
    started = time.perf_counter()
    completed = subprocess.run(
        argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - started
    if check and completed.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({completed.returncode}):\n{completed.stderr.decode()}")
    return elapsed


def write_profile(folder: Path, suites: Mapping[str, Any], run: Mapping[str, Any]) -> Path:
    """A profile with only named suites (JSON is valid YAML)."""
    folder.mkdir(parents=True, exist_ok=True)
    profile = {
        "tests": {name: {"enabled": False} for name in ("unit", "behave", "e2e")},
        "suites": dict(suites),
        "run": dict(run),
    }
    path = folder / "qaagent.yaml"
    path.write_text(json.dumps(profile, indent=2), encoding="utf-8")
    return path


def qaagent_run(profile: Path, *options: str) -> float:
    """Wall time of `qaagent run-all` on a profile, in CI mode (plain lines, no live board)."""
    byte_compile_qaagent()
    return wall_seconds(
        [QAAGENT, "run-all", "--config", str(profile), *options],
        cwd=profile.parent,
    )


def floor_run(commands: Sequence[Sequence[str]], workers: int) -> float:
    """Wall time of the floor CLI (bench/floor_cli.py) running the same commands."""
    floor = Path(__file__).with_name("floor_cli.py")
    quoted = [shlex.join(command) for command in commands]
    return wall_seconds([sys.executable, str(floor), "--workers", str(workers), *quoted])


def fresh(folder: Path) -> Path:
    """An empty folder, removing what an earlier benchmark left."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def ratio_line(name: str, measured: float, reference: float, label: str, target: float) -> str:
    """One result line: what was measured, against what, and whether it met the target."""
    ratio = measured / reference
    verdict = "within" if ratio <= target else "OVER"
    return (
        f"{name}: qaagent {measured:.2f} s vs {label} {reference:.2f} s = {ratio:.2f}x "
        f"({verdict} target {target:.2f}x)"
    )
