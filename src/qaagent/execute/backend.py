"""Execution backends: where tasks run. `LocalBackend` runs them on threads of this process."""

from __future__ import annotations

import bisect
import itertools
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from qaagent.model.live import LiveTest
from qaagent.model.results import TaskResult
from qaagent.model.task import Task

if TYPE_CHECKING:
    from qaagent.execute.task import RunnerFor, TaskSettings


class EventKind(StrEnum):
    """What happened to a task."""

    started = "started"
    output = "output"
    test = "test"
    finished = "finished"
    stopping = "stopping"


@dataclass(frozen=True)
class Event:
    """A task's progress, sent from the thread that runs it to whoever watches the run."""

    kind: EventKind
    task: str
    worker: int | None = None
    line: str | None = None
    test: LiveTest | None = None
    result: TaskResult | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


EventSink = Callable[[Event], None]


@dataclass(frozen=True)
class TaskControl:
    """What a running task gets from the backend: its stop flag and the worker slot it runs on."""

    stop: threading.Event
    worker: int


Execute = Callable[[Task, TaskControl], TaskResult]
HoldApp = Callable[[Task, threading.Event, Callable[[], TaskResult]], TaskResult]


@dataclass
class TaskHandle:
    """A submitted task: its future result and a cooperative way to stop it."""

    task: Task
    future: Future[TaskResult]
    stop: threading.Event

    def cancel(self) -> None:
        """Stop the task: a queued one never starts, a running one is asked to stop."""
        self.stop.set()
        self.future.cancel()


class Backend(Protocol):
    """Runs submitted tasks, at most `pools[name]` of one pool at a time, best priority first."""

    def submit(self, task: Task, *, priority: int, on_event: EventSink) -> TaskHandle: ...

    def cancel_pending(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Workload:
    """What a backend is given to run the tasks of a run.

    A backend on this machine calls `execute`, the orchestrator's whole body of a task. One that
    ships tasks elsewhere sends `run_task` the plain-data `settings` and `runner_for`, and runs
    it inside `hold_app`, which keeps the app up here around the remote task when it needs it.
    """

    execute: Execute
    settings: TaskSettings
    runner_for: RunnerFor
    hold_app: HoldApp
    workers: int
    pools: Mapping[str, int]


BackendFactory = Callable[[Workload], Backend]


def local_backend(workload: Workload) -> Backend:
    """Threads of this process, as many as the run's workers."""
    return LocalBackend(workload.execute, workload.workers, workload.pools)


@dataclass(order=True)
class _Queued:
    """A task waiting for a worker and for room in its pool; sorts best priority first."""

    rank: tuple[int, int]
    handle: TaskHandle = field(compare=False)
    on_event: EventSink = field(compare=False)


class LocalBackend:
    """A thread pool fed in priority order; a task starts only when its pool has room.

    No worker thread ever waits on a pool: the dispatcher hands a thread only a task that can
    run now, so a full pool never blocks tasks of other pools. A forked suite holds a worker
    per part (never more than there are), and the tasks after it wait until that many are
    free, so that it neither shares cores nor starves. One worker is the sequential mode.
    """

    def __init__(self, execute: Execute, max_workers: int, pools: Mapping[str, int]) -> None:
        self._execute = execute
        self._pools = dict(pools)
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="qaagent-task")
        self._lock = threading.Lock()
        self._queue: list[_Queued] = []
        self._free_workers = list(range(max_workers))
        self._capacity = max_workers
        self._running = Counter[str]()
        self._sequence = itertools.count()
        self._accepting = True

    def submit(self, task: Task, *, priority: int, on_event: EventSink) -> TaskHandle:
        """Queue a task; higher priority starts first, then submission order."""
        handle = TaskHandle(task, Future(), threading.Event())
        with self._lock:
            if not self._accepting:
                handle.cancel()
                return handle
            bisect.insort(self._queue, _Queued((-priority, next(self._sequence)), handle, on_event))
            self._dispatch()
        return handle

    def cancel_pending(self) -> None:
        """Cancel every queued task and accept no more; running tasks are left to their stop flag."""
        with self._lock:
            self._accepting = False
            for queued in self._queue:
                queued.handle.cancel()
            self._queue.clear()

    def close(self) -> None:
        """Wait for running tasks to return and release the threads."""
        self.cancel_pending()
        self._executor.shutdown(wait=True)

    def _dispatch(self) -> None:
        """Start queued tasks that can run now; the caller holds the lock."""
        index = 0
        while self._free_workers and index < len(self._queue):
            queued = self._queue[index]
            if not self._pool_has_room(queued.handle.task.pool):
                index += 1
                continue
            held = min(queued.handle.task.workers_held, self._capacity)
            if len(self._free_workers) < held:
                return
            del self._queue[index]
            if not queued.handle.future.set_running_or_notify_cancel():
                continue
            workers = self._free_workers[:held]
            del self._free_workers[:held]
            if queued.handle.task.pool is not None:
                self._running[queued.handle.task.pool] += 1
            self._executor.submit(self._run, queued, workers)

    def _pool_has_room(self, pool: str | None) -> bool:
        return pool is None or self._running[pool] < self._pools.get(pool, 1 << 30)

    def _run(self, queued: _Queued, workers: list[int]) -> None:
        """Run one task on a worker thread, then free its workers and pool place."""
        handle, on_event = queued.handle, queued.on_event
        worker = workers[0]
        try:
            on_event(Event(EventKind.started, handle.task.name, worker))
            result = self._execute(handle.task, TaskControl(handle.stop, worker))
            on_event(Event(EventKind.finished, handle.task.name, worker, result=result))
        except BaseException as error:
            handle.future.set_exception(error)
        else:
            handle.future.set_result(result)
        finally:
            self._release(handle.task.pool, workers)

    def _release(self, pool: str | None, workers: list[int]) -> None:
        with self._lock:
            self._free_workers.extend(workers)
            self._free_workers.sort()
            if pool is not None:
                self._running[pool] -= 1
            self._dispatch()
