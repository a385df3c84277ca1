"""Median wall time of `qaagent --version` beside a bare `python -c pass`, measured interleaved."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchlib import byte_compile_qaagent


def wall_ms(argv: Sequence[str]) -> float:
    """One run's wall time in milliseconds; a failing command stops the benchmark."""
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - started) * 1000


def measure(commands: Sequence[Sequence[str]], repeats: int) -> list[list[float]]:
    """Run the commands in turn, `repeats` rounds, so machine noise hits them alike."""
    for argv in commands:
        wall_ms(argv)
    timings: list[list[float]] = [[] for _ in commands]
    for _ in range(repeats):
        for argv, samples in zip(commands, timings, strict=True):
            samples.append(wall_ms(argv))
    return timings


def main() -> None:
    """Print both medians and the difference on one line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--repeats", type=int, default=21, help="runs of each command")
    repeats = parser.parse_args().repeats
    byte_compile_qaagent()
    qaagent = [str(Path(sys.executable).parent / "qaagent"), "--version"]
    bare = [sys.executable, "-c", "pass"]
    qaagent_ms, bare_ms = (
        statistics.median(samples) for samples in measure([qaagent, bare], repeats)
    )
    print(
        f"startup: qaagent --version {qaagent_ms:.1f} ms median, "
        f"python -c pass {bare_ms:.1f} ms (overhead {qaagent_ms - bare_ms:.1f} ms)"
    )


if __name__ == "__main__":
    main()
