"""Tasks on a Dask cluster: `run_task` runs in worker processes; the app, the run's decisions
and the evidence stay here.

Each task is shipped as plain data with `priority=`; a pool is a `distributed.Semaphore`, so
its cap holds across the cluster. A task's events travel by `log_event` to this process, which
follows them with `subscribe_topic`. Stopping is cooperative: each task has a
`distributed.Event` that its worker polls and turns into the stop flag `run_task` obeys; a
running Dask task is never cancelled. Every worker runs qaagent's watchdog (`WatchdogPlugin`),
so the processes of a worker that dies end with it, and Dask reruns its task elsewhere.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import distributed
from distributed.diagnostics.plugin import WorkerPlugin

from qaagent.config.models import BackendSettings
from qaagent.errors import InfrastructureError, UsageError
from qaagent.execute.backend import (
    Backend,
    BackendFactory,
    Event,
    EventKind,
    TaskControl,
    TaskHandle,
    Workload,
)
from qaagent.execute.task import (
    RunnerFor,
    TaskCannotRun,
    TaskSettings,
    bare_result,
    crash_result,
    error_result,
    run_task,
)
from qaagent.model.live import LiveTest
from qaagent.model.outcomes import TaskOutcome
from qaagent.model.results import TaskResult
from qaagent.model.task import Task
from qaagent.processes.watchdog import ProcessGuard
from qaagent.secrets import SecretValues

WATCHDOG_PLUGIN = "qaagent-watchdog"
POLL_SECONDS = 0.2
DRAIN_SECONDS = 2.0
CONNECT_SECONDS = 30.0
RETURNED = "returned"


class WatchdogPlugin(WorkerPlugin):
    """qaagent's watchdog on a worker: the processes of its tasks end when it dies, even by SIGKILL.

    The workers of a `dask-local` cluster share qaagent's terminal, so they ignore its Ctrl-C:
    qaagent stops their tasks itself, and a worker that died of it would have its task rerun.
    """

    def __init__(self, *, deaf_to_interrupts: bool = False) -> None:
        self.deaf_to_interrupts = deaf_to_interrupts
        self.guard: ProcessGuard | None = None

    def setup(self, worker: distributed.Worker) -> None:
        """Start the worker's watchdog before its first task."""
        if self.deaf_to_interrupts:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.guard = ProcessGuard()
        self.guard.start()

    def teardown(self, worker: distributed.Worker) -> None:
        """End whatever the worker's tasks left running."""
        if self.guard is not None:
            self.guard.close()


@dataclass(frozen=True)
class RemoteTask:
    """What one task takes to a worker: itself, the run's settings, and where its events go."""

    task: Task
    settings: TaskSettings
    runner_for: RunnerFor
    topic: str
    stop: str
    pool: tuple[int, str] | None = None


def run_on_worker(remote: RemoteTask) -> TaskResult | None:
    """Run the task on this worker under its watchdog; None when it was stopped before it began."""
    worker = distributed.get_worker()
    stop = threading.Event()
    pool = distributed.Semaphore(*remote.pool) if remote.pool is not None else None

    def publish(kind: str, event: Event | None = None) -> None:
        message = event_message(event, remote.settings.secrets) if event is not None else {}
        worker.log_event(
            remote.topic,
            {**message, "kind": str(kind), "task": remote.task.name, "worker": worker.address},
        )

    stop_event = distributed.Event(remote.stop, client=distributed.get_client())
    with following(stop_event, stop), pool_place(pool, stop) as placed:
        if not placed or stop.is_set():
            return None
        publish(EventKind.started)
        try:
            return run_task(
                remote.task,
                remote.settings,
                TaskControl(stop, 0),
                lambda event: publish(event.kind, event),
                guard=worker_guard(worker),
                runner_for=remote.runner_for,
            )
        finally:
            publish(RETURNED)


def worker_guard(worker: distributed.Worker) -> ProcessGuard:
    """The watchdog `WatchdogPlugin` started on this worker."""
    plugin = worker.plugins[WATCHDOG_PLUGIN]
    assert isinstance(plugin, WatchdogPlugin) and plugin.guard is not None
    return plugin.guard


def event_message(event: Event, secrets: SecretValues) -> dict[str, Any]:
    """A task's output line or live test as the plain data `log_event` carries, secrets masked."""
    return {
        "line": secrets.mask(event.line) if event.line is not None else None,
        "test": event.test.model_dump(mode="json") if event.test is not None else None,
    }


@contextlib.contextmanager
def following(remote: distributed.Event, stop: threading.Event) -> Iterator[None]:
    """Set `stop` once the run sets the task's cluster-wide stop event."""
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            if remote.wait(POLL_SECONDS):
                stop.set()
                return

    poller = threading.Thread(target=poll, name="qaagent-stop-poll", daemon=True)
    poller.start()
    try:
        yield
    finally:
        done.set()
        poller.join()


@contextlib.contextmanager
def pool_place(pool: distributed.Semaphore | None, stop: threading.Event) -> Iterator[bool]:
    """A place in the task's pool for as long as the task runs; False when stopped waiting."""
    if pool is None:
        yield True
        return
    while not stop.is_set():
        if pool.acquire(timeout=POLL_SECONDS):
            try:
                yield True
            finally:
                pool.release()
            return
    yield False


