"""Progress of a run as it goes: plain lines in CI and pipes, the live board on a terminal.

Plain lines need nothing beyond the standard library, so a run whose output is not a terminal
starts without importing rich; the live board (in `console`) is imported only for a terminal.
Both are driven from the main thread only, through `event` and `tick`. Both show text from
tests with secret values masked and with no escape sequence that could act on the terminal.
"""

from __future__ import annotations

import secrets as tokens
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from qaagent.execute.backend import Event, EventKind
from qaagent.model.outcomes import (
    COUNT_LABELS,
    CUT_SHORT_LABELS,
    TaskOutcome,
    describe_counts,
)
from qaagent.model.results import TaskResult
from qaagent.model.task import Task
from qaagent.reporting.terminal import console_colours, paint, terminal_safe
from qaagent.secrets import NO_SECRETS, SecretValues
from qaagent.terminal import colour_wanted

if TYPE_CHECKING:
    from qaagent.reporting.console import LiveBoard

FAILURE_LINES = 15
FAILING = frozenset({TaskOutcome.failed, TaskOutcome.error, TaskOutcome.timed_out})
OUTCOME_COLOURS = {
    TaskOutcome.passed: "green",
    TaskOutcome.failed: "red",
    TaskOutcome.error: "red",
    TaskOutcome.timed_out: "red",
    TaskOutcome.not_run: "yellow",
    TaskOutcome.interrupted: "yellow",
}
TERMINAL_OVERRIDES = ("FORCE_TERMINAL", "TTY_INTERACTIVE", "TTY_COMPATIBLE")


def counts_text(result: TaskResult) -> str:
    """`3 passed, 1 failed` with only the non-zero counts."""
    return describe_counts(result.counts) or "no tests"


def in_github_actions(environ: Mapping[str, str]) -> bool:
    """Whether the output is read by the GitHub Actions runner, which obeys `::` commands."""
    return environ.get("GITHUB_ACTIONS", "").lower() not in ("", "false", "0")


def grouped(title: str, lines: list[str]) -> list[str]:
    """Lines folded under a title in a GitHub Actions log; `::` commands in them are not obeyed.

    A test that prints `::endgroup::` or `::error` would otherwise end the group early or add
    annotations of its own.
    """
    token = tokens.token_hex(8)
    return [
        f"::group::{title}",
        f"::stop-commands::{token}",
        *lines,
        f"::{token}::",
        "::endgroup::",
    ]


def failure_lines(result: TaskResult) -> list[str]:
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
    """One line when a task starts and one when it ends.

    A reader that goes away (`qaagent run-all | head`, a closed terminal) silences the lines,
    not the run.
    """

    def __init__(
        self,
        stream: TextIO,
        secrets: SecretValues = NO_SECRETS,
        *,
        groups: bool = False,
        colour: bool = False,
    ) -> None:
        self.stream = stream
        self.secrets = secrets
        self.groups = groups
        self.colour = colour
        self.reader_gone = False

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

    def _finished(self, result: TaskResult) -> None:
        outcome = f"{result.outcome:<6}"
        if self.colour:
            outcome = paint(outcome, OUTCOME_COLOURS[result.outcome])
        self._write(f"{outcome} {result.task}: {counts_text(result)} in {result.duration:.1f}s")
        if result.outcome in FAILING:
            lines = failure_lines(result)
            if self.groups:
                lines = grouped(f"{result.task}: {result.outcome}", lines)
            self._write("\n".join(lines) + "\n")

    def _write(self, line: str) -> None:
        if self.reader_gone:
            return
        try:
            self.stream.write(self.secrets.mask(terminal_safe(line, colour=self.colour)) + "\n")
            self.stream.flush()
        except OSError:
            self.reader_gone = True


def may_be_terminal(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether rich could treat the stream as a terminal (a tty, or forced by the environment)."""
    return stream.isatty() or any(environ.get(name) for name in TERMINAL_OVERRIDES)


def make_progress(
    stream: TextIO,
    tasks: Sequence[Task],
    environ: Mapping[str, str],
    expected: Mapping[str, float],
    secrets: SecretValues = NO_SECRETS,
) -> PlainProgress | LiveBoard:
    """The live board on an interactive terminal, plain lines anywhere else."""
    if may_be_terminal(stream, environ):
        from rich.console import Console

        from qaagent.reporting.console import LiveBoard, is_interactive

        console = Console(file=stream, highlight=False, markup=False, **console_colours(environ))
        if is_interactive(console, environ):
            return LiveBoard(console, tasks, expected, secrets)
    return PlainProgress(
        stream,
        secrets,
        groups=in_github_actions(environ),
        colour=colour_wanted(stream, environ),
    )


COST_LABEL = "cost"


def summary_labels(results: Sequence[TaskResult]) -> tuple[str, ...]:
    """The final table's counts: those of tests cut short, and the cost, only where some are."""
    counts = tuple(
        label
        for label in COUNT_LABELS
        if label not in CUT_SHORT_LABELS or any(getattr(r.counts, label) for r in results)
    )
    costed = any(result.cost is not None for result in results)
    return (*counts, COST_LABEL) if costed else counts


def summary_columns(results: Sequence[TaskResult]) -> tuple[str, ...]:
    """The final table's header."""
    return ("task", "result", *summary_labels(results), "duration")


def summary_row(result: TaskResult, labels: Sequence[str] = COUNT_LABELS) -> tuple[str, ...]:
    """One task's cells of the final table."""
    return (
        result.task,
        str(result.outcome),
        *(_count_cell(result, label) for label in labels),
        f"{result.duration:.1f}s",
    )


def _count_cell(result: TaskResult, label: str) -> str:
    """A count, or the task's cost (blank when its tests said none)."""
    if label == COST_LABEL:
        return "" if result.cost is None else f"{result.cost:g}"
    return str(getattr(result.counts, label))


def closing_lines(
    results: Sequence[TaskResult], wall_time: float, run_dir: Path, status: str
) -> list[str]:
    """The timing line and where the evidence is, printed under the final table."""
    task_time = sum(result.busy_time for result in results)
    ratio = parallelism(task_time, parts_that_ran(results), wall_time)
    shown = f", parallelism {ratio:.1f}x" if ratio is not None else ""
    return [
        f"Run {status}: wall time {wall_time:.1f}s, task time {task_time:.1f}s{shown}",
        f"Run directory: {run_dir}",
    ]


def parts_that_ran(results: Sequence[TaskResult]) -> int:
    """Tasks, counting each shard of a split suite, that spent any time running."""
    return sum(max(1, len(result.segments)) for result in results if result.busy_time > 0)


def parallelism(task_time: float, parts: int, wall_time: float) -> float | None:
    """Task time over wall time: how many tasks ran at once on average.

    None for a single part, where the ratio would only measure qaagent's own overhead. It is
    not a speed-up: tasks that share workers run slower than they would alone.
    """
    if parts < 2 or wall_time <= 0:
        return None
    return round(task_time / wall_time, 2)


def plain_summary(
    results: Sequence[TaskResult], wall_time: float, run_dir: Path, status: str
) -> str:
    """The final table as aligned plain text, for pipes and CI logs where rich adds only cost."""
    labels = summary_labels(results)
    rows = [summary_columns(results), *(summary_row(result, labels) for result in results)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join([*lines, *closing_lines(results, wall_time, run_dir, status)]) + "\n"
