"""`qaagent run-all`: run every selected suite, then write the evidence bundle."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, NoReturn, TextIO

import typer

from qaagent.commands import ConfigOption, SkipOption, SuiteOption, setup_logging

if TYPE_CHECKING:
    from qaagent.config.loader import LoadedProfile
    from qaagent.config.models import RunSettings
    from qaagent.evidence.models import Manifest
    from qaagent.evidence.writer import ReportWriter, RunFacts, RunInfo
    from qaagent.execute.app import AppLifecycle
    from qaagent.execute.backend import Event
    from qaagent.execute.events import EventPublisher
    from qaagent.execute.orchestrator import Execution, RunWatcher
    from qaagent.execute.scheduler import Order
    from qaagent.model.results import TaskResult
    from qaagent.model.task import Task
    from qaagent.secrets import SecretValues

DEFAULT_CHROMIUM = Path("/usr/bin/chromium")
APP_LOG_FOLDER = "_app"


def run_all(
    ctx: typer.Context,
    config: ConfigOption = None,
    parallel: Annotated[
        bool | None,
        typer.Option("--parallel/--no-parallel", help="Run tasks at the same time (run.parallel)."),
    ] = None,
    max_workers: Annotated[
        int | None,
        typer.Option(
            "--max-workers",
            metavar="N",
            min=1,
            help="Tasks at once when parallel (default: run.max_workers, else the number of tasks).",
        ),
    ] = None,
    suite: SuiteOption = None,
    skip: SkipOption = None,
    fail_fast: Annotated[
        bool | None,
        typer.Option(
            "--fail-fast/--no-fail-fast",
            help="After the first failing task, start nothing more and stop running tasks.",
        ),
    ] = None,
    max_failures: Annotated[
        int | None,
        typer.Option(
            "--max-failures",
            metavar="N",
            min=1,
            help="Once N tests failed across the run, start nothing more and stop running tasks "
            "(run.max_failures).",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            min=0.001,
            help="Seconds per task before it is killed (run.timeout; a suite's own timeout wins).",
        ),
    ] = None,
    run_timeout: Annotated[
        float | None,
        typer.Option(
            "--run-timeout",
            metavar="SECONDS",
            min=0.001,
            help="Seconds for the whole run. When reached, running tasks are stopped and reported "
            "timed-out, queued ones not-run, the evidence is still written, and the exit code is 3.",
        ),
    ] = None,
    retries: Annotated[
        int | None,
        typer.Option(
            "--retries", metavar="N", min=0, help="Reruns of failed tests (run.retry_count)."
        ),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            metavar="NAME",
            help="App environment to use (default: 'local' if defined, else the first one).",
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print reports/summary.json's content on stdout (built from the run folder when "
            "--report leaves out json); progress on stderr.",
        ),
    ] = False,
    events: Annotated[
        str | None,
        typer.Option(
            "--events",
            metavar="jsonl[=PATH]",
            help="Stream the run's events, one JSON object per line: 'jsonl' on stdout (progress "
            "and summary on stderr), 'jsonl=PATH' appended to the file PATH. See `qaagent schema "
            "--events`.",
        ),
    ] = None,
    report: Annotated[
        str,
        typer.Option(
            "--report",
            metavar="FORMATS",
            help="Reports written into the run directory: a comma list of junit, json, md, html; "
            "'all' or 'none'.",
        ),
    ] = "all",
    last_failed: Annotated[
        bool,
        typer.Option(
            "--last-failed",
            help="Run only the tasks, and within them only the tests, that failed in the latest "
            "run (everything when nothing failed).",
        ),
    ] = False,
    order: Annotated[
        str | None,
        typer.Option(
            "--order",
            metavar="profile|duration",
            help="Start order: 'profile' (run.suite_order exactly, then priority) or 'duration' "
            "(priority, then longest first by earlier runs, then suite_order). Default: duration "
            "once a run was recorded, else profile.",
        ),
    ] = None,
    chromium: Annotated[
        str | None,
        typer.Option(
            "--chromium",
            metavar="PATH",
            help="Chromium for browser suites (default: $QAAGENT_CHROMIUM, else /usr/bin/chromium "
            "or chromium on PATH).",
        ),
    ] = None,
) -> None:
    """Run every selected suite, then write the evidence bundle.

    Arguments after `--` are appended to every selected suite's tool command, retries included.
    Exit codes: 0 all passed, 1 tests failed, 2 configuration or usage error, 3 infrastructure
    error (a task crashed, timed out or produced no results, or --run-timeout was reached),
    130 interrupted. When several apply, the highest wins in the order 130, 3, 1, 0.
    Ctrl-C (or SIGTERM, or SIGHUP from a closed terminal) stops the run and still writes the
    evidence; a second Ctrl-C kills at once.
    """
    setup_logging()
    from qaagent.config.loader import load_profile
    from qaagent.execute.orchestrator import plan_tasks
    from qaagent.plan import build_tasks
    from qaagent.reporting import parse_formats

    formats = [] if report.strip().lower() == "none" else parse_formats(report)
    requested_order = parse_order(order)

    loaded = load_profile(
        config,
        cli_overrides={
            "parallel": parallel,
            "max_workers": max_workers,
            "fail_fast": fail_fast,
            "max_failures": max_failures,
            "timeout": timeout,
            "retry_count": retries,
        },
    )
    tasks = with_cli_args(plan_tasks(build_tasks(loaded.suites), suite or [], skip or []), ctx.args)
    if last_failed:
        tasks = only_last_failed(tasks, loaded.runs_dir)
    environment = choose_environment(loaded, env)
    with open_event_lines(events, json_output) as event_lines:
        exit_code = execute_run(
            loaded,
            tasks,
            environment=environment,
            run_timeout=run_timeout,
            chromium=find_chromium(chromium, os.environ),
            json_output=json_output,
            formats=formats,
            order=requested_order,
            events=event_lines,
        )
    leave(exit_code)


@dataclass(frozen=True)
class EventLines:
    """Where `--events jsonl[=PATH]` writes: stdout, or a file it appends to."""

    stream: TextIO
    on_stdout: bool


@contextlib.contextmanager
def open_event_lines(option: str | None, json_output: bool) -> Iterator[EventLines | None]:
    """The stream of --events while the run lasts.

    A malformed value, one that competes with --json for stdout, or a file that cannot be
    opened is a usage error.
    """
    from qaagent.errors import UsageError

    if option is None:
        yield None
        return
    name, separator, path = option.partition("=")
    if name.strip().lower() != "jsonl" or (separator and not path):
        raise UsageError(f"--events {option!r}: use jsonl (on stdout) or jsonl=PATH (a file).")
    if not path:
        if json_output:
            raise UsageError(
                "--events jsonl and --json both want stdout: give the events a file "
                "(--events jsonl=PATH) or leave out one of them."
            )
        yield EventLines(sys.stdout, on_stdout=True)
        return
    with contextlib.ExitStack() as stack:
        try:
            stream = stack.enter_context(Path(path).open("a", encoding="utf-8"))
        except OSError as error:
            raise UsageError(
                f"--events jsonl={path}: the file cannot be opened for appending "
                f"({error.strerror or error}); its folder must exist and be writable."
            ) from None
        yield EventLines(stream, on_stdout=False)


def with_cli_args(tasks: list[Task], cli_args: list[str]) -> list[Task]:
    """The tasks with the arguments given after `--`, for their tools to receive last."""
    return [task.model_copy(update={"cli_args": tuple(cli_args)}) for task in tasks]


def leave(exit_code: int) -> NoReturn:
    """Exit once the output is flushed and the watchdog is gone, skipping interpreter teardown."""
    from qaagent.processes.watchdog import GUARD

    GUARD.close()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(exit_code)


def parse_order(text: str | None) -> Order | None:
    """--order as an Order; anything else is a usage error."""
    from qaagent.errors import UsageError
    from qaagent.execute.scheduler import Order

    if text is None:
        return None
    try:
        return Order(text.strip().lower())
    except ValueError:
        raise UsageError(f"--order {text!r}: choose profile or duration.") from None


def execute_run(
    loaded: LoadedProfile,
    tasks: list[Task],
    *,
    environment: str | None,
    run_timeout: float | None,
    chromium: str | None,
    json_output: bool,
    formats: list[str],
    order: Order | None = None,
    events: EventLines | None = None,
) -> int:
    """Execute the tasks, run the post-phase, print the outcome; returns the exit code.

    Split suites run as shards and are merged back into one result before any evidence is
    written, so every report shows the suite once. Every step is published as an event, from
    `planned` to `run-finished`.
    """
    from qaagent.evidence.redact import mask_results
    from qaagent.evidence.rundir import create_run_dir, prepare_runs_dir
    from qaagent.execute.events import PublishingWatcher
    from qaagent.execute.orchestrator import (
        ExecutionOptions,
        RunOrchestrator,
        interrupts_stop,
    )
    from qaagent.execute.scheduler import order_tasks, start_order
    from qaagent.history import known_task_durations
    from qaagent.plan import with_worker_slots, worker_slots
    from qaagent.processes.watchdog import GUARD
    from qaagent.reporting.progress import make_progress
    from qaagent.tools.registry import runner_for

    GUARD.start()
    launched_in = working_folder()
    prepare_runs_dir(loaded.runs_dir)
    settings = loaded.profile.run
    history = known_task_durations(loaded.runs_dir)
    runnable, shard_seconds = plan_shards(loaded, tasks, environment)
    known = {**history, **shard_seconds}
    expected = start_order(runnable, order, known).expected
    run_id, run_dir = create_run_dir(loaded.runs_dir)
    workers = min(settings.max_workers or len(runnable), len(runnable)) if settings.parallel else 1
    runnable = with_worker_slots(runnable, worker_slots(worker_budget(settings), workers))
    app = make_app(loaded, environment, runnable, run_dir)
    secrets = run_secrets(loaded, runnable, environment)
    options = ExecutionOptions(
        artifacts_dir=run_dir / "artifacts",
        workers=workers,
        pools=settings.pools,
        fail_fast=settings.fail_fast,
        max_failures=settings.max_failures,
        run_timeout=run_timeout,
        env=app_env(loaded, environment),
        chromium=chromium,
        secrets=secrets,
    )
    stdout_taken = json_output or (events is not None and events.on_stdout)
    stream = sys.stderr if stdout_taken else sys.stdout
    planned = order_tasks(runnable, settings.suite_order, expected)
    publisher = announce_plan(run_id, secrets, events, planned, workers, known)
    progress = make_progress(stream, planned, os.environ, known, secrets)
    preparation = PostPhasePreparation(loaded.root, formats)
    orchestrator = RunOrchestrator(
        runner_for,
        options,
        app=app,
        watcher=PublishingWatcher(StartAfterFirstWave(progress, preparation, workers), publisher),
    )
    with interrupts_stop(orchestrator):
        with progress:
            execution = orchestrator.run(runnable, settings.suite_order, expected)
        execution.results = mask_results(merged_shards(runnable, execution.results), secrets)
        writers = report_writers(formats, stdout_taken, {task.name: task.cwd for task in tasks})
        written = post_phase(
            RunPlace(run_id, run_dir, launched_in),
            loaded,
            tasks,
            execution,
            workers,
            environment,
            writers,
            preparation,
            secrets,
        )
        late_signals = hold_stop_signals()
    if written.stored:
        point_to_latest(loaded.runs_dir, run_dir)
        remember(loaded.runs_dir, run_dir)
    manifest = written.manifest
    try:
        show_outcome(stream, json_output, manifest, execution, run_dir)
    except (OSError, ValueError) as error:
        warn(f"the summary could not be printed ({error}).")
    if late_signals:
        warn(
            f"{signal.Signals(late_signals[0]).name} arrived after the evidence was written; "
            f"the run finished its bookkeeping and keeps exit code {manifest.exit_code or 0}."
        )
    publish_end(publisher, run_dir, written, formats, execution)
    return manifest.exit_code or 0


def announce_plan(
    run_id: str,
    secrets: SecretValues,
    events: EventLines | None,
    planned: list[Task],
    workers: int,
    known: Mapping[str, float],
) -> EventPublisher:
    """The run's publisher, with the --events lines subscribed, once it has published `planned`.

    `planned` lists the tasks in start order with their expected seconds.
    """
    from qaagent.execute.events import EventPublisher, JsonLines
    from qaagent.model.events import Planned

    publisher = EventPublisher(run_id, secrets)
    if events is not None:
        publisher.subscribe(JsonLines(events.stream))
    tasks = [
        {
            "name": task.name,
            "suite": task.suite,
            "kind": str(task.kind),
            "pool": task.pool,
            "expected_seconds": known.get(task.name),
        }
        for task in planned
    ]
    publisher.publish(Planned, workers=workers, tasks=tasks)
    return publisher


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


def warn(message: str) -> None:
    """One line on stderr that does not change the exit code."""
    with contextlib.suppress(OSError, ValueError):
        typer.echo(f"qaagent: warning: {message}", err=True)


def working_folder() -> Path:
    """The folder qaagent was started in, read once, before anything can delete it."""
    from qaagent.errors import UsageError

    try:
        return Path.cwd()
    except FileNotFoundError:
        raise UsageError(
            "The current folder no longer exists; change to an existing folder and run again."
        ) from None


def hold_stop_signals() -> list[int]:
    """From now until exit, stop signals are noted rather than obeyed.

    Once the manifest is written, stopping would only lose the latest link and the history
    row and leave an exit code that disagrees with the manifest.
    """
    from qaagent.execute.orchestrator import STOP_SIGNALS

    received: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, note)
    return received


def point_to_latest(runs_dir: Path, run_dir: Path) -> None:
    """Point `latest` at the run; a folder that refuses the link is a warning."""
    from qaagent.evidence.rundir import point_latest

    try:
        point_latest(runs_dir, run_dir)
    except OSError as error:
        warn(f"{runs_dir / 'latest'} was not pointed at this run ({error.strerror or error}).")


def remember(runs_dir: Path, run_dir: Path) -> None:
    """Record the run in the history; a history that fails now must not change a finished run."""
    from qaagent.errors import QAAgentError
    from qaagent.history import record_run

    try:
        record_run(runs_dir, run_dir)
    except QAAgentError as error:
        warn(f"the run was not added to the history: {error.message}")
    except OSError as error:
        warn(f"the run was not added to the history: {error}")


@dataclass(frozen=True)
class RunPlace:
    """Where the run lives: its id, its directory, and the folder qaagent was started in."""

    run_id: str
    run_dir: Path
    cwd: Path


@dataclass(frozen=True)
class WrittenEvidence:
    """The manifest of the run, and whether it is on disk."""

    manifest: Manifest
    stored: bool = True


def post_phase(
    place: RunPlace,
    loaded: LoadedProfile,
    tasks: list[Task],
    execution: Execution,
    workers: int,
    environment: str | None,
    writers: list[ReportWriter],
    preparation: PostPhasePreparation,
    secrets: SecretValues,
) -> WrittenEvidence:
    """Write the evidence once every task returned; the manifest is the last file written.

    Secret values are masked in the files the tools left, and in what the run knew of itself.
    """
    from qaagent.evidence.models import ARTIFACTS_DIR
    from qaagent.evidence.redact import scrub_text_files
    from qaagent.evidence.writer import RunInfo, write_evidence
    from qaagent.execute.orchestrator import STOP_SIGNALS, HardStop

    info = RunInfo(
        run_id=place.run_id,
        status=execution.status,
        exit_code=int(execution.exit_code),
        started_at=execution.started_at,
        finished_at=execution.finished_at,
        argv=[secrets.mask(argument) for argument in sys.argv],
        cwd=place.cwd,
        profile_path=loaded.path,
        profile_sha256=loaded.checksum,
        project=loaded.profile.project.name,
        settings={
            key: secrets.mask_data(value)
            for key, value in run_settings(loaded, tasks, workers, environment, execution).items()
        },
        facts=preparation.result(),
    )
    results = execution.results
    try:
        scrub_text_files(place.run_dir / ARTIFACTS_DIR, secrets)
        return WrittenEvidence(write_evidence(place.run_dir, info, results, report_writers=writers))
    except HardStop:
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
    except OSError as error:
        return write_what_fits(place.run_dir, info, results, error)
    try:
        return WrittenEvidence(write_evidence(place.run_dir, info, results))
    except OSError as error:
        return write_what_fits(place.run_dir, info, results, error)


def write_what_fits(
    run_dir: Path, info: RunInfo, results: list[TaskResult], error: OSError
) -> WrittenEvidence:
    """After a failed write (a full disk): an infrastructure error, with what fits, manifest last.

    The partial reports go first, then, if still nothing fits, the partial test records; a
    manifest that cannot be written either is said on the console with the counts.
    """
    from qaagent.errors import ExitCode
    from qaagent.evidence.models import DIAGNOSTICS_NAME, REPORTS_DIR, TESTS_NAME
    from qaagent.evidence.writer import build_manifest, write_evidence
    from qaagent.model.run import RunStatus

    failed = replace(info, exit_code=int(ExitCode.INFRASTRUCTURE_ERROR), status=RunStatus.error)
    typer.echo(
        f"qaagent: error: The evidence could not be written completely to {run_dir} "
        f"({error.strerror or error}); the reports are left out and the run is an "
        "infrastructure error (exit code 3). Free space there, or set run.runs_dir (or "
        "QAAGENT_RUNS_DIR) to a folder with room.",
        err=True,
    )
    for leftover in (REPORTS_DIR, TESTS_NAME, DIAGNOSTICS_NAME):
        remove_partial(run_dir / leftover)
    try:
        return WrittenEvidence(write_evidence(run_dir, failed, results))
    except OSError:
        for leftover in (TESTS_NAME, DIAGNOSTICS_NAME):
            remove_partial(run_dir / leftover)
    manifest = build_manifest(run_dir, failed, results)
    try:
        store_manifest(run_dir, manifest)
    except OSError as final:
        counts = manifest.counts
        typer.echo(
            f"qaagent: error: The manifest could not be written to {run_dir} "
            f"({final.strerror or final}). The run: {counts.passed} passed, {counts.failed} "
            f"failed, {counts.errors} errors, {counts.skipped} skipped, {counts.flaky} flaky.",
            err=True,
        )
        return WrittenEvidence(manifest, stored=False)
    return WrittenEvidence(manifest)


def store_manifest(run_dir: Path, manifest: Manifest) -> None:
    """Index what is on disk, leftover temporaries aside, and write the manifest alone."""
    from qaagent.evidence.writer import index_files, write_manifest

    remove_manifest_temporaries(run_dir)
    manifest.files = index_files(run_dir)
    try:
        write_manifest(run_dir, manifest)
    finally:
        remove_manifest_temporaries(run_dir)


def remove_manifest_temporaries(run_dir: Path) -> None:
    """Delete the half-written temporary files of failed manifest writes."""
    for temporary in run_dir.glob(".manifest-*.tmp"):
        temporary.unlink(missing_ok=True)


def remove_partial(path: Path) -> None:
    """Delete a file or folder that a failed write may have left half-written."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def run_secrets(loaded: LoadedProfile, tasks: list[Task], environment: str | None) -> SecretValues:
    """Values to mask: secret-looking or listed variables of qaagent's and the tasks' environment."""
    from qaagent.secrets import SecretValues

    return SecretValues.from_environments(
        [os.environ, app_env(loaded, environment), *(task.env for task in tasks)],
        loaded.profile.secrets,
    )


