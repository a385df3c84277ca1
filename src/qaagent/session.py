"""The pipeline of a run: plan, execute, write the evidence, remember; no printing, signals or exit.

Callers (the CLI, a service) turn their options into a `RunRequest`, subscribe to the events,
show progress as they like and decide how to leave; `Session.cancel` is how they stop a run.
"""

from __future__ import annotations

import enum
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from qaagent.config.loader import LoadedProfile
    from qaagent.evidence.models import Manifest
    from qaagent.evidence.salvage import WrittenEvidence
    from qaagent.evidence.writer import ReportWriter, RunFacts, RunInfo
    from qaagent.execute.backend import BackendFactory
    from qaagent.execute.events import EventPublisher, Subscriber
    from qaagent.execute.orchestrator import (
        Execution,
        ExecutionOptions,
        RunOrchestrator,
        RunWatcher,
    )
    from qaagent.model.events import EventBase
    from qaagent.model.results import TaskResult
    from qaagent.model.task import Task
    from qaagent.plan.build import Plan
    from qaagent.plan.order import Order
    from qaagent.plan.parts import PartRequest
    from qaagent.processes.watchdog import ProcessGuard
    from qaagent.secrets import SecretValues
    from qaagent.tools.base import Runner


Notify = Callable[[str], None]


class Progress(Protocol):
    """What shows the run while it executes: a subscriber of its events, open meanwhile.

    It gets every event from `planned` on; `tick` lets it redraw what changes with time alone.
    """

    def __enter__(self) -> object: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def __call__(self, event: EventBase) -> None: ...

    def tick(self) -> None: ...


