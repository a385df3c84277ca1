"""The order tasks start in.

`profile` order: the profile's suite_order first, then priority, then plan order. `duration`
order additionally starts the longest expected tasks first within a priority (longest processing
time first, the classic greedy bound for makespan on identical workers), using durations from
earlier runs; tasks never seen before are expected to take the median of the known ones.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from enum import StrEnum

from qaagent.plan import Task


class Order(StrEnum):
    """How tasks are ordered before they start."""

    profile = "profile"
    duration = "duration"


def choose_order(requested: Order | None, history: Mapping[str, float]) -> Order:
    """The requested order; by default `duration` once any task has a recorded duration."""
    if requested is not None:
        return requested
    return Order.duration if history else Order.profile


def expected_durations(tasks: Sequence[Task], known: Mapping[str, float]) -> dict[str, float]:
    """Each task's expected seconds: its recorded duration, else the median of the known ones.

    Empty when no task has a recorded duration: there is nothing to order by.
    """
    recorded = {task.name: known[task.name] for task in tasks if task.name in known}
    if not recorded:
        return {}
    fallback = statistics.median(recorded.values())
    return {task.name: recorded.get(task.name, fallback) for task in tasks}


def order_tasks(
    tasks: Sequence[Task],
    suite_order: Sequence[str],
    expected: Mapping[str, float] | None = None,
) -> list[Task]:
    """Tasks in start order; ties keep their plan order, so runs are reproducible.

    With `expected` durations, the longest task starts first among equal suite_order position and
    priority.
    """
    position = {name: index for index, name in enumerate(suite_order)}
    durations = expected or {}
    ranked = sorted(
        enumerate(tasks),
        key=lambda item: (
            position.get(item[1].suite, len(position)),
            -item[1].priority,
            -durations.get(item[1].name, 0.0),
            item[0],
        ),
    )
    return [task for _, task in ranked]


def start_priorities(ordered: Sequence[Task]) -> dict[str, int]:
    """Backend priority of each task: the earlier in start order, the higher."""
    return {task.name: len(ordered) - index for index, task in enumerate(ordered)}
