"""Progress of a run as it goes: plain lines in CI and pipes, the live board on a terminal.

Plain lines need nothing beyond the standard library, so a run whose output is not a terminal
starts without importing rich; the live board (in `console`) is imported only for a terminal.
Both are driven from the main thread only, through `event` and `tick`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from qaagent.plan import Task
from qaagent.runners.backend import Event, EventKind
from qaagent.runners.base import SuiteResult, TaskOutcome, describe_counts

if TYPE_CHECKING:
    from qaagent.reporting.console import LiveBoard

FAILURE_LINES = 15
FAILING = frozenset({TaskOutcome.failed, TaskOutcome.error, TaskOutcome.timed_out})
TERMINAL_OVERRIDES = ("FORCE_TERMINAL", "TTY_INTERACTIVE", "TTY_COMPATIBLE")


def counts_text(result: SuiteResult) -> str:
    """`3 passed, 1 failed` with only the non-zero counts."""
    return describe_counts(result.counts) or "no tests"


def failure_lines(result: SuiteResult) -> list[str]:
    """A failing task's reason and last output lines, to print together under its name.

    The same lines as the live board's coloured block (`console.failure_block`).
    """
    lines = [f"── {result.task}: {result.outcome} ──"]
    if result.error:
        lines.append(result.error.splitlines()[0])
    lines += result.tail[-FAILURE_LINES:]
    if result.log_path is not None:
        lines.append(f"log: {result.log_path}")
    return lines


class PlainProgress:
    """One line when a task starts and one when it ends."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def event(self, event: Event) -> None:
        """Print task starts and ends; output lines stay in the task's log."""
        if event.kind is EventKind.started:
            self._write(f"start  {event.task} (worker {event.worker})")
        elif event.kind is EventKind.stopping and event.line is not None:
            self._write(event.line)
        elif event.kind is EventKind.finished and event.result is not None:
            self._finished(event.result)

    def tick(self) -> None:
        """Plain output has nothing to refresh."""

    def _finished(self, result: SuiteResult) -> None:
        self._write(
            f"{result.outcome:<6} {result.task}: {counts_text(result)} in {result.duration:.1f}s"
        )
        if result.outcome in FAILING:
            self._write("\n".join(failure_lines(result)) + "\n")

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


def may_be_terminal(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether rich could treat the stream as a terminal (a tty, or forced by the environment)."""
    return stream.isatty() or any(environ.get(name) for name in TERMINAL_OVERRIDES)


def make_progress(
    stream: TextIO,
    tasks: Sequence[Task],
    environ: Mapping[str, str],
    expected: Mapping[str, float],
) -> PlainProgress | LiveBoard:
    """The live board on an interactive terminal, plain lines anywhere else."""
    if may_be_terminal(stream, environ):
        from rich.console import Console

        from qaagent.reporting.console import LiveBoard, is_interactive

        console = Console(file=stream, highlight=False, markup=False)
        if is_interactive(console, environ):
            return LiveBoard(console, tasks, expected)
    return PlainProgress(stream)