def plan_shards(
    loaded: LoadedProfile, tasks: list[Task], environment: str | None
) -> tuple[list[Task], dict[str, float]]:
    """Tasks with split suites replaced by their shards, and the expected seconds of each shard."""
    if not any(task.split is not None for task in tasks):
        return tasks, {}
    from qaagent.splitting import split_tasks

    workers = split_workers(loaded.profile.run)
    split = split_tasks(tasks, workers, loaded.runs_dir, app_env(loaded, environment))
    for note in split.notes:
        typer.echo(f"note: {note}", err=True)
    return split.tasks, split.expected


def merged_shards(runnable: list[Task], results: list[TaskResult]) -> list[TaskResult]:
    """Results with each split suite's shards merged into one result."""
    shard_of = {task.name: task.shard_of for task in runnable if task.shard_of}
    if not shard_of:
        return results
    from qaagent.splitting import merge_shards

    return merge_shards(results, shard_of)


def split_workers(settings: RunSettings) -> int:
    """Most shards of a split suite: the worker budget, and 1 when sequential."""
    if not settings.parallel:
        return 1
    return worker_budget(settings)


def worker_budget(settings: RunSettings) -> int:
    """Workers the run may use in all: max_workers, else the processors."""
    return settings.max_workers or os.cpu_count() or 1


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
    """Passes events on to the progress, and starts the preparation once every worker is busy."""

    def __init__(self, progress: RunWatcher, preparation: PostPhasePreparation, wave: int) -> None:
        self.progress = progress
        self.preparation = preparation
        self.waiting = wave

    def event(self, event: Event) -> None:
        """Count task starts, then show the event."""
        from qaagent.execute.backend import EventKind

        if event.kind is EventKind.started:
            self.waiting -= 1
            if self.waiting <= 0:
                self.preparation.start()
        self.progress.event(event)

    def tick(self) -> None:
        """Refresh the progress."""
        self.progress.tick()


