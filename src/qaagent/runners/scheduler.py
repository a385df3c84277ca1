"""The order tasks start in: the profile's suite_order first, then priority, then plan order."""

from __future__ import annotations

from collections.abc import Sequence

from qaagent.plan import Task


def order_tasks(tasks: Sequence[Task], suite_order: Sequence[str]) -> list[Task]:
    """Tasks in start order; ties keep their plan order, so runs are reproducible."""
    position = {name: index for index, name in enumerate(suite_order)}
    ranked = sorted(
        enumerate(tasks),
        key=lambda item: (position.get(item[1].suite, len(position)), -item[1].priority, item[0]),
    )
    return [task for _, task in ranked]


def start_priorities(ordered: Sequence[Task]) -> dict[str, int]:
    """Backend priority of each task: the earlier in start order, the higher."""
    return {task.name: len(ordered) - index for index, task in enumerate(ordered)}
