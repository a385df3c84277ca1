"""structlog set-up: key=value lines on a terminal, JSON lines for machines.

structlog (and the rich tracebacks it pulls in) is imported when the first logger is asked for,
so a run that never logs does not pay for the import.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qaagent.terminal import colour_wanted

if TYPE_CHECKING:
    import structlog

LEVELS = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}


@dataclass
class _Settings:
    """Logging settings waiting to be applied when structlog is first needed."""

    verbosity: int = 0
    json_lines: bool = False
    pending: bool = True


_settings = _Settings()


def configure_logging(verbosity: int = 0, *, json_lines: bool = False) -> None:
    """Set the level and format of every later log line; logs go to stderr, never to stdout."""
    _settings.verbosity, _settings.json_lines, _settings.pending = verbosity, json_lines, True


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """A logger bound to the module that asks for it."""
    import structlog

    if _settings.pending:
        _apply(_settings.verbosity, _settings.json_lines)
        _settings.pending = False
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name).bind(module=name)
    return logger


def _apply(verbosity: int, json_lines: bool) -> None:
    """Configure structlog once for the process."""
    import structlog

    level = LEVELS.get(max(-1, min(verbosity, 2)), logging.DEBUG)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=colour_wanted(sys.stderr, os.environ))
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