def report_writers(
    formats: list[str], stdout_taken: bool, folders: Mapping[str, Path]
) -> list[ReportWriter]:
    """Reports written into the run before the manifest indexes it.

    With --json or --events jsonl, GitHub annotations go to stderr so that stdout holds the
    JSON alone.
    """
    from qaagent.reporting import write_reports

    if not formats:
        return []
    stdout = sys.stderr if stdout_taken else sys.stdout

    def write(run_dir: Path, manifest: Manifest) -> None:
        write_reports(run_dir, formats, manifest=manifest, stdout=stdout, folders=folders)

    return [write]


def only_last_failed(tasks: list[Task], runs_dir: Path) -> list[Task]:
    """The tasks that failed in the latest run, each narrowed to its failed tests."""
    from qaagent.errors import UsageError
    from qaagent.history import last_failed

    failed = last_failed(runs_dir)
    if not failed:
        from qaagent.reporting.bundle import stored_runs

        why = "nothing failed in the latest run" if stored_runs(runs_dir) else "no run yet"
        typer.echo(f"note: --last-failed: {why}; running every selected task.", err=True)
        return tasks
    narrowed = [
        task.model_copy(update={"selected_tests": tuple(failed[task.name])})
        for task in tasks
        if task.name in failed
    ]
    if not narrowed:
        raise UsageError(
            f"--last-failed: the tasks that failed in the latest run ({', '.join(failed)}) "
            "are not among the selected tasks."
        )
    return narrowed


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


