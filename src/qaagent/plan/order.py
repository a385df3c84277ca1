"""The order tasks start in.

`profile` order keeps the profile's suite_order exactly, then priority, then plan order.
`duration` order (the default once a run was recorded) starts by priority, then the longest
expected task first (longest processing time first, the classic greedy bound for makespan on
identical workers), and uses suite_order only to break ties. Durations come from earlier runs;
tasks never seen before are expected to take the median of the known ones.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from qaagent.model.task import Task


class Order(StrEnum):
    """How tasks are ordered before they start."""

    profile = "profile"
    duration = "duration"


@dataclass(frozen=True)
class StartOrder:
    """The order a run uses, the expected seconds it ranks by, and why it was chosen."""

    order: Order
    expected: Mapping[str, float] | None
    reason: str

    @property
    def line(self) -> str:
        """`order: duration (recorded durations of 12 tasks; ...)`, as validate prints it."""
        return f"order: {self.order} ({self.reason})"


def choose_order(requested: Order | None, history: Mapping[str, float]) -> Order:
    """The requested order; by default `duration` once any task has a recorded duration."""
    if requested is not None:
        return requested
    return Order.duration if history else Order.profile


def start_order(
    tasks: Sequence[Task], requested: Order | None, history: Mapping[str, float]
) -> StartOrder:
    """The order for these tasks, with the durations it needs and a reason a user can act on."""
    order = choose_order(requested, history)
    if order is Order.profile:
        reason = "--order profile" if requested else "no recorded durations yet"
        return StartOrder(order, None, f"{reason}; suite_order, then priority")
    expected = expected_durations(tasks, history)
    recorded = sum(1 for task in tasks if task.name in history)
    known = f"recorded durations of {recorded} task{'' if recorded == 1 else 's'}"
    chosen = "--order duration; " if requested else ""
    return StartOrder(order, expected, f"{chosen}{known}; --order profile to keep suite_order")


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

    Without `expected` (profile order), suite_order decides first, then priority. With it
    (duration order), priority decides first, then the longest expected task, then suite_order.
    """
    position = {name: index for index, name in enumerate(suite_order)}

    def place(task: Task) -> int:
        return position.get(task.suite, len(position))

    if expected is None:
        ranked = sorted(
            enumerate(tasks), key=lambda item: (place(item[1]), -item[1].priority, item[0])
        )
    else:
        ranked = sorted(
            enumerate(tasks),
            key=lambda item: (
                -item[1].priority,
                -expected.get(item[1].name, 0.0),
                place(item[1]),
                item[0],
            ),
        )
    return [task for _, task in ranked]


def start_priorities(ordered: Sequence[Task]) -> dict[str, int]:
    """Backend priority of each task: the earlier in start order, the higher."""
    return {task.name: len(ordered) - index for index, task in enumerate(ordered)}
