"""`qaagent submit`: queue an execution on a `qaagent serve`, follow it, exit as it ended.

With --follow a CI job can use a shared server as it would run-all: the same lines (a task's
end, a failing test, a progress line at most every ten seconds) and the execution's exit code.
Ctrl-C while following cancels the execution.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

import typer

from qaagent.commands import SkipOption, SuiteOption
from qaagent.commands.service_client import (
    DEFAULT_SERVER,
    ServerOption,
    ServiceClient,
    TokenOption,
)
from qaagent.errors import ExitCode

TICK_SECONDS = 1.0
RECONNECT_SECONDS = 1.0
STATE_EXIT_CODES = {
    "passed": ExitCode.OK,
    "failed": ExitCode.TESTS_FAILED,
    "error": ExitCode.INFRASTRUCTURE_ERROR,
    "cancelled": ExitCode.INTERRUPTED,
    "interrupted": ExitCode.INTERRUPTED,
}
Ended = Literal["ended"]


def submit(
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    profile: Annotated[
        str, typer.Option(help="The profile, relative to the server's --root.")
    ] = "qaagent.yaml",
    suite: SuiteOption = None,
    skip: SkipOption = None,
    last_failed: Annotated[
        bool, typer.Option("--last-failed", help="Only what failed in the last run.")
    ] = False,
    priority: Annotated[
        str, typer.Option(help="critical, high, medium, low, or a number from 0 to 100.")
    ] = "medium",
    max_concurrent_tests: Annotated[int | None, typer.Option(min=1, help="Tasks at once.")] = None,
    timeout_per_test: Annotated[
        float | None, typer.Option(min=0, help="Seconds per task before it is killed.")
    ] = None,
    stop_on_first_failure: Annotated[
        bool, typer.Option("--stop-on-first-failure", help="Stop after the first failing task.")
    ] = False,
    max_failures: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many failing tasks.")
    ] = None,
    retries: Annotated[int | None, typer.Option(min=0, help="Reruns of failed tests.")] = None,
    memory_mb: Annotated[
        int | None, typer.Option(min=1, help="Resident memory of the run's processes, at most.")
    ] = None,
    label: Annotated[list[str] | None, typer.Option(help="A label, k=v (repeat for more).")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Print its progress and exit with its exit code.")
    ] = False,
) -> None:
    """Queue an execution on a qaagent server; with --follow, exit as the execution did.

    Without --follow it prints the execution's id and exits 0 once queued. A request the
    server refuses exits 2 with the server's message.
    """
    client = ServiceClient(server, token)
    request = {
        "profile": profile,
        "suites": suite or [],
        "skip": skip or [],
        "last_failed": last_failed,
        "priority": int(priority) if priority.isdigit() else priority,
        "labels": label or [],
        "configuration": _configuration(
            max_concurrent_tests=max_concurrent_tests,
            timeout_per_test=timeout_per_test,
            stop_on_first_failure=stop_on_first_failure or None,
            max_failures=max_failures,
            retry_count=retries,
            resource_limits={"memory_mb": memory_mb} if memory_mb is not None else None,
        ),
    }
    execution = client.post("/executions", request)
    typer.echo(f"queued execution {execution['id']} on {server}", err=True)
    if not follow:
        typer.echo(execution["id"])
        return
    raise typer.Exit(follow_execution(client, execution["id"]))


def _configuration(**settings: Any) -> dict[str, Any]:
    """The settings given, leaving the profile's for the rest."""
    return {name: value for name, value in settings.items() if value is not None}


def follow_execution(client: ServiceClient, execution_id: str) -> int:
    """Print the execution's progress until it ends; its exit code. Ctrl-C cancels it."""
    from qaagent.reporting.progress import PlainProgress

    progress = PlainProgress(sys.stdout)
    feed: queue.Queue[dict[str, Any] | Ended | BaseException] = queue.Queue()
    reader = threading.Thread(
        target=_read_events, args=(client, execution_id, feed.put), daemon=True
    )
    reader.start()
    try:
        _print_until_ended(feed, progress)
    except KeyboardInterrupt:
        client.delete(f"/executions/{execution_id}")
        typer.echo(f"cancelled execution {execution_id}", err=True)
        return int(ExitCode.INTERRUPTED)
    return _ended(client, execution_id)


def _print_until_ended(
    feed: queue.Queue[dict[str, Any] | Ended | BaseException], progress: Any
) -> None:
    """Show each event as run-all's CI lines would, a progress line between."""
    from pydantic import ValidationError

    from qaagent.model.events import EVENT

    while True:
        try:
            item = feed.get(timeout=TICK_SECONDS)
        except queue.Empty:
            progress.tick()
            continue
        if item == "ended":
            return
        if isinstance(item, BaseException):
            raise item
        try:
            progress(EVENT.validate_python(item))
        except ValidationError:
            continue
        progress.tick()


def _read_events(
    client: ServiceClient,
    execution_id: str,
    put: Callable[[dict[str, Any] | Ended | BaseException], None],
) -> None:
    """Every event of the execution, resuming a dropped stream, then "ended"."""
    after = 0
    try:
        while True:
            for event in client.events(execution_id, after):
                after = max(after, int(event.get("seq", 0)))
                put(event)
            if client.get(f"/executions/{execution_id}")["state"] not in {"queued", "running"}:
                put("ended")
                return
            time.sleep(RECONNECT_SECONDS)
    except Exception as error:
        put(error)


def _ended(client: ServiceClient, execution_id: str) -> int:
    """Say how the execution ended and where its report is; its exit code."""
    execution = client.get(f"/executions/{execution_id}")
    state = execution["state"]
    code = execution["exit_code"]
    if code is None or state == "cancelled":
        code = int(STATE_EXIT_CODES.get(state, ExitCode.INFRASTRUCTURE_ERROR))
    detail = f": {execution['error']}" if execution.get("error") else ""
    typer.echo(f"execution {execution_id} {state} (exit code {code}){detail}")
    if execution.get("run_dir"):
        report = f"/api/v1/executions/{execution_id}/files/reports/report.html"
        typer.echo(f"report: {client.server.rstrip('/')}{report}")
    return int(code)