def show_outcome(
    stream: TextIO, json_output: bool, manifest: Manifest, execution: Execution, run_dir: Path
) -> None:
    """The summary table, or `reports/summary.json`'s content alone on stdout."""
    from qaagent.reporting import print_summary_json
    from qaagent.reporting.progress import may_be_terminal, plain_summary

    if json_output:
        print_summary_json(run_dir, sys.stdout, manifest)
        return
    status = str(manifest.status)
    if not may_be_terminal(stream, os.environ):
        stream.write(plain_summary(execution.results, manifest.wall_time, run_dir, status))
        return
    from rich.console import Console

    from qaagent.reporting.console import print_summary
    from qaagent.reporting.terminal import console_colours

    console = Console(file=stream, highlight=False, markup=False, **console_colours(os.environ))
    print_summary(console, execution.results, manifest.wall_time, run_dir, status)


def choose_environment(loaded: LoadedProfile, requested: str | None) -> str | None:
    """The app environment of the run; an unknown --env is a usage error."""
    from qaagent.errors import UsageError
    from qaagent.execute.app import pick_environment

    apps = loaded.profile.app
    chosen = pick_environment(apps, requested)
    if requested is not None and chosen is None:
        known = ", ".join(apps) or "none defined under app:"
        raise UsageError(f"--env {requested!r} is not an app environment of the profile ({known}).")
    return chosen


