"""`qaagent executions list|show|cancel`: a `qaagent serve`'s executions, as tables or JSON."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from qaagent.commands.runs_cmd import console
from qaagent.commands.service_client import (
    DEFAULT_SERVER,
    ServerOption,
    ServiceClient,
    TokenOption,
)

app = typer.Typer(
    name="executions",
    help="List, show and cancel the executions of a qaagent server.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the server's JSON.")]
ExecutionArgument = Annotated[str, typer.Argument(help="The execution's id.", show_default=False)]
SHOWN_FIELDS = (
    "id",
    "state",
    "profile",
    "priority",
    "labels",
    "exit_code",
    "error",
    "created",
    "started",
    "finished",
    "wait_seconds",
    "run_seconds",
    "run_dir",
)


@app.command("list")
def list_executions(
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    state: Annotated[
        list[str] | None, typer.Option(help="Only executions in this state (repeatable).")
    ] = None,
    label: Annotated[str | None, typer.Option(help="Only executions with this label.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest shown.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """The newest executions: id, state, profile, priority, counts, times."""
    query = [("limit", str(limit)), *(("state", name) for name in state or ())]
    if label is not None:
        query.append(("label", label))
    from urllib.parse import urlencode

    executions = ServiceClient(server, token).get(f"/executions?{urlencode(query)}")["executions"]
    if as_json:
        typer.echo(json.dumps(executions, indent=2))
        return
    _print_table(executions)


@app.command("show")
def show_execution(
    execution_id: ExecutionArgument,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """One execution: its state, counts, times, run folder and notifications."""
    execution = ServiceClient(server, token).get(f"/executions/{execution_id}")
    _print_execution(execution, as_json)


@app.command("cancel")
def cancel_execution(
    execution_id: ExecutionArgument,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cancel a queued execution, or stop a running one with its evidence kept."""
    execution = ServiceClient(server, token).delete(f"/executions/{execution_id}")
    _print_execution(execution, as_json)


def _print_table(executions: list[dict[str, Any]]) -> None:
    """The executions as a table, newest first."""
    from rich.table import Table

    out = console()
    if not executions:
        out.print("No executions.")
        return
    table = Table("id", "state", "profile", "priority", "tests", "failed", "created", box=None)
    for execution in executions:
        counts = execution.get("counts") or {}
        table.add_row(
            execution["id"],
            execution["state"],
            execution["profile"],
            str(execution["priority"]),
            str(counts.get("total", "")),
            str(counts.get("failed", "")),
            (execution.get("created") or "")[:19].replace("T", " "),
        )
    out.print(table)


def _print_execution(execution: dict[str, Any], as_json: bool) -> None:
    """One execution as JSON or as lines of fields."""
    if as_json:
        typer.echo(json.dumps(execution, indent=2))
        return
    out = console()
    for name in SHOWN_FIELDS:
        value = execution.get(name)
        if value not in (None, [], ""):
            out.print(f"{name:<13}{value}")
    if execution.get("counts"):
        out.print(f"{'counts':<13}{json.dumps(execution['counts'])}")
    for delivery in execution.get("notifications") or []:
        outcome = delivery["error"] or f"HTTP {delivery['status']}"
        out.print(f"{'notified':<13}{delivery['url']}: {outcome} ({delivery['attempts']} tries)")
