"""Command implementations; each imports its heavy dependencies only when it runs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from qaagent.commands.typer_options import typer_option
from qaagent.options import CONFIG, SKIP, SUITE

ConfigOption = Annotated[Path | None, typer_option(CONFIG)]
SuiteOption = Annotated[list[str] | None, typer_option(SUITE)]
SkipOption = Annotated[list[str] | None, typer_option(SKIP)]


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