def app_env(loaded: LoadedProfile, environment: str | None) -> dict[str, str]:
    """Variables every task gets: BASE_URL of the chosen app environment."""
    if environment is None:
        return {}
    return {"BASE_URL": loaded.profile.app[environment].base_url}


def make_app(
    loaded: LoadedProfile, environment: str | None, tasks: list[Task], run_dir: Path
) -> AppLifecycle | None:
    """The app to start before the tasks that need it, if it has a start command."""
    from qaagent.execute.app import AppLifecycle

    if environment is None:
        return None
    settings = loaded.profile.app[environment]
    users = sum(1 for task in tasks if task.needs_app)
    if settings.start_command is None or users == 0:
        return None
    return AppLifecycle(
        environment,
        settings,
        loaded.root,
        run_dir / "artifacts" / APP_LOG_FOLDER / f"{environment}.log",
        users,
        app_env(loaded, environment),
    )


def find_chromium(given: str | None, environ: Mapping[str, str]) -> str | None:
    """--chromium, else $QAAGENT_CHROMIUM, else Debian's /usr/bin/chromium or one on PATH."""
    if given:
        return given
    if environ.get("QAAGENT_CHROMIUM"):
        return environ["QAAGENT_CHROMIUM"]
    if DEFAULT_CHROMIUM.exists():
        return str(DEFAULT_CHROMIUM)
    return shutil.which("chromium")
