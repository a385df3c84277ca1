"""`qaagent run-all`: run every selected suite, then write the evidence bundle."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import typer

from qaagent.commands import setup_logging
from qaagent.commands.run_support import (
    EventLines,
    cache_wanted,
    chosen_backend,
    find_chromium,
    open_event_lines,
    parse_order,
    part_request,
    progress_on,
    takes_stdout,
    working_folder,
)
from qaagent.commands.signals import leave, take_stop_signals
from qaagent.commands.typer_options import with_options
from qaagent.options import RUN_ALL_OPTIONS

if TYPE_CHECKING:
    from qaagent.evidence.models import Manifest
    from qaagent.execute.backend import BackendFactory
    from qaagent.model.results import TaskResult
    from qaagent.processes.watchdog import ProcessGuard
    from qaagent.session import RunRequest


@with_options(RUN_ALL_OPTIONS)
def run_all(ctx: typer.Context, **given: Any) -> None:
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
    from qaagent.execute.app import choose_environment
    from qaagent.plan.select import only_last_failed, plan_tasks, with_cli_args
    from qaagent.plan.tasks import build_tasks
    from qaagent.processes.watchdog import ProcessGuard
    from qaagent.reporting import parse_formats
    from qaagent.session import RunRequest

    formats = [] if given["report"].strip().lower() == "none" else parse_formats(given["report"])
    loaded = load_profile(given["config"], cli_overrides=given)
    selected = plan_tasks(build_tasks(loaded.suites), given["suite"] or [], given["skip"] or [])
    tasks = with_cli_args(selected, ctx.args)
    if given["last_failed"]:
        tasks = only_last_failed(tasks, loaded.runs_dir, note)
    environment = choose_environment(loaded, given["env"])
    guard = ProcessGuard()
    with (
        open_event_lines(given["events"], given["json"]) as event_lines,
        chosen_backend(loaded, given) as backend,
    ):
        request = RunRequest(
            loaded,
            tasks,
            cwd=working_folder(),
            argv=list(sys.argv),
            environment=environment,
            run_timeout=given["run_timeout"],
            chromium=find_chromium(given["chromium"], os.environ),
            formats=formats,
            order=parse_order(given["order"]),
            report_stdout=sys.stderr if takes_stdout(event_lines, given["json"]) else None,
            part=part_request(given, loaded, os.environ),
            use_cache=cache_wanted(given, os.environ),
        )
        exit_code = execute_run(request, event_lines, given["json"], guard, backend)
    leave(exit_code, guard)


def execute_run(
    request: RunRequest,
    events: EventLines | None,
    json_output: bool,
    guard: ProcessGuard,
    backend: BackendFactory | None = None,
) -> int:
    """Run the session under the watchdog, with progress and stop signals; print the outcome.

    With --json or --events jsonl on stdout, the progress and the summary table go to stderr.
    """
    from qaagent.execute.events import JsonLines
    from qaagent.session import Session

    guard.start()
    stream = sys.stderr if takes_stdout(events, json_output) else sys.stdout
    session = Session(
        request,
        JsonLines(events.stream) if events is not None else None,
        progress=progress_on(stream),
        notify=note,
        guard=guard,
        backend=backend,
    )
    late_signals = take_stop_signals(session)
    outcome = session.run()
    try:
        show_outcome(
            stream, json_output, outcome.manifest, outcome.execution.results, outcome.run_dir
        )
    except (OSError, ValueError) as error:
        warn(f"the summary could not be printed ({error}).")
    if late_signals:
        warn(
            f"{signal.Signals(late_signals[0]).name} arrived after the evidence was written; "
            f"the run finished its bookkeeping and keeps exit code {outcome.exit_code}."
        )
    return outcome.exit_code


def note(line: str) -> None:
    """One line on stderr: a notice of the session, or what qaagent chose for the user."""
    with contextlib.suppress(OSError, ValueError):
        typer.echo(line, err=True)


def warn(message: str) -> None:
    """One line on stderr that does not change the exit code."""
    note(f"qaagent: warning: {message}")


def show_outcome(
    stream: TextIO, json_output: bool, manifest: Manifest, results: list[TaskResult], run_dir: Path
) -> None:
    """The summary table, or `reports/summary.json`'s content alone on stdout."""
    from qaagent.reporting import print_outcome, print_summary_json

    if json_output:
        print_summary_json(run_dir, sys.stdout, manifest)
    else:
        print_outcome(stream, manifest, results, run_dir)
