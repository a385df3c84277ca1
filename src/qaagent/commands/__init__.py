"""Command implementations; each imports its heavy dependencies only when it runs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Profile to use (default: qaagent.yaml or .qaagent.yaml here or in a parent folder).",
    ),
]

SuiteOption = Annotated[
    list[str] | None,
    typer.Option(
        "--suite",
        "-s",
        metavar="NAME",
        help="Only this suite or task; glob patterns work. Repeatable.",
    ),
]
SkipOption = Annotated[
    list[str] | None,
    typer.Option(
        "--skip",
        metavar="NAME",
        help="Leave out this suite or task; glob patterns work. Repeatable.",
    ),
]


class LogFormat(StrEnum):
    """How log lines on stderr look."""

    text = "text"
    json = "json"


@dataclass
class GlobalOptions:
    """Options given before the command name, kept until a command configures logging."""

    verbosity: int = 0
    log_format: LogFormat = LogFormat.text


global_options = GlobalOptions()


def setup_logging() -> None:
    """Configure structlog with the global options; called by commands that log."""
    from qaagent.logging import configure_logging

    configure_logging(
        global_options.verbosity, json_lines=global_options.log_format is LogFormat.json
    )
