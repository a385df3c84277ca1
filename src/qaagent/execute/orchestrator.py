"""Plan, execute and collect: tasks run on a backend, results come back in plan order."""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from qaagent.errors import ExitCode
from qaagent.execute.app import AppLifecycle, AppStartError
from qaagent.execute.backend import (
    Backend,
    BackendFactory,
    Event,
    EventKind,
    TaskControl,
    TaskHandle,
    Workload,
    local_backend,
)
from qaagent.execute.task import (
    RunnerFor,
    TaskBody,
    TaskSettings,
    bare_result,
    crash_result,
    run_task,
    with_task_counts,
)
from qaagent.model.outcomes import FAILING_TASKS, FAILING_TESTS, Counts, TaskOutcome
from qaagent.model.results import TaskResult
from qaagent.model.run import RunStatus, StopReason, exit_code_for, status_for
from qaagent.model.task import Task
from qaagent.processes.tree import kill_process_trees
from qaagent.processes.watchdog import ProcessGuard
from qaagent.secrets import NO_SECRETS, SecretValues
from qaagent.tools.base import RunContext

POLL_INTERVAL = 0.1
SETTLE_SECONDS = 2.0


STOPPING = {
    StopReason.fail_fast: "stopping: a task failed and --fail-fast is on",
    StopReason.max_failures: "stopping: the run reached --max-failures failed tests",
    StopReason.interrupted: "stopping: interrupted; running tasks are being ended "
    "(interrupt again to kill them at once)",
    StopReason.run_timeout: "stopping: the run reached --run-timeout",
}
NOT_STARTED = {
    StopReason.fail_fast: "not started: an earlier task failed and --fail-fast is on",
    StopReason.max_failures: "not started: the run reached --max-failures failed tests",
    StopReason.interrupted: "not started: the run was interrupted",
    StopReason.run_timeout: "not started: the run reached --run-timeout",
}
RUN_TIMEOUT_REASON = "stopped: the run reached --run-timeout"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class RunWatcher(Protocol):
    """Who follows the run (the console); called from the main thread only."""

    def event(self, event: Event) -> None: ...

    def tick(self) -> None: ...


class QuietWatcher:
    """Follows nothing; for callers that show no progress."""

    def event(self, event: Event) -> None:
        """Ignore the event."""

    def tick(self) -> None:
        """Nothing to refresh."""


@dataclass
class ExecutionOptions:
    """How tasks are executed."""

    artifacts_dir: Path
    workers: int = 1
    pools: Mapping[str, int] = field(default_factory=dict)
    fail_fast: bool = False
    max_failures: int | None = None
    run_timeout: float | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    chromium: str | None = None
    secrets: SecretValues = NO_SECRETS

    def task_settings(self) -> TaskSettings:
        """What each task is given, as plain data a backend can ship."""
        return TaskSettings(self.artifacts_dir, dict(self.env), self.chromium, self.secrets)


@dataclass
class Execution:
    """What the execute stage produced: results in plan order, times, and why it stopped early."""

    results: list[TaskResult]
    started_at: datetime
    finished_at: datetime
    stop_reason: StopReason | None = None

    @property
    def exit_code(self) -> ExitCode:
        """The exit code the results and the stop reason call for."""
        return exit_code_for(self.results, self.stop_reason)

    @property
    def status(self) -> RunStatus:
        """The run status matching the exit code."""
        return status_for(self.exit_code)


