"""One task, run wherever a backend puts it: plain data in, a result out, never an exception.

`run_task` takes only what can be pickled (the task, its settings, a stop flag and a worker
slot, a callback for its events), so that a backend may run it on a thread here or ship it to
another process. The run's decisions (fail-fast, --max-failures, the app) stay with the
orchestrator, which sees every result as it arrives.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from qaagent.execute.backend import Event, EventKind, EventSink, TaskControl
from qaagent.model.live import LiveTest
from qaagent.model.outcomes import TaskOutcome, task_counts
from qaagent.model.results import TaskResult
from qaagent.model.task import Task
from qaagent.naming import folder_name
from qaagent.processes.watchdog import ProcessGuard
from qaagent.secrets import NO_SECRETS, SecretValues
from qaagent.tools.base import RunContext, Runner
from qaagent.tools.registry import runner_for as registered_runner

TAIL_LINES = 20

RunnerFor = Callable[[str], Runner]
TaskBody = Callable[[Task, RunContext], TaskResult]


@dataclass(frozen=True)
class TaskSettings:
    """What every task of a run gets besides itself: where its files go, its environment."""

    artifacts_dir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    chromium: str | None = None
    secrets: SecretValues = NO_SECRETS

    @property
    def run_dir(self) -> Path:
        """The run folder, which holds the artifacts folder; results name files relative to it."""
        return self.artifacts_dir.parent


def run_task(
    task: Task,
    settings: TaskSettings,
    control: TaskControl,
    emit: EventSink,
    *,
    guard: ProcessGuard,
    runner_for: RunnerFor = registered_runner,
    around: Callable[[Task, RunContext, TaskBody], TaskResult] | None = None,
) -> TaskResult:
    """Run one task in its own folder with its tool's runner; any exception is its error result.

    `guard` is the watchdog of the machine the task runs on; `around` wraps the tool's run
    (the orchestrator holds the app there).
    """
    started_at = datetime.now(UTC)
    output_dir = settings.artifacts_dir / folder_name(task.name)

    def body(task: Task, context: RunContext) -> TaskResult:
        return runner_for(task.kind).run(task, context)

    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        context = task_context(task, settings, control, emit, output_dir, guard)
        result = around(task, context, body) if around is not None else body(task, context)
    except TaskCannotRun as error:
        stopped = TaskOutcome.interrupted if control.stop.is_set() else TaskOutcome.error
        result = error_result(task, str(error), started_at, output_dir, stopped)
    except Exception as error:
        result = crash_result(task, error, started_at, output_dir)
    placed = result.relative_to(settings.run_dir)
    return placed.model_copy(update={"worker": control.worker})


class TaskCannotRun(Exception):
    """Something the task needs (the app) is not there; the task is an error, not a crash."""


def task_context(
    task: Task,
    settings: TaskSettings,
    control: TaskControl,
    emit: EventSink,
    output_dir: Path,
    guard: ProcessGuard,
) -> RunContext:
    """The runner's view of the run: its folder, environment, stop flag and event callbacks."""

    def on_output(line: str) -> None:
        emit(Event(EventKind.output, task.name, control.worker, line=line))

    def on_test(test: LiveTest) -> None:
        emit(Event(EventKind.test, task.name, control.worker, test=test))

    return RunContext(
        output_dir=output_dir,
        env=dict(settings.env),
        stop=control.stop,
        chromium=settings.chromium,
        on_output=on_output,
        on_test=on_test,
        secrets=settings.secrets,
        guard=guard,
    )


def with_task_counts(result: TaskResult) -> TaskResult:
    """Counts as every report shows them: a task that ended badly is one error of its own."""
    return result.model_copy(
        update={"counts": task_counts(result.outcome, result.cases, result.counts.not_run)}
    )


def bare_result(task: Task, outcome: TaskOutcome, reason: str) -> TaskResult:
    """A result for a task that produced nothing of its own."""
    return TaskResult(
        task=task.name,
        suite=task.suite,
        kind=task.kind,
        outcome=outcome,
        error=reason,
        matrix=task.matrix,
    )


def error_result(
    task: Task,
    reason: str,
    started_at: datetime,
    output_dir: Path | None,
    outcome: TaskOutcome = TaskOutcome.error,
) -> TaskResult:
    """A task that could not run: one error with the reason, never a crash of the run.

    The reason's first line is the error and the rest its tail, so a failure block shows each once.
    """
    result = bare_result(task, outcome, reason)
    result.output_dir = output_dir
    result.tail = reason.splitlines()[1:][-TAIL_LINES:]
    result.started_at = started_at
    result.finished_at = datetime.now(UTC)
    return result


def crash_result(
    task: Task, error: BaseException, started_at: datetime, output_dir: Path | None
) -> TaskResult:
    """An unexpected exception inside a task, with the end of its traceback for the console."""
    result = error_result(task, f"{type(error).__name__}: {error}", started_at, output_dir)
    lines = "".join(traceback.format_exception(error)).splitlines()
    result.tail = lines[-TAIL_LINES:]
    return result