class QuietProgress:
    """Shows nothing; for callers that follow the run by its events alone."""

    def __enter__(self) -> QuietProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Nothing to close."""

    def __call__(self, event: EventBase) -> None:
        """Ignore the event."""

    def tick(self) -> None:
        """Nothing to refresh."""


ProgressFactory = Callable[["SecretValues"], Progress]


def quiet_progress(secrets: SecretValues) -> Progress:
    """No progress display."""
    return QuietProgress()


def ignore(line: str) -> None:
    """Drop a notice."""


@dataclass(frozen=True)
class RunRequest:
    """Everything a run needs, decided before it starts."""

    loaded: LoadedProfile
    tasks: list[Task]
    cwd: Path
    argv: list[str] = field(default_factory=list)
    environment: str | None = None
    run_timeout: float | None = None
    chromium: str | None = None
    formats: list[str] = field(default_factory=list)
    order: Order | None = None
    report_stdout: TextIO | None = None
    part: PartRequest | None = None
    use_cache: bool = True


@dataclass(frozen=True)
class RunOutcome:
    """A finished run: its folder, its manifest (on disk unless `stored` is false), its results."""

    run_dir: Path
    manifest: Manifest
    execution: Execution
    stored: bool = True

    @property
    def exit_code(self) -> int:
        """The exit code the manifest records."""
        return self.manifest.exit_code or 0


class Phase(enum.Enum):
    """Where a session is: what a cancel can still change."""

    planning = "planning"
    executing = "executing"
    writing = "writing"
    done = "done"


@dataclass(frozen=True)
class RunPlan:
    """The plan of a run, with where the run lives and what it masks."""

    run_id: str
    run_dir: Path
    plan: Plan
    secrets: SecretValues


class Session:
    """One run of a request; `cancel` stops it from a signal handler or another thread.

    Every command and app of the run is registered with `guard`, whose watchdog ends them
    should this process die; without one the session starts its own at the first command.
    """

    def __init__(
        self,
        request: RunRequest,
        sink: Subscriber | None = None,
        *,
        progress: ProgressFactory = quiet_progress,
        notify: Notify = ignore,
        runner_for: Callable[[str], Runner] | None = None,
        backend: BackendFactory | None = None,
        guard: ProcessGuard | None = None,
    ) -> None:
        from qaagent.processes.watchdog import ProcessGuard

        self.request = request
        self.guard = guard if guard is not None else ProcessGuard()
        self.sink = sink
        self.progress = progress
        self.notify = notify
        self.runner_for = runner_for
        self.backend = backend
        self.phase = Phase.planning
        self._orchestrator: RunOrchestrator | None = None
        self._cancelled = False
        self._hard = False
        self._reports_abandoned = False

    def run(self) -> RunOutcome:
        """Plan, execute, write the evidence and remember the run."""
        prepare(self.request)
        plan = plan_run(self.request, self.notify)
        progress = self.progress(plan.secrets)
        publisher = announce_plan(plan, [self.sink, progress])
        cached = results_from_cache(plan.plan)
        announce_cached(publisher, cached)
        preparation = PostPhasePreparation(self.request.loaded.root, self.request.formats)
        execution = self.execute(plan, publisher, progress, preparation, cached)
        self.phase = Phase.writing
        written = self.write_evidence(plan, execution, preparation)
        self.phase = Phase.done
        if written.stored:
            remember(self.request.loaded.runs_dir, plan.run_dir, self.notify)
            remember_passing(self.request.loaded.runs_dir, plan.run_id, execution, self.notify)
        publish_end(publisher, plan.run_dir, written, self.request.formats, execution)
        return RunOutcome(plan.run_dir, written.manifest, execution, written.stored)

    def cancel(self, hard: bool = False) -> None:
        """Stop the run: gracefully, or (hard) at once, killing every process it started.

        Safe in a signal handler or from another thread: it sets flags and, when hard, signals
        process trees, and never raises into the code the main thread runs. A hard stop while
        the evidence is written leaves out the reports still to come; once the manifest is
        written, nothing more changes.
        """
        if self.phase is Phase.done:
            return
        self._cancelled = True
        self._hard = self._hard or hard
        self._reports_abandoned = self._hard and self.phase is Phase.writing
        if self._orchestrator is not None:
            self._orchestrator.request_interrupt(hard=hard)

    def execute(
        self,
        plan: RunPlan,
        publisher: EventPublisher,
        progress: Progress,
        preparation: PostPhasePreparation,
        cached: Sequence[TaskResult] = (),
    ) -> Execution:
        """Run the tasks with the progress open; split suites come back as one result each.

        The cached results join the others in the profile's order; each result of a cached
        suite carries its key, so the manifest says why it ran.
        """
        from qaagent.evidence.merge import merge_shards
        from qaagent.evidence.redact import mask_results
        from qaagent.execute.events import PublishingWatcher

        first_wave = min(plan.plan.workers, len(plan.plan.tasks))
        publisher.subscribe(StartAfterFirstWave(preparation, first_wave))
        orchestrator = self.orchestrator(plan, PublishingWatcher(publisher, progress.tick))
        self._orchestrator = orchestrator
        self.phase = Phase.executing
        if self._cancelled:
            orchestrator.request_interrupt(hard=self._hard)
        with progress:
            execution = orchestrator.run(plan.plan.tasks, plan.plan.priorities)
        merged = merge_shards(plan.plan.in_plan_order(execution.results), plan.plan.shard_of)
        keyed = with_cache_keys(merged, plan.plan)
        execution.results = plan.plan.in_plan_order([*mask_results(keyed, plan.secrets), *cached])
        return execution

    def orchestrator(self, plan: RunPlan, watcher: RunWatcher) -> RunOrchestrator:
        """The engine for the plan, with the app and the run's settings."""
        from qaagent.execute.app import make_app
        from qaagent.execute.backend import local_backend
        from qaagent.execute.orchestrator import RunOrchestrator
        from qaagent.tools.registry import runner_for

        request = self.request
        return RunOrchestrator(
            self.runner_for or runner_for,
            execution_options(request, plan),
            app=make_app(
                request.loaded,
                request.environment,
                list(plan.plan.runnable),
                plan.run_dir,
                self.guard,
            ),
            watcher=watcher,
            backend_factory=self.backend or local_backend,
            guard=self.guard,
        )

    def write_evidence(
        self, plan: RunPlan, execution: Execution, preparation: PostPhasePreparation
    ) -> WrittenEvidence:
        """Write the evidence once every task returned; the manifest is the last file written.

        Secret values are masked in the files the tools left, and in what the run knew of
        itself. A hard stop meanwhile leaves out the reports, and later stops are ignored.
        """
        from qaagent.evidence.models import ARTIFACTS_DIR
        from qaagent.evidence.redact import scrub_text_files
        from qaagent.evidence.salvage import WrittenEvidence, write_what_fits
        from qaagent.evidence.writer import write_evidence

        info = run_info(self.request, plan, execution, preparation.result())
        writers = report_writers(self.request, lambda: self._reports_abandoned)
        results = execution.results
        try:
            scrub_text_files(plan.run_dir / ARTIFACTS_DIR, plan.secrets)
            return WrittenEvidence(
                write_evidence(plan.run_dir, info, results, report_writers=writers)
            )
        except OSError as error:
            return write_what_fits(plan.run_dir, info, results, error, self.notify)