class NotStarted(Exception):
    """The task was stopped before a worker began it."""


@dataclass
class _Followed:
    """A submitted task as this process follows it: its handle and the workers it ran on."""

    handle: TaskHandle
    on_event: Callable[[Event], None]
    priority: int
    stop_name: str
    workers: list[str] = field(default_factory=list)
    started: bool = False
    returned: threading.Event = field(default_factory=threading.Event)


class DaskBackend:
    """Runs each task on the cluster, followed by a thread here that holds the app around it."""

    def __init__(self, client: distributed.Client, workload: Workload) -> None:
        self._client = client
        self._workload = workload
        self._run = uuid.uuid4().hex[:12]
        self._topic = f"qaagent-events-{self._run}"
        self._lock = threading.Lock()
        self._followed: dict[str, _Followed] = {}
        self._threads: list[threading.Thread] = []
        self._slots: dict[str, int] = {}
        self._accepting = True
        client.subscribe_topic(self._topic, self._on_message)

    def submit(self, task: Task, *, priority: int, on_event: Callable[[Event], None]) -> TaskHandle:
        """Follow the task on a thread of its own, which sends it to the cluster."""
        handle = TaskHandle(task, Future(), threading.Event())
        with self._lock:
            if not self._accepting:
                handle.cancel()
                return handle
            stop_name = f"qaagent-{self._run}-stop-{len(self._followed)}"
            followed = _Followed(handle, on_event, priority, stop_name)
            self._followed[task.name] = followed
        thread = threading.Thread(target=self._follow, args=(followed,), daemon=True)
        self._threads.append(thread)
        thread.start()
        return handle

    def cancel_pending(self) -> None:
        """Accept no more tasks and stop those no worker began; running ones keep their flag."""
        with self._lock:
            self._accepting = False
            waiting = [item.handle for item in self._followed.values() if not item.started]
        for handle in waiting:
            handle.cancel()

    def close(self) -> None:
        """Wait for every followed task, then stop listening to the cluster."""
        self.cancel_pending()
        for thread in self._threads:
            thread.join()
        self._client.unsubscribe_topic(self._topic)

    def _follow(self, followed: _Followed) -> None:
        """Run the task remotely inside the app's hold; a result or a cancel ends its future."""
        handle = followed.handle
        started_at = datetime.now(UTC)
        try:
            result = self._workload.hold_app(
                handle.task, handle.stop, lambda: self._remote_result(followed)
            )
        except NotStarted:
            self._not_started(handle)
            return
        except TaskCannotRun as error:
            if handle.stop.is_set() and not followed.started:
                self._not_started(handle)
                return
            result = error_result(handle.task, str(error), started_at, None)
        except Exception as error:
            result = crash_result(handle.task, error, started_at, None)
        self._finish(followed, result)

    def _remote_result(self, followed: _Followed) -> TaskResult:
        """Submit the task and wait for it, passing a stop on to its worker."""
        task = followed.handle.task
        stop = distributed.Event(followed.stop_name, client=self._client)
        remote = RemoteTask(
            task,
            self._workload.settings,
            self._workload.runner_for,
            self._topic,
            followed.stop_name,
            self._pool_of(task),
        )
        future = self._client.submit(
            run_on_worker,
            remote,
            priority=followed.priority,
            resources=task.resources or None,
            pure=False,
            key=followed.stop_name,
        )
        outcome = self._await(future, followed, stop)
        if outcome is None:
            raise NotStarted
        followed.returned.wait(DRAIN_SECONDS)
        return with_rerun_reason(outcome, followed.workers)

    def _pool_of(self, task: Task) -> tuple[int, str] | None:
        """The cluster-wide semaphore of the task's pool: its max leases and its name."""
        if task.pool is None or task.pool not in self._workload.pools:
            return None
        return self._workload.pools[task.pool], f"qaagent-{self._run}-pool-{task.pool}"

    def _await(
        self,
        future: distributed.Future[TaskResult | None],
        followed: _Followed,
        stop: distributed.Event,
    ) -> TaskResult | None:
        """The worker's answer; a stop asked for here is set on the cluster for the task to see."""
        stop_sent = False
        while True:
            if followed.handle.stop.is_set() and not stop_sent:
                stop.set()
                stop_sent = True
            try:
                outcome: TaskResult | None = future.result(timeout=POLL_SECONDS)
            except TimeoutError:
                continue
            except distributed.KilledWorker as error:
                return killed_result(followed.handle.task, followed.workers, error)
            return outcome

    def _on_message(self, event: tuple[float, dict[str, Any]]) -> None:
        """An event a worker logged for one of this run's tasks, passed on as if it ran here."""
        message = event[1]
        followed = self._followed.get(message["task"])
        if followed is None:
            return
        kind, task = message["kind"], message["task"]
        slot = self._slots.setdefault(message["worker"], len(self._slots))
        if kind == RETURNED:
            followed.returned.set()
        elif kind == EventKind.started:
            followed.workers.append(message["worker"])
            if self._mark_started(followed):
                followed.on_event(Event(EventKind.started, task, slot))
        elif kind == EventKind.output:
            followed.on_event(Event(EventKind.output, task, slot, line=message["line"]))
        elif kind == EventKind.test:
            test = LiveTest.model_validate(message["test"])
            followed.on_event(Event(EventKind.test, task, slot, test=test))

    def _mark_started(self, followed: _Followed) -> bool:
        """The task runs: its future can no longer be cancelled; False if it already was."""
        with self._lock:
            if followed.started:
                return True
            followed.started = True
            return followed.handle.future.set_running_or_notify_cancel()

    def _not_started(self, handle: TaskHandle) -> None:
        """A task stopped before it began is not-run, like a queued one here."""
        if not handle.future.cancel() and not handle.future.done():
            handle.future.set_result(bare_result(handle.task, TaskOutcome.not_run, "not started"))

    def _finish(self, followed: _Followed, result: TaskResult) -> None:
        """Hand the result to the run, on the worker slot where the task ran last."""
        handle = followed.handle
        if not self._mark_started(followed) or handle.future.done():
            return
        worker = self._slots.get(followed.workers[-1]) if followed.workers else None
        result = result.model_copy(update={"worker": worker})
        followed.on_event(Event(EventKind.finished, handle.task.name, worker, result=result))
        handle.future.set_result(result)


