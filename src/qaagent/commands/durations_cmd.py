"""`qaagent durations export`: the recorded durations as a file other machines can plan by."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from qaagent.commands import ConfigOption
from qaagent.commands.runs_cmd import RunsDirOption, find_runs_dir

app = typer.Typer(
    name="durations",
    help="Recorded test and task durations, for dividing CI parts.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("export")
def export(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write here instead of stdout."),
    ] = None,
    config: ConfigOption = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Print the run history's durations as JSON: `{"node id": seconds}`, as pytest-split's
    `.test_durations`, and each task's under `"qaagent:task:<task>"`.

    `run-all --part I/N --durations FILE` divides the plan by them on any machine.
    """
    from qaagent.errors import UsageError
    from qaagent.evidence.history import every_test_duration, task_durations
    from qaagent.plan.parts import durations_document

    folder = find_runs_dir(config, runs_dir)
    document = durations_document(every_test_duration(folder), task_durations(folder))
    text = json.dumps(document, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{output}: the durations cannot be written ({error.strerror}).") from None
    typer.echo(f"{len(document)} durations written to {output}", err=True)
