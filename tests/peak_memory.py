"""Peak memory of one call, for tests that check a report's memory grows by an index, not a copy."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

from rundir_builder import Job, T, build_run


def peak_bytes(action: Callable[[], object]) -> int:
    """Most bytes the call had allocated at once, beyond what was allocated before it."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def failing_run(runs_dir: Path, tests: int) -> Path:
    """A run of one task whose every test failed with a message and output of its own."""
    failing = [
        T(
            f"tests/test_big.py::test_{number}",
            ["failed"],
            message=f"AssertionError: assert {number} == -1\n  where {number} = compute({number})",
            output=f"computing {number}\n" * 3,
        )
        for number in range(tests)
    ]
    return build_run(runs_dir, f"r{tests}", [Job("unit", tests=failing)])


def bytes_per_test(runs_dir: Path, prepare: Callable[[Path], Callable[[], object]]) -> float:
    """How much the peak memory of an action grows with each further test of the run it is for.

    `prepare` reads what the action needs from a run directory; only the action is measured.
    """
    small, large = 200, 1200
    small_action = prepare(failing_run(runs_dir, small))
    large_action = prepare(failing_run(runs_dir, large))
    return (peak_bytes(large_action) - peak_bytes(small_action)) / (large - small)
