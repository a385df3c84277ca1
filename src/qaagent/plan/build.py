"""One `Plan` from the selected tasks, the run settings and the recorded durations."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qaagent.config.models import RunSettings
from qaagent.evidence.cached import CacheHit, look_up
from qaagent.evidence.history import (
    known_task_durations,
    known_test_counts,
    known_test_durations,
)
from qaagent.evidence.models import PartEntry
from qaagent.model.results import TaskResult
from qaagent.model.task import Task
from qaagent.plan.cache import CacheKey, KeyMaker
from qaagent.plan.order import Order, order_tasks, start_order, start_priorities
from qaagent.plan.parts import (
    DIVISIBLE_KINDS,
    Durations,
    PartRequest,
    PartsPlan,
    apply_share,
    plan_parts,
    read_durations,
    read_parts_plan,
)
from qaagent.plan.split import (
    CollectedTest,
    CollectionError,
    SplitPlan,
    cached_collection,
    split_tasks,
)
from qaagent.plan.tasks import with_worker_slots
from qaagent.plan.workers import WorkerBudget


@dataclass(frozen=True)
class Plan:
    """The tasks as they will run: split suites as shards, in start order, with their priorities.

    `runnable` keeps the profile's order, which the results and reports follow; `expected`
    holds the seconds known for a task, recorded or estimated for its shard, and
    `expected_tests` how many tests it runs: its selection, else as many as it last ran.
    """

    runnable: tuple[Task, ...]
    tasks: tuple[Task, ...]
    priorities: Mapping[str, int]
    expected: Mapping[str, float]
    workers: int
    expected_tests: Mapping[str, int] = field(default_factory=dict)
    shard_of: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    part: PartEntry | None = None
    cached: tuple[tuple[Task, CacheHit], ...] = ()
    cache_keys: Mapping[str, CacheKey] = field(default_factory=dict)
    selected: tuple[str, ...] = ()

    def in_plan_order(self, results: Sequence[TaskResult]) -> list[TaskResult]:
        """Results in the profile's order, whatever order they ran in: a cached task's in its
        place, a suite's shards in theirs.
        """
        runnable = {task.name: index for index, task in enumerate(self.runnable)}
        selected = {name: index for index, name in enumerate(self.selected or runnable)}

        def place(result: TaskResult) -> tuple[int, int]:
            whole = self.shard_of.get(result.task, result.task)
            return selected.get(whole, len(selected)), runnable.get(result.task, len(runnable))

        return sorted(results, key=place)


def build_plan(
    tasks: Sequence[Task],
    settings: RunSettings,
    runs_dir: Path,
    *,
    env: Mapping[str, str],
    order: Order | None = None,
    part: PartRequest | None = None,
    keys: KeyMaker | None = None,
    serve_cached: bool = True,
) -> Plan:
    """Keep this CI part's share, serve what is cached, split, fill `{workers}`, and order by
    what earlier runs took. Without `keys` no task has a key; without `serve_cached` every task
    runs, its key kept so that a pass is stored.
    """
    notes: list[str] = []
    entry = None
    if part is not None:
        tasks, entry = part_share(tasks, part, runs_dir, env, notes)
    selected = tuple(task.name for task in tasks)
    cache_keys = {task.name: keys.key(task) for task in tasks if task.cache} if keys else {}
    cached, tasks = serve_from_cache(tasks, cache_keys if serve_cached else {}, runs_dir)
    budget = WorkerBudget.of(settings)
    split = split_suites(tasks, budget, runs_dir, env)
    known = {**known_task_durations(runs_dir), **split.expected}
    ranking = start_order(split.tasks, order, known).expected
    runnable = with_worker_slots(split.tasks, budget.slots(len(split.tasks)))
    ordered = order_tasks(runnable, settings.suite_order, ranking)
    recorded = known_test_counts(runs_dir)
    return Plan(
        runnable=tuple(runnable),
        tasks=tuple(ordered),
        priorities=start_priorities(ordered),
        expected=known,
        expected_tests={
            task.name: len(task.selected_tests) or recorded[task.name]
            for task in runnable
            if task.selected_tests or task.name in recorded
        },
        workers=max(1, budget.at_once(sum(task.workers_held for task in runnable))),
        shard_of={task.name: task.shard_of for task in runnable if task.shard_of},
        notes=(*notes, *split.notes),
        part=entry,
        cached=tuple(cached),
        cache_keys=cache_keys,
        selected=selected,
    )


def serve_from_cache(
    tasks: Sequence[Task], keys: Mapping[str, CacheKey], runs_dir: Path
) -> tuple[list[tuple[Task, CacheHit]], list[Task]]:
    """The tasks a passing run of the same key stands for, and the tasks left to run."""
    cached: list[tuple[Task, CacheHit]] = []
    left: list[Task] = []
    for task in tasks:
        key = keys.get(task.name)
        hit = look_up(runs_dir, task.name, key.digest) if key is not None else None
        if hit is None:
            left.append(task)
        else:
            cached.append((task, hit))
    return cached, left


def part_share(
    tasks: Sequence[Task],
    part: PartRequest,
    runs_dir: Path,
    env: Mapping[str, str],
    notes: list[str],
) -> tuple[list[Task], PartEntry]:
    """This part's tasks: from the saved plan when one is given, else divided here."""
    if part.plan_file is not None:
        parts = read_parts_plan(part.plan_file)
        if parts.total != part.spec.total:
            raise_total_mismatch(part, parts.total)
        where = f"{part.plan_file} (part {part.spec})"
    else:
        durations = part_durations(tasks, part.durations_file, runs_dir)
        parts = plan_parts(tasks, part.spec.total, durations, collector(runs_dir, env, notes))
        where = f"--part {part.spec}"
    share = parts.shares[part.spec.index - 1]
    if not share:
        notes.append(f"part {part.spec} has nothing to run: the plan divides into fewer parts")
    return apply_share(tasks, share, where), parts.part(part.spec)


