"""`qaagent run-all`: run every selected suite, then write the evidence bundle."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qaagent.commands import ConfigOption, setup_logging

if TYPE_CHECKING:
    from qaagent.config.loader import LoadedProfile
    from qaagent.evidence.models import Manifest
    from qaagent.evidence.writer import ReportWriter
    from qaagent.plan import Task
    from qaagent.runners.app import AppLifecycle
    from qaagent.runners.orchestrator import Execution

DEFAULT_CHROMIUM = Path("/usr/bin/chromium")
APP_LOG_FOLDER = "_app"


def run_all(
    config: ConfigOption = None,
    parallel: Annotated[
        bool | None,
        typer.Option("--parallel/--no-parallel", help="Run tasks at the same time (run.parallel)."),
    ] = None,
    max_workers: Annotated[
        int | None,
        typer.Option(
            "--max-workers",
            min=1,
            help="Tasks at once when parallel (default: run.max_workers, else the number of tasks).",
        ),
    ] = None,
    suite: Annotated[
        list[str] | None,
        typer.Option(
            "--suite", "-s", help="Run only this suite or task; glob patterns work. Repeatable."
        ),
    ] = None,
    skip: Annotated[
        list[str] | None,
        typer.Option(
            "--skip", help="Leave out this suite or task; glob patterns work. Repeatable."
        ),
    ] = None,
    fail_fast: Annotated[
        bool | None,
        typer.Option(
            "--fail-fast/--no-fail-fast",
            help="After the first failing task, start nothing more and stop running tasks.",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0.001,
            help="Seconds per task before it is killed (run.timeout; a suite's own timeout wins).",
        ),
    ] = None,
    run_timeout: Annotated[
        float | None,
        typer.Option(
            "--run-timeout",
            min=0.001,
            help="Seconds for the whole run. When reached, running tasks are stopped and reported "
            "timed-out, queued ones not-run, the evidence is still written, and the exit code is 3.",
        ),
    ] = None,
    retries: Annotated[
        int | None,
        typer.Option("--retries", min=0, help="Reruns of failed tests (run.retry_count)."),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            help="App environment to use (default: 'local' if defined, else the first one).",
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print the run summary as JSON on stdout; progress on stderr."),
    ] = False,
    chromium: Annotated[
        str | None,
        typer.Option(
            "--chromium",
            help="Chromium for browser suites (default: $QAAGENT_CHROMIUM, else /usr/bin/chromium "
            "or chromium on PATH).",
        ),
    ] = None,
) -> None:
    """Run every selected suite, then write the evidence bundle.

    Exit codes: 0 all passed, 1 tests failed, 2 configuration or usage error, 3 infrastructure
    error (a task crashed, timed out or produced no results, or --run-timeout was reached),
    130 interrupted. When several apply, the highest wins in the order 130, 3, 1, 0.
    Ctrl-C (or SIGTERM) stops the run and still writes the evidence; a second Ctrl-C kills at once.
    """
    setup_logging()
    from qaagent.config.loader import load_profile
    from qaagent.plan import build_tasks
    from qaagent.runners.orchestrator import plan_tasks

    loaded = load_profile(
        config,
        cli_overrides={
            "parallel": parallel,
            "max_workers": max_workers,
            "fail_fast": fail_fast,
            "timeout": timeout,
            "retry_count": retries,
        },
    )
    tasks = plan_tasks(build_tasks(loaded.suites), suite or [], skip or [])
    environment = choose_environment(loaded, env)
    exit_code = execute_run(
        loaded,
        tasks,
        environment=environment,
        run_timeout=run_timeout,
        chromium=find_chromium(chromium, os.environ),
        json_output=json_output,
    )
    raise typer.Exit(exit_code)


def execute_run(
    loaded: LoadedProfile,
    tasks: list[Task],
    *,
    environment: str | None,
    run_timeout: float | None,
    chromium: str | None,
    json_output: bool,
) -> int:
    """Execute the tasks, run the post-phase, print the outcome; returns the exit code."""
    from rich.console import Console

    from qaagent.evidence.rundir import create_run_dir, point_latest
    from qaagent.reporting.console import make_progress
    from qaagent.runners.orchestrator import (
        ExecutionOptions,
        RunOrchestrator,
        interrupts_stop,
    )
    from qaagent.runners.registry import runner_for
    from qaagent.runners.scheduler import order_tasks

    settings = loaded.profile.run
    expected = previous_durations(loaded.runs_dir)
    run_id, run_dir = create_run_dir(loaded.runs_dir)
    workers = min(settings.max_workers or len(tasks), len(tasks)) if settings.parallel else 1
    app = make_app(loaded, environment, tasks, run_dir)
    options = ExecutionOptions(
        artifacts_dir=run_dir / "artifacts",
        workers=workers,
        pools=settings.pools,
        fail_fast=settings.fail_fast,
        run_timeout=run_timeout,
        env=app_env(loaded, environment),
        chromium=chromium,
    )
    console = Console(stderr=json_output, highlight=False, markup=False)
    progress = make_progress(
        console, order_tasks(tasks, settings.suite_order), os.environ, expected
    )
    orchestrator = RunOrchestrator(runner_for, options, app=app, watcher=progress)
    with interrupts_stop(orchestrator):
        with progress:
            execution = orchestrator.run(tasks, settings.suite_order)
        manifest = post_phase(run_id, run_dir, loaded, tasks, execution, workers, environment)
    point_latest(loaded.runs_dir, run_dir)
    show_outcome(console, json_output, manifest, execution, run_dir)
    if execution.killed:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(manifest.exit_code or 0)
    return manifest.exit_code or 0


def post_phase(
    run_id: str,
    run_dir: Path,
    loaded: LoadedProfile,
    tasks: list[Task],
    execution: Execution,
    workers: int,
    environment: str | None,
) -> Manifest:
    """Write the evidence once every task returned; the manifest is the last file written."""
    from qaagent.evidence.writer import RunInfo, write_evidence
    from qaagent.runners.orchestrator import HardStop

    info = RunInfo(
        run_id=run_id,
        status=execution.status,
        exit_code=int(execution.exit_code),
        started_at=execution.started_at,
        finished_at=execution.finished_at,
        argv=sys.argv,
        cwd=Path.cwd(),
        profile_path=loaded.path,
        profile_sha256=loaded.checksum,
        project=loaded.profile.project.name,
        settings=run_settings(loaded, tasks, workers, environment, execution),
    )
    try:
        return write_evidence(
            run_dir, info, execution.results, report_writers=write_reports_for(run_dir)
        )
    except HardStop:
        execution.killed = True
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        return write_evidence(run_dir, info, execution.results)


def write_reports_for(run_dir: Path) -> list[ReportWriter]:
    """Report writers that add their files to the run before the manifest indexes it."""
    return []


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
                mode="json", include={"kind", "env", "pool", "timeout", "retry_count", "needs_app"}
            )
            for task in tasks
        },
    }


def show_outcome(
    console: Any, json_output: bool, manifest: Manifest, execution: Execution, run_dir: Path
) -> None:
    """The summary table, or the JSON summary alone on stdout."""
    from qaagent.reporting.console import print_summary, summary_data

    if json_output:
        data = summary_data(
            manifest.run_id,
            run_dir,
            str(manifest.status),
            manifest.exit_code or 0,
            manifest.wall_time,
            execution.results,
        )
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    print_summary(console, execution.results, manifest.wall_time, run_dir, str(manifest.status))


def choose_environment(loaded: LoadedProfile, requested: str | None) -> str | None:
    """The app environment of the run; an unknown --env is a usage error."""
    from qaagent.errors import UsageError
    from qaagent.runners.app import pick_environment

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
    from qaagent.runners.app import AppLifecycle

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


def previous_durations(runs_dir: Path) -> dict[str, float]:
    """Task durations of the latest finished run, shown as expectations on the live board."""
    from pydantic import ValidationError

    from qaagent.evidence.models import MANIFEST_NAME, Manifest
    from qaagent.evidence.rundir import LATEST_NAME

    path = runs_dir / LATEST_NAME / MANIFEST_NAME
    try:
        manifest = Manifest.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return {}
    return {task.name: task.duration for task in manifest.tasks if task.duration > 0}