def run(
    request: RunRequest,
    sink: Subscriber | None = None,
    *,
    progress: ProgressFactory = quiet_progress,
    notify: Notify = ignore,
    runner_for: Callable[[str], Runner] | None = None,
    backend: BackendFactory | None = None,
) -> RunOutcome:
    """Run the request to its end, with no way to cancel it."""
    session = Session(
        request, sink, progress=progress, notify=notify, runner_for=runner_for, backend=backend
    )
    return session.run()


def prepare(request: RunRequest) -> None:
    """The runs folder exists and is usable."""
    from qaagent.evidence.rundir import prepare_runs_dir

    prepare_runs_dir(request.loaded.runs_dir)


def plan_run(request: RunRequest, notify: Notify) -> RunPlan:
    """The plan of the request, its run folder, and the values it masks."""
    from qaagent.evidence.rundir import create_run_dir
    from qaagent.execute.app import app_env
    from qaagent.plan.build import build_plan
    from qaagent.plan.cache import KeyMaker

    loaded = request.loaded
    env = app_env(loaded, request.environment)
    plan = build_plan(
        request.tasks,
        loaded.profile.run,
        loaded.runs_dir,
        env=env,
        order=request.order,
        part=request.part,
        keys=KeyMaker(env, loaded.profile.secrets),
        serve_cached=request.use_cache,
    )
    for note in plan.notes:
        notify(f"note: {note}")
    run_id, run_dir = create_run_dir(loaded.runs_dir)
    secrets = run_secrets(loaded, list(plan.runnable), request.environment)
    return RunPlan(run_id, run_dir, plan, secrets)


def execution_options(request: RunRequest, plan: RunPlan) -> ExecutionOptions:
    """How the engine runs the plan's tasks."""
    from qaagent.execute.app import app_env
    from qaagent.execute.orchestrator import ExecutionOptions

    settings = request.loaded.profile.run
    return ExecutionOptions(
        artifacts_dir=plan.run_dir / "artifacts",
        workers=plan.plan.workers,
        pools=settings.pools,
        fail_fast=settings.fail_fast,
        max_failures=settings.max_failures,
        run_timeout=request.run_timeout,
        env=app_env(request.loaded, request.environment),
        chromium=request.chromium,
        secrets=plan.secrets,
    )


def announce_plan(plan: RunPlan, subscribers: Sequence[Subscriber | None]) -> EventPublisher:
    """The run's publisher, with the subscribers given, once it has published `planned`.

    `planned` lists the tasks in start order with their expected seconds.
    """
    from qaagent.execute.events import EventPublisher
    from qaagent.model.events import Planned

    publisher = EventPublisher(plan.run_id, plan.secrets)
    for subscriber in subscribers:
        if subscriber is not None:
            publisher.subscribe(subscriber)
    tasks = [
        {
            "name": task.name,
            "suite": task.suite,
            "kind": str(task.kind),
            "pool": task.pool,
            "expected_seconds": plan.plan.expected.get(task.name),
            "expected_tests": plan.plan.expected_tests.get(task.name),
        }
        for task in plan.plan.tasks
    ]
    publisher.publish(Planned, workers=plan.plan.workers, tasks=tasks)
    return publisher


