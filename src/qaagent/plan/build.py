"""One `Plan` from the selected tasks, the run settings and the recorded durations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qaagent.config.models import RunSettings
from qaagent.evidence.history import known_task_durations
from qaagent.model.results import TaskResult
from qaagent.model.task import Task
from qaagent.plan.order import Order, order_tasks, start_order, start_priorities
from qaagent.plan.split import SplitPlan, split_tasks
from qaagent.plan.tasks import with_worker_slots
from qaagent.plan.workers import WorkerBudget


@dataclass(frozen=True)
class Plan:
    """The tasks as they will run: split suites as shards, in start order, with their priorities.

    `runnable` keeps the profile's order, which the results and reports follow; `expected`
    holds the seconds known for a task, recorded or estimated for its shard.
    """

    runnable: tuple[Task, ...]
    tasks: tuple[Task, ...]
    priorities: Mapping[str, int]
    expected: Mapping[str, float]
    workers: int
    shard_of: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def in_plan_order(self, results: Sequence[TaskResult]) -> list[TaskResult]:
        """Results in the profile's order, whatever order they ran in."""
        position = {task.name: index for index, task in enumerate(self.runnable)}
        return sorted(results, key=lambda result: position.get(result.task, len(position)))


def build_plan(
    tasks: Sequence[Task],
    settings: RunSettings,
    runs_dir: Path,
    *,
    env: Mapping[str, str],
    order: Order | None = None,
) -> Plan:
    """Split, fill `{workers}`, and order the tasks by what earlier runs took."""
    budget = WorkerBudget.of(settings)
    split = split_suites(tasks, budget, runs_dir, env)
    known = {**known_task_durations(runs_dir), **split.expected}
    ranking = start_order(split.tasks, order, known).expected
    runnable = with_worker_slots(split.tasks, budget.slots(len(split.tasks)))
    ordered = order_tasks(runnable, settings.suite_order, ranking)
    return Plan(
        runnable=tuple(runnable),
        tasks=tuple(ordered),
        priorities=start_priorities(ordered),
        expected=known,
        workers=budget.at_once(len(runnable)),
        shard_of={task.name: task.shard_of for task in runnable if task.shard_of},
        notes=tuple(split.notes),
    )


def split_suites(
    tasks: Sequence[Task], budget: WorkerBudget, runs_dir: Path, env: Mapping[str, str]
) -> SplitPlan:
    """Split suites replaced by their shards; no collection when no suite is split."""
    if not any(task.split is not None for task in tasks):
        return SplitPlan(list(tasks))
    return split_tasks(tasks, budget.most_shards, runs_dir, env)
