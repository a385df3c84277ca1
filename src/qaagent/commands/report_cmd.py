"""`qaagent report RUN`: make one report of a stored run again."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from qaagent.commands import ConfigOption
from qaagent.commands.runs_cmd import RunArgument, RunsDirOption, find_run
from qaagent.errors import UsageError


class ReportFormat(StrEnum):
    """Reports `qaagent report` can make."""

    html = "html"
    md = "md"
    json = "json"
    junit = "junit"


def report(
    run: RunArgument,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Which report to make.")
    ] = ReportFormat.html,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", dir_okay=False, help="Write here instead of the run's reports/."
        ),
    ] = None,
    config: ConfigOption = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Re-create a report of a stored run from its evidence and print where it was written."""
    from qaagent.reporting import render_report, write_reports

    run_dir = find_run(run, config, runs_dir)
    try:
        if output is None:
            (path,) = write_reports(run_dir, [fmt.value], environ={})
        else:
            text = render_report(run_dir, fmt.value, destination=output)
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
            path = output
    except OSError as error:
        where = error.filename or output or run_dir
        raise UsageError(
            f"The report cannot be written: {where}: {error.strerror}. "
            "Name a writable file with --output."
        ) from None
    typer.echo(str(path.resolve()))
