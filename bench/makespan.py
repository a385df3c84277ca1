"""Makespan: 12 skewed suites on 3 workers, second run (with history) against the lower bound."""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchlib import floor_run, fresh, qaagent_run, write_profile

WORKERS = 3
TARGET = 1.05
SHORT_FIRST = [0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0]


def main() -> None:
    """Print the history-ordered run against max(longest, total / workers), profile order and the
    floor: a bare Typer + pydantic CLI running the same commands longest first.
    """
    root = fresh(Path(tempfile.gettempdir()) / "qaagent-bench-makespan")
    suites = {
        f"s{index:02d}-{seconds:g}s": {"kind": "command", "command": ["sleep", str(seconds)]}
        for index, seconds in enumerate(SHORT_FIRST)
    }
    profile = write_profile(root, suites, {"parallel": True, "max_workers": WORKERS})
    bound = max(*SHORT_FIRST, sum(SHORT_FIRST) / WORKERS)
    profile_order = qaagent_run(profile, "--order", "profile")
    by_duration = qaagent_run(profile, "--order", "duration")
    floor = floor_run([["sleep", str(seconds)] for seconds in reversed(SHORT_FIRST)], WORKERS)
    print(
        f"makespan: qaagent {by_duration:.2f} s with history vs bound {bound:.2f} s = "
        f"{by_duration / bound:.2f}x ({'within' if by_duration / bound <= TARGET else 'OVER'} "
        f"target {TARGET:.2f}x); profile order {profile_order:.2f} s = {profile_order / bound:.2f}x"
    )
    print(
        f"makespan: floor (a Typer + pydantic CLI, longest first) {floor:.2f} s = {floor / bound:.2f}x"
    )


if __name__ == "__main__":
    main()
