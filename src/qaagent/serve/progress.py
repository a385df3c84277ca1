"""How far an execution is, worked out from its events alone: percent, tests done, an ETA."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Progress:
    """An execution's progress as the API shows it."""

    percent: float
    tasks_done: int
    tasks_total: int
    tests_done: int
    tests_total: int | None
    elapsed_seconds: float
    eta_seconds: float | None
    finished: bool

    def as_json(self) -> dict[str, Any]:
        """The progress as a JSON object."""
        return asdict(self)


@dataclass
class _Tally:
    """What the events said so far, per task."""

    tasks: list[str]
    collected: dict[str, int]
    tests: dict[str, set[str]]
    finished_tasks: set[str]
    first: datetime | None = None
    last: datetime | None = None
    over: bool = False


def progress_of(events: Iterable[Mapping[str, Any]], now: datetime) -> Progress:
    """The progress after these events, `now` being the time the ETA counts from.

    Each task weighs the same: a finished one counts whole, a running one by the share of its
    collected tests that finished. The ETA assumes the rest goes at the pace so far.
    """
    tally = _tally(events)
    fractions = [_fraction(tally, task) for task in tally.tasks]
    percent = 100.0 if tally.over else 100.0 * sum(fractions) / len(fractions) if fractions else 0.0
    elapsed = _elapsed(tally, now)
    return Progress(
        percent=round(percent, 1),
        tasks_done=len(tally.finished_tasks),
        tasks_total=len(tally.tasks),
        tests_done=sum(len(names) for names in tally.tests.values()),
        tests_total=_tests_total(tally),
        elapsed_seconds=round(max(elapsed, 0.0), 3),
        eta_seconds=_eta(percent, elapsed, tally.over),
        finished=tally.over,
    )


def _elapsed(tally: _Tally, now: datetime) -> float:
    """Seconds from the first event to the last one of a finished run, or to `now`."""
    if tally.first is None:
        return 0.0
    end = tally.last if tally.over and tally.last is not None else now
    return (end - tally.first).total_seconds()


def _tally(events: Iterable[Mapping[str, Any]]) -> _Tally:
    """Tasks planned, tests collected and finished per task, tasks finished, first and last time."""
    tally = _Tally(tasks=[], collected={}, tests=defaultdict(set), finished_tasks=set())
    for event in events:
        stamp = datetime.fromisoformat(event["time"])
        tally.first = tally.first or stamp
        tally.last = stamp
        match event["kind"]:
            case "planned":
                tally.tasks = [task["name"] for task in event["tasks"]]
            case "tests-collected":
                task = event["task"]
                tally.collected[task] = max(tally.collected.get(task, 0), event["count"])
            case "test-finished":
                tally.tests[event["task"]].add(event["test"])
            case "task-finished":
                tally.finished_tasks.add(event["task"])
            case "run-finished":
                tally.over = True
    return tally


def _fraction(tally: _Tally, task: str) -> float:
    """How much of one task is done, from 0 to 1."""
    if task in tally.finished_tasks:
        return 1.0
    collected = tally.collected.get(task)
    if not collected:
        return 0.0
    return min(len(tally.tests.get(task, ())) / collected, 0.99)


def _tests_total(tally: _Tally) -> int | None:
    """Tests the run will have run: known once every task collected or finished."""
    if not tally.tasks:
        return None
    total = 0
    for task in tally.tasks:
        if task in tally.collected:
            total += max(tally.collected[task], len(tally.tests.get(task, ())))
        elif task in tally.finished_tasks:
            total += len(tally.tests.get(task, ()))
        else:
            return None
    return total


def _eta(percent: float, elapsed: float, over: bool) -> float | None:
    """Seconds left at the pace so far; unknown before anything is done."""
    if over:
        return 0.0
    if percent <= 0:
        return None
    return round(elapsed * (100.0 - percent) / percent, 1)
