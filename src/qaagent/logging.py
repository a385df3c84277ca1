"""structlog set-up: key=value lines on a terminal, JSON lines for machines."""

from __future__ import annotations

import logging
import sys

import structlog

LEVELS = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}


def configure_logging(verbosity: int = 0, *, json_lines: bool = False) -> None:
    """Configure structlog once for the process; logs go to stderr, never to stdout."""
    level = LEVELS.get(max(-1, min(verbosity, 2)), logging.DEBUG)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
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


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """A logger bound to the module that asks for it."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name).bind(module=name)
    return logger
