"""`qaagent run-all`: run every selected suite, then write the evidence bundle."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, NoReturn, TextIO

import typer

from qaagent.commands import ConfigOption, SkipOption, SuiteOption, setup_logging
from qaagent.options import option

if TYPE_CHECKING:
    from qaagent.evidence.models import Manifest
    from qaagent.model.results import TaskResult
    from qaagent.model.task import Task
    from qaagent.plan.order import Order
    from qaagent.processes.watchdog import ProcessGuard
    from qaagent.secrets import SecretValues
    from qaagent.session import Progress, ProgressFactory, RunRequest, Session

DEFAULT_CHROMIUM = Path("/usr/bin/chromium")


def run_all(
    ctx: typer.Context,
    config: ConfigOption = None,
    parallel: Annotated[
        bool | None,
        typer.Option(option("parallel").flag, help=option("parallel").help),
    ] = None,
    max_workers: Annotated[
        int | None,
        typer.Option(
            option("max_workers").flag, metavar="N", min=1, help=option("max_workers").help
        ),
    ] = None,
    suite: SuiteOption = None,
    skip: SkipOption = None,
    fail_fast: Annotated[
        bool | None,
        typer.Option(option("fail_fast").flag, help=option("fail_fast").help),
    ] = None,
    max_failures: Annotated[
        int | None,
        typer.Option(
            option("max_failures").flag, metavar="N", min=1, help=option("max_failures").help
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            option("timeout").flag, metavar="SECONDS", min=0.001, help=option("timeout").help
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
            option("retry_count").flag, metavar="N", min=0, help=option("retry_count").help
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
    from qaagent.plan.select import only_last_failed, plan_tasks, with_cli_args
    from qaagent.plan.tasks import build_tasks
    from qaagent.processes.watchdog import ProcessGuard
    from qaagent.reporting import parse_formats
    from qaagent.session import RunRequest, choose_environment

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
        tasks = only_last_failed(tasks, loaded.runs_dir, note)
    environment = choose_environment(loaded, env)
    guard = ProcessGuard()
    with open_event_lines(events, json_output) as event_lines:
        request = RunRequest(
            loaded,
            tasks,
            cwd=working_folder(),
            argv=list(sys.argv),
            environment=environment,
            run_timeout=run_timeout,
            chromium=find_chromium(chromium, os.environ),
            formats=formats,
            order=requested_order,
            report_stdout=sys.stderr if takes_stdout(event_lines, json_output) else None,
        )
        exit_code = execute_run(request, event_lines, json_output, guard)
    leave(exit_code, guard)


def execute_run(
    request: RunRequest, events: EventLines | None, json_output: bool, guard: ProcessGuard
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
        notify=tell,
        guard=guard,
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


def takes_stdout(events: EventLines | None, json_output: bool) -> bool:
    """Whether stdout is kept for JSON (--json, or --events jsonl), the rest going to stderr."""
    return json_output or (events is not None and events.on_stdout)


def take_stop_signals(session: Session) -> list[int]:
    """SIGINT, SIGTERM and SIGHUP from now until exit; returns the list of those that came late.

    The first stops the run gracefully, the second at once. Before the tasks start, one ends
    qaagent at once with exit code 130, as before a run takes signals over. Once the manifest
    is written, signals are only noted: stopping would lose the latest link and the history row
    and leave an exit code that disagrees with the manifest. SIGHUP is a closed terminal or a
    dropped SSH session: the tasks run in sessions of their own, so nothing but qaagent would
    stop them. Only the main thread can install handlers.
    """
    from qaagent.execute.orchestrator import STOP_SIGNALS
    from qaagent.session import Phase

    late: list[int] = []
    obeyed = 0

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal obeyed
        if session.phase is Phase.planning:
            os._exit(130)
        if session.phase is Phase.done:
            late.append(signum)
            return
        obeyed += 1
        session.cancel(hard=obeyed > 1)

    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            signal.signal(signum, handle)
    return late


def progress_on(stream: TextIO) -> ProgressFactory:
    """The live board or plain progress lines on the stream, for the session to open."""
    from qaagent.reporting.progress import make_progress

    def progress(
        tasks: Sequence[Task], expected: Mapping[str, float], secrets: SecretValues
    ) -> Progress:
        return make_progress(stream, tasks, os.environ, expected, secrets)

    return progress


def tell(line: str) -> None:
    """A notice of the session on stderr."""
    with contextlib.suppress(OSError, ValueError):
        typer.echo(line, err=True)


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


def leave(exit_code: int, guard: ProcessGuard) -> NoReturn:
    """Exit once the output is flushed and the watchdog is gone, skipping interpreter teardown."""
    guard.close()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(exit_code)


def parse_order(text: str | None) -> Order | None:
    """--order as an Order; anything else is a usage error."""
    from qaagent.errors import UsageError
    from qaagent.plan.order import Order

    if text is None:
        return None
    try:
        return Order(text.strip().lower())
    except ValueError:
        raise UsageError(f"--order {text!r}: choose profile or duration.") from None


def note(line: str) -> None:
    """One line on stderr that says what qaagent chose for the user."""
    with contextlib.suppress(OSError, ValueError):
        typer.echo(line, err=True)


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


def show_outcome(
    stream: TextIO, json_output: bool, manifest: Manifest, results: list[TaskResult], run_dir: Path
) -> None:
    """The summary table, or `reports/summary.json`'s content alone on stdout."""
    from qaagent.reporting import print_outcome, print_summary_json

    if json_output:
        print_summary_json(run_dir, sys.stdout, manifest)
    else:
        print_outcome(stream, manifest, results, run_dir)


def find_chromium(given: str | None, environ: Mapping[str, str]) -> str | None:
    """--chromium, else $QAAGENT_CHROMIUM, else Debian's /usr/bin/chromium or one on PATH."""
    if given:
        return given
    if environ.get("QAAGENT_CHROMIUM"):
        return environ["QAAGENT_CHROMIUM"]
    if DEFAULT_CHROMIUM.exists():
        return str(DEFAULT_CHROMIUM)
    return shutil.which("chromium")
