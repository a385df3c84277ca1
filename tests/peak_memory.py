"""Peak memory of a call, for tests that check memory grows by a few numbers per test, not a copy."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

from rundir_builder import Job, T, build_run

SMALL, LARGE = 200, 1200


def peak_bytes(action: Callable[[], object]) -> int:
    """Most bytes the call had allocated at once, beyond what was allocated before it."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def bytes_per_test(prepare: Callable[[int], Callable[[], object]]) -> float:
    """How much the peak memory of an action grows with each further failed test it handles.

    `prepare(tests)` makes what the action needs for that many failed tests; only the action
    it returns is measured, after one unmeasured call that does the imports and caching a
    first call does.
    """
    small, large = prepare(SMALL), prepare(LARGE)
    small()
    return (peak_bytes(large) - peak_bytes(small)) / (LARGE - SMALL)


def message(number: int) -> str:
    """A failure message of its own for each test, as long as a typical assertion's."""
    return f"AssertionError: assert {number} == -1\n  where {number} = compute({number})"


def failing_run(runs_dir: Path, tests: int) -> Path:
    """A run of one task whose every test failed with a message and output of its own."""
    failing = [
        T(
            f"tests/test_big.py::test_{number}",
            ["failed"],
            message=message(number),
            output=f"computing {number}\n" * 3,
        )
        for number in range(tests)
    ]
    return build_run(runs_dir, f"r{tests}", [Job("unit", tests=failing)])
