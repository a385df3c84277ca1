"""How many parts a split suite runs as: the count that minimises the expected wall time.

A suite's wall time in N parts is one start-up (the interpreter, imports and collection), plus
the heaviest part's recorded test seconds, plus what each further part costs: a fork is nearly
free, while a separate process starts up and collects the whole suite again, competing for the
same cores. One part wins whenever splitting does not pay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

SplitMode = Literal["fork", "processes"]
FORK_PART_SECONDS = 0.05
UNKNOWN_STARTUP_SECONDS = 1.0


@dataclass(frozen=True)
class SplitChoice:
    """The chosen number of parts, their bins, and the expected wall seconds of each count."""

    parts: int
    bins: list[list[str]]
    expected: dict[int, float]
    startup: float
    mode: SplitMode

    def describe(self) -> str:
        """`2 parts (fork): expected 1 part 5.4s, 2 parts 3.1s; start-up 1.2s`."""
        times = ", ".join(
            f"{count} part{'s' if count > 1 else ''} {seconds:.1f}s"
            for count, seconds in self.expected.items()
        )
        return (
            f"{self.parts} part{'s' if self.parts > 1 else ''} ({self.mode}): expected {times}; "
            f"start-up {self.startup:.1f}s"
        )


def part_cost(mode: SplitMode, startup: float) -> float:
    """Seconds each part beyond the first adds: a fork, or a whole start-up and collection."""
    return FORK_PART_SECONDS if mode == "fork" else startup


def expected_wall(loads: Sequence[float], startup: float, mode: SplitMode) -> float:
    """One start-up, the heaviest part, and the cost of every further part."""
    return startup + max(loads, default=0.0) + part_cost(mode, startup) * (len(loads) - 1)


def choose_parts(
    pack: Callable[[int], list[list[str]]],
    load: Callable[[list[str]], float],
    startup: float,
    most: int,
    mode: SplitMode,
) -> SplitChoice:
    """The part count from 1 to `most` whose packing by `pack` has the least expected wall time,
    each part taking its `load` in seconds.

    Ties go to fewer parts, which hold fewer processes and cores.
    """
    expected: dict[int, float] = {}
    packed: dict[int, list[list[str]]] = {}
    for count in range(1, max(1, most) + 1):
        bins = pack(count)
        loads = [load(node_ids) for node_ids in bins]
        expected[count] = expected_wall(loads, startup, mode)
        packed[count] = bins
    best = min(expected, key=lambda count: (round(expected[count], 6), count))
    return SplitChoice(best, packed[best], expected, startup, mode)