def with_rerun_reason(result: TaskResult, workers: Sequence[str]) -> TaskResult:
    """A task Dask reran because its worker died says so in its first attempt."""
    if len(workers) < 2 or not result.attempts:
        return result
    reason = f"rerun on {workers[-1]}: the worker {', '.join(workers[:-1])} running it died"
    first = result.attempts[0].model_copy(update={"reason": reason})
    return result.model_copy(update={"attempts": [first, *result.attempts[1:]]})


def killed_result(
    task: Task, workers: Sequence[str], error: distributed.KilledWorker
) -> TaskResult:
    """A task during which every worker that ran it died: an infrastructure error naming them."""
    names = ", ".join(workers) or error.last_worker.address
    return error_result(
        task,
        f"the workers running this task died, {error.allowed_failures + 1} times: {names}",
        datetime.now(UTC),
        None,
    )


@contextlib.contextmanager
def dask_cluster(
    settings: BackendSettings, shared: Sequence[Path], resources: Mapping[str, float]
) -> Iterator[BackendFactory]:
    """A client of the chosen cluster, its workers checked to share `shared` and watched.

    A `dask-local` cluster's workers each have `resources`, what the most demanding task asks.
    """
    with scheduler_address(settings, resources) as address, connected(address) as client:
        plugin = WatchdogPlugin(deaf_to_interrupts=settings.kind == "dask-local")
        client.register_plugin(plugin, name=WATCHDOG_PLUGIN)
        check_workers(client, shared)

        def factory(workload: Workload) -> Backend:
            return DaskBackend(client, workload)

        yield factory


@contextlib.contextmanager
def scheduler_address(settings: BackendSettings, resources: Mapping[str, float]) -> Iterator[str]:
    """The scheduler of `--backend dask`, or of a cluster started here for `dask-local`."""
    if settings.kind != "dask-local":
        assert settings.scheduler is not None
        yield settings.scheduler
        return
    try:
        with interrupts_ignored():
            cluster = distributed.LocalCluster(
                n_workers=settings.workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
                resources=dict(resources),
            )
    except (OSError, RuntimeError) as error:
        raise InfrastructureError(f"A local Dask cluster could not be started: {error}.") from None
    with cluster:
        yield cluster.scheduler_address


@contextlib.contextmanager
def interrupts_ignored() -> Iterator[None]:
    """Ctrl-C ignored while worker processes start, so that they begin deaf to it."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def connected(address: str) -> Iterator[distributed.Client]:
    """A client of the scheduler, once at least one worker is there."""
    try:
        client = distributed.Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except OSError as error:
        raise InfrastructureError(
            f"The Dask scheduler at {address} cannot be reached: {error}."
        ) from None
    with client:
        try:
            client.wait_for_workers(1, timeout=CONNECT_SECONDS)
        except TimeoutError:
            raise InfrastructureError(
                f"The Dask scheduler at {address} has no worker after {CONNECT_SECONDS:g} s."
            ) from None
        yield client


def check_workers(client: distributed.Client, shared: Sequence[Path]) -> None:
    """Every worker must find the repository and the runs folder at the same paths as here."""
    paths = [str(path) for path in shared]
    missing: dict[str, list[str]] = client.run(missing_paths, paths)
    problems = [
        f"{worker} cannot see {', '.join(gone)}" for worker, gone in missing.items() if gone
    ]
    if problems:
        raise UsageError(
            "Every Dask worker must see the repository and the runs folder at the same paths "
            f"as qaagent, writable: {'; '.join(sorted(problems))}."
        )


def missing_paths(paths: list[str]) -> list[str]:
    """Which of the paths this worker cannot see as a folder it can write to."""
    return [path for path in paths if not (Path(path).is_dir() and os.access(path, os.W_OK))]