class RunOrchestrator:
    """Executes tasks on a backend and hands back their results in the order it was given them.

    Sequential is one worker on the same path. Every task's exception becomes its own error
    result. Stopping (fail-fast, interrupt, run timeout) cancels queued tasks and sets the stop
    flag of running ones; their runners kill their process groups and return.
    """

    def __init__(
        self,
        runner_for: RunnerFor,
        options: ExecutionOptions,
        *,
        app: AppLifecycle | None = None,
        watcher: RunWatcher | None = None,
        backend_factory: BackendFactory = local_backend,
        guard: ProcessGuard | None = None,
    ) -> None:
        self.runner_for = runner_for
        self.options = options
        self.app = app
        self.guard = guard if guard is not None else ProcessGuard()
        self.watcher = watcher or QuietWatcher()
        self._backend_factory = backend_factory
        self._events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._lock = threading.RLock()
        self._handles: list[TaskHandle] = []
        self._unfinished = 0
        self._all_done = threading.Event()
        self._backend: Backend | None = None
        self._interrupt_requested = False
        self._hard_requested = False
        self._final_failures: dict[str, int] = {}
        self._live_failures: dict[str, int] = {}
        self._retries: dict[str, int] = {}
        self.stop_reason: StopReason | None = None

    def run(self, tasks: Sequence[Task], priorities: Mapping[str, int] | None = None) -> Execution:
        """Execute the tasks given in start order; returns when all returned, or soon after a hard stop.

        Each task starts with its priority, by default the higher the earlier it comes; the
        results come back in the tasks' order.
        """
        started_at = datetime.now(UTC)
        if priorities is None:
            priorities = {task.name: len(tasks) - index for index, task in enumerate(tasks)}
        self._retries = {task.name: task.retry_count for task in tasks}
        backend = self._backend_factory(self._workload())
        self._backend = backend
        for task in tasks:
            handle = backend.submit(task, priority=priorities[task.name], on_event=self._emit)
            self._track(handle)
        if self._wait_all():
            self.stop_reason = StopReason.interrupted
            backend.cancel_pending()
            self._let_runners_settle()
        else:
            if self.app is not None:
                self.app.stop()
            backend.close()
        self._drain_events()
        by_name = {handle.task.name: handle for handle in self._handles}
        results = [
            with_task_counts(self._result_of(by_name[task.name], started_at)) for task in tasks
        ]
        return Execution(results, started_at, datetime.now(UTC), self.stop_reason)

    def _workload(self) -> Workload:
        """What the backend needs to run this run's tasks, here or on other machines."""
        return Workload(
            self._run_one,
            self.options.task_settings(),
            self.runner_for,
            self._hold_app,
            self.options.workers,
            self.options.pools,
        )

    def stop(self, reason: StopReason) -> None:
        """Start nothing more and ask running tasks to stop; an interrupt overrides other reasons."""
        with self._lock:
            if self.stop_reason is None or reason is StopReason.interrupted:
                self.stop_reason = reason
                self._emit(Event(EventKind.stopping, "", line=STOPPING[reason]))
            handles = list(self._handles)
            backend = self._backend
        if backend is not None:
            backend.cancel_pending()
        for handle in handles:
            handle.cancel()

    def _track(self, handle: TaskHandle) -> None:
        """Remember a submitted task; one that started and stopped the run before this is stopped.

        A task may run, and stop the run through its live failures, before `submit` returns.
        """
        with self._lock:
            self._handles.append(handle)
            self._unfinished += 1
            if self._all_done.is_set():
                self._all_done.clear()
            stopped = self.stop_reason is not None
        handle.future.add_done_callback(self._task_done)
        if stopped:
            handle.cancel()

    def _task_done(self, _future: Future[TaskResult]) -> None:
        """Count a task off; the wait loop wakes at once when the last one is done."""
        with self._lock:
            self._unfinished -= 1
            if self._unfinished == 0:
                self._all_done.set()

    def request_interrupt(self, hard: bool = False) -> None:
        """Ctrl-C, SIGTERM or SIGHUP: safe in a signal handler; the wait loop does the stopping.

        A hard interrupt (the second) also kills every process tree started below qaagent at
        once, the app's included, and the wait then returns without the tasks' bookkeeping.
        Nothing is raised into the code the main thread happens to run.
        """
        self._interrupt_requested = True
        if hard and not self._hard_requested:
            self._hard_requested = True
            kill_process_trees()

    def _wait_all(self) -> bool:
        """Wait for every task, stopping them when asked; whether a hard interrupt ended it.

        The loop wakes every poll interval and when the last task ends, never once per task,
        so its cost does not grow with the tasks.
        """
        deadline = time.monotonic() + self.options.run_timeout if self.options.run_timeout else None
        while self._unfinished > 0:
            if self._hard_requested:
                return True
            self._drain_events()
            self.watcher.tick()
            if self._interrupt_requested and self.stop_reason is not StopReason.interrupted:
                self.stop(StopReason.interrupted)
            if deadline is not None and time.monotonic() >= deadline and self.stop_reason is None:
                self.stop(StopReason.run_timeout)
            self._all_done.wait(POLL_INTERVAL)
        return False

    def _let_runners_settle(self) -> None:
        """After a kill, give runners a moment to finish their files, so checksums hold."""
        pending = [handle.future for handle in self._handles if not handle.future.done()]
        wait(pending, timeout=SETTLE_SECONDS)

    def _emit(self, event: Event) -> None:
        """Judge the event on the thread it comes from, then queue it for the watcher."""
        self._judge(event)
        self._events.put(event)

    def _drain_events(self) -> None:
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return
            self.watcher.event(event)

    def _run_one(self, task: Task, control: TaskControl) -> TaskResult:
        """Run one task on a worker thread, holding the app around it when it needs one."""
        result = run_task(
            task,
            self.options.task_settings(),
            control,
            self._emit,
            guard=self.guard,
            runner_for=self.runner_for,
            around=self._with_app,
        )
        return self._with_run_timeout(result)

    def _with_app(self, task: Task, context: RunContext, body: TaskBody) -> TaskResult:
        """The task's run on a thread here, with the app up around it when it needs it."""
        return self._hold_app(task, context.stop, lambda: body(task, context))

    def _hold_app(
        self, task: Task, stop: threading.Event, run: Callable[[], TaskResult]
    ) -> TaskResult:
        """The task's run, here or remote, with the app up around it; an app that died meanwhile
        errors it.
        """
        if not (task.needs_app and self.app is not None):
            return run()
        try:
            self.app.acquire(stop)
            result = run()
            if stop.is_set():
                return result
            try:
                self.app.check_running()
            except AppStartError as error:
                return app_gone_result(result, str(error))
            return result
        finally:
            self.app.release()

    def _judge(self, event: Event) -> None:
        """Decide, as each result or live test arrives, whether the run must stop.

        A task's failed tests count once its result is in; before that, the failures its tool
        reports live count for a task that will not retry them, so --max-failures stops the
        run within a poll of the Nth failing test rather than at the end of its task.
        """
        if event.kind is EventKind.finished and event.result is not None:
            if self.options.fail_fast and event.result.outcome in FAILING_TASKS:
                self.stop(StopReason.fail_fast)
            counts = Counts.of(event.result.cases)
            self._count_failures(event.task, counts.failed + counts.errors, final=True)
        elif event.kind is EventKind.test and event.test is not None:
            live = event.test
            if live.event == "finished" and live.outcome in FAILING_TESTS:
                self._count_failures(event.task, 1, final=False)

    def _count_failures(self, task: str, failed: int, *, final: bool) -> None:
        """Record a task's failed tests; stop once the run's total reaches --max-failures."""
        if self.options.max_failures is None:
            return
        with self._lock:
            if final:
                self._final_failures[task] = failed
            elif task in self._final_failures or self._retries.get(task, 0) > 0:
                return
            else:
                self._live_failures[task] = self._live_failures.get(task, 0) + failed
            live = sum(
                count
                for name, count in self._live_failures.items()
                if name not in self._final_failures
            )
            reached = sum(self._final_failures.values()) + live >= self.options.max_failures
        if reached:
            self.stop(StopReason.max_failures)

    def _result_of(self, handle: TaskHandle, run_started: datetime) -> TaskResult:
        """The task's result; not-run, interrupted or error when it has none."""
        task, future = handle.task, handle.future
        if future.cancelled():
            return bare_result(task, TaskOutcome.not_run, self._not_started_reason())
        if not future.done():
            return bare_result(task, TaskOutcome.interrupted, "killed by a second interrupt")
        error = future.exception()
        if error is not None:
            return crash_result(task, error, run_started, None)
        return self._with_run_timeout(future.result())

    def _with_run_timeout(self, result: TaskResult) -> TaskResult:
        """A task stopped by --run-timeout timed out, as its progress line and every report say."""
        if self.stop_reason is not StopReason.run_timeout or result.outcome not in (
            TaskOutcome.interrupted,
            TaskOutcome.not_run,
        ):
            return result
        return result.model_copy(
            update={"outcome": TaskOutcome.timed_out, "error": RUN_TIMEOUT_REASON}
        )

    def _not_started_reason(self) -> str:
        return NOT_STARTED[self.stop_reason] if self.stop_reason else "not started"


def app_gone_result(result: TaskResult, reason: str) -> TaskResult:
    """A task whose app died under it: an error naming the app, its own tests and logs kept."""
    errored = result.model_copy(update={"outcome": TaskOutcome.error, "error": reason})
    return with_task_counts(errored)