def results_from_cache(plan: Plan) -> list[TaskResult]:
    """The results of the tasks an earlier passing run stands for, read from that run."""
    from qaagent.evidence.cached import cached_result

    return [cached_result(hit, task.suite, task.kind) for task, hit in plan.cached]


def announce_cached(publisher: EventPublisher, results: Sequence[TaskResult]) -> None:
    """`task-finished` with outcome `cached` for each task that will not run."""
    from qaagent.execute.events import finished_fields
    from qaagent.model.events import TaskFinished

    for result in results:
        publisher.publish(TaskFinished, **finished_fields(result))


def with_cache_keys(results: Sequence[TaskResult], plan: Plan) -> list[TaskResult]:
    """Each result of a task with caching on, with its key and what the key was made of."""
    keys = plan.cache_keys
    return [
        result.model_copy(
            update={"cache_key": keys[result.task].digest, "cache_inputs": keys[result.task].inputs}
        )
        if result.task in keys
        else result
        for result in results
    ]


def remember_passing(runs_dir: Path, run_id: str, execution: Execution, notify: Notify) -> None:
    """Store the keys of the tasks that passed cleanly; a cache that fails is a warning."""
    from qaagent.evidence.cached import store_passing

    try:
        store_passing(runs_dir, run_id, execution.results)
    except OSError as error:
        notify(warning(f"the results were not added to the cache: {error}"))


def publish_end(
    publisher: EventPublisher,
    run_dir: Path,
    written: WrittenEvidence,
    formats: list[str],
    execution: Execution,
) -> None:
    """`report-written` for each report the manifest indexes, `evidence-written`, `run-finished`.

    Announced once the manifest is on disk, so that a report removed by a failed write (a full
    disk) is never announced.
    """
    from qaagent.evidence.models import REPORTS_DIR
    from qaagent.model.events import EvidenceWritten, ReportWritten, RunFinished
    from qaagent.reporting import FILE_NAMES

    indexed = {entry.path for entry in written.manifest.files}
    for fmt in formats:
        path = f"{REPORTS_DIR}/{FILE_NAMES[fmt]}"
        if path in indexed:
            publisher.publish(ReportWritten, format=fmt, path=path)
    publisher.publish(EvidenceWritten, run_dir=str(run_dir), stored=written.stored)
    manifest = written.manifest
    publisher.publish(
        RunFinished,
        exit_code=manifest.exit_code or 0,
        status=str(manifest.status),
        stop_reason=str(execution.stop_reason) if execution.stop_reason else None,
        wall_time=round(manifest.wall_time, 3),
    )


def warning(message: str) -> str:
    """A notice that does not change the exit code."""
    return f"qaagent: warning: {message}"


def remember(runs_dir: Path, run_dir: Path, notify: Notify) -> None:
    """Point `latest` at the run and record it in the history; failures there are warnings.

    A history that fails now must not change a finished run.
    """
    from qaagent.errors import QAAgentError
    from qaagent.evidence.history import record_run
    from qaagent.evidence.rundir import point_latest

    try:
        point_latest(runs_dir, run_dir)
    except OSError as error:
        notify(
            warning(
                f"{runs_dir / 'latest'} was not pointed at this run ({error.strerror or error})."
            )
        )
    try:
        record_run(runs_dir, run_dir)
    except QAAgentError as error:
        notify(warning(f"the run was not added to the history: {error.message}"))
    except OSError as error:
        notify(warning(f"the run was not added to the history: {error}"))