def raise_total_mismatch(part: PartRequest, total: int) -> None:
    """A saved plan of another number of parts cannot give this part."""
    from qaagent.errors import UsageError

    raise UsageError(
        f"--part {part.spec} asks for {part.spec.total} parts, but {part.plan_file} "
        f"was saved for {total}; use --part I/{total} or save the plan again."
    )


def part_durations(tasks: Sequence[Task], file: Path | None, runs_dir: Path) -> Durations:
    """The durations file when one is given, else the local history of these tasks."""
    if file is not None:
        return read_durations(file)
    return Durations(
        tasks=known_task_durations(runs_dir),
        tests_by_task={
            task.name: known_test_durations(runs_dir, task.name)
            for task in tasks
            if task.kind in DIVISIBLE_KINDS
        },
    )


def collector(
    runs_dir: Path, env: Mapping[str, str], notes: list[str]
) -> Callable[[Task], list[CollectedTest] | None]:
    """Lists a pytest task's tests (its selection, else a cached collection); None, with a note,
    when they cannot be listed.
    """
    from qaagent.tools.pytest_tool import selected_node_ids

    def collect(task: Task) -> list[CollectedTest] | None:
        if task.selected_tests:
            return [CollectedTest(node_id) for node_id in selected_node_ids(task.selected_tests)]
        try:
            tests, _ = cached_collection(task, env, runs_dir / ".collected")
        except CollectionError as error:
            notes.append(
                f"{task.name}: kept whole in one part, its tests could not be listed ({error})"
            )
            return None
        return tests

    return collect


def divided_plan(
    tasks: Sequence[Task],
    total: int,
    durations_file: Path | None,
    runs_dir: Path,
    env: Mapping[str, str],
) -> tuple[PartsPlan, list[str]]:
    """Every part's share, for `qaagent plan --parts`, with the notes of listing the tests."""
    notes: list[str] = []
    durations = part_durations(tasks, durations_file, runs_dir)
    return plan_parts(tasks, total, durations, collector(runs_dir, env, notes)), notes


def split_suites(
    tasks: Sequence[Task], budget: WorkerBudget, runs_dir: Path, env: Mapping[str, str]
) -> SplitPlan:
    """Split suites replaced by their shards; no collection when no suite is split."""
    if not any(task.split is not None for task in tasks):
        return SplitPlan(list(tasks))
    return split_tasks(tasks, budget.most_shards, runs_dir, env)