def run_info(request: RunRequest, plan: RunPlan, execution: Execution, facts: RunFacts) -> RunInfo:
    """What the manifest says of the run itself, secret values masked."""
    from qaagent.evidence.writer import RunInfo

    loaded = request.loaded
    secrets = plan.secrets
    settings = run_settings(
        loaded, request.tasks, plan.plan.workers, request.environment, execution
    )
    return RunInfo(
        run_id=plan.run_id,
        status=execution.status,
        exit_code=int(execution.exit_code),
        started_at=execution.started_at,
        finished_at=execution.finished_at,
        argv=[secrets.mask(argument) for argument in request.argv],
        cwd=request.cwd,
        profile_path=loaded.path,
        profile_sha256=loaded.checksum,
        project=loaded.profile.project.name,
        settings={key: secrets.mask_data(value) for key, value in settings.items()},
        facts=facts,
        part=plan.plan.part,
    )


def run_secrets(loaded: LoadedProfile, tasks: list[Task], environment: str | None) -> SecretValues:
    """Values to mask: secret-looking or listed variables of qaagent's and the tasks' environment."""
    from qaagent.execute.app import app_env
    from qaagent.secrets import SecretValues

    return SecretValues.from_environments(
        [os.environ, app_env(loaded, environment), *(task.env for task in tasks)],
        loaded.profile.secrets,
    )


class PostPhasePreparation:
    """Imports the post-phase and gathers git and tool facts on a spare thread, once started.

    Started after the first tasks are running, so that it does not slow their start.
    """

    def __init__(self, root: Path, formats: list[str]) -> None:
        from concurrent.futures import Future

        self.root = root
        self.formats = formats
        self.facts: Future[RunFacts] = Future()
        self._started = False

    def start(self) -> None:
        """Begin on a daemon thread; later calls do nothing."""
        if not self._started:
            self._started = True
            threading.Thread(target=self._prepare, name="qaagent-prepare", daemon=True).start()

    def result(self) -> RunFacts:
        """The facts, waiting for them (and starting, if nothing has yet)."""
        self.start()
        return self.facts.result()

    def _prepare(self) -> None:
        from qaagent.evidence.writer import collect_facts
        from qaagent.reporting import preload

        try:
            preload(self.formats)
            self.facts.set_result(collect_facts(self.root))
        except BaseException as error:
            self.facts.set_exception(error)


class StartAfterFirstWave:
    """Starts the preparation once every worker is busy: a subscriber counting task starts."""

    def __init__(self, preparation: PostPhasePreparation, wave: int) -> None:
        self.preparation = preparation
        self.waiting = wave

    def __call__(self, event: EventBase) -> None:
        """Count task starts; the wave's last starts the preparation."""
        from qaagent.model.events import TaskStarted

        if isinstance(event, TaskStarted):
            self.waiting -= 1
            if self.waiting <= 0:
                self.preparation.start()


def report_writers(request: RunRequest, abandoned: Callable[[], bool]) -> list[ReportWriter]:
    """Reports written into the run before the manifest indexes it, unless they were abandoned.

    GitHub annotations go to the request's `report_stdout`, so that a caller printing JSON on
    stdout can send them elsewhere.
    """
    from qaagent.reporting import write_reports

    formats = request.formats
    if not formats:
        return []
    folders = {task.name: task.cwd for task in request.tasks}

    def write(run_dir: Path, manifest: Manifest) -> None:
        if abandoned():
            return
        write_reports(
            run_dir, formats, manifest=manifest, stdout=request.report_stdout, folders=folders
        )

    return [write]


def run_settings(
    loaded: LoadedProfile,
    tasks: list[Task],
    workers: int,
    environment: str | None,
    execution: Execution,
) -> dict[str, object]:
    """The effective settings recorded in the manifest (secret-looking values are masked there)."""
    return {
        **loaded.profile.run.model_dump(mode="json"),
        "sources": loaded.sources,
        "workers": workers,
        "environment": environment,
        "stop_reason": str(execution.stop_reason) if execution.stop_reason else None,
        "tasks": {
            task.name: task.model_dump(
                mode="json",
                include={"kind", "env", "pool", "timeout", "retry_count", "needs_app", "cli_args"},
            )
            for task in tasks
        },
    }
