"""Progress of a run as it goes: plain lines in CI and pipes, the live board on a terminal.

Both follow the run's public event stream (`qaagent.model.events`): each is a subscriber of
the run's publisher, with a `tick` for what changes with time alone. `RunTally` keeps what the
events said so far: each task's state, its tests passed, failed and collected, the test running
now, and the run's ETA. Plain lines need nothing beyond the standard library and pydantic, so a
run whose output is not a terminal starts without importing rich; the live board (in
`console`) is imported only for a terminal. Both show text from tests with secret values masked
and with no escape sequence that could act on the terminal.
"""

from __future__ import annotations

import secrets as tokens
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from qaagent.model import events
from qaagent.model.outcomes import (
    COUNT_LABELS,
    CUT_SHORT_LABELS,
    FAILING_TASKS,
    FAILING_TESTS,
    Counts,
    TaskOutcome,
    describe_counts,
)
from qaagent.model.results import TaskResult
from qaagent.reporting.terminal import paint, terminal_safe
from qaagent.secrets import NO_SECRETS, SecretValues

Clock = Callable[[], float]
FAILURE_LINES = 15
PROGRESS_EVERY = 10.0
OUTCOME_COLOURS = {
    TaskOutcome.passed: "green",
    TaskOutcome.failed: "red",
    TaskOutcome.error: "red",
    TaskOutcome.timed_out: "red",
    TaskOutcome.not_run: "yellow",
    TaskOutcome.interrupted: "yellow",
    TaskOutcome.cached: "cyan",
}
TERMINAL_OVERRIDES = ("FORCE_TERMINAL", "TTY_INTERACTIVE", "TTY_COMPATIBLE")


@dataclass
class TaskTally:
    """One task as its events told it: state, tests so far, the test running now."""

    name: str
    expected: float | None = None
    expected_tests: int | None = None
    state: str = "queued"
    worker: int | None = None
    started: float | None = None
    finished: float | None = None
    collected: int | None = None
    outcomes: dict[str, str] = field(default_factory=dict)
    final: Counts | None = None
    current: str = ""
    last_line: str = ""

    @property
    def passed(self) -> int:
        """Tests passed: the final count once the task ended, the live feed's before."""
        if self.final is not None:
            return self.final.passed + self.final.flaky
        return sum(outcome == "passed" for outcome in self.outcomes.values())

    @property
    def failed(self) -> int:
        """Tests failed or in error; a test rerun counts by its latest outcome."""
        if self.final is not None:
            return self.final.failed + self.final.errors
        return sum(outcome in FAILING_TESTS for outcome in self.outcomes.values())

    @property
    def done(self) -> int:
        """Tests that ended, whatever their outcome."""
        return self.final.total if self.final is not None else len(self.outcomes)

    @property
    def total(self) -> int | None:
        """Tests the task runs: collected, else as planned (never fewer than ended), or None.

        A rerun collects only what failed, so the largest collection counts.
        """
        if self.final is not None:
            return self.final.total
        known = self.collected if self.collected is not None else self.expected_tests
        return None if known is None else max(known, self.done)

    def elapsed(self, now: float) -> float:
        """Seconds it has run, or ran; zero while queued."""
        if self.started is None:
            return 0.0
        return (self.finished or now) - self.started


class RunTally:
    """What the run's events said so far, for the board and the plain lines to show."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.workers = 1
        self.tasks: dict[str, TaskTally] = {}

    def apply(self, event: events.EventBase) -> None:
        """Update the task the event is about."""
        if isinstance(event, events.Planned):
            self.workers = event.workers
            self.tasks = {
                task.name: TaskTally(task.name, task.expected_seconds, task.expected_tests)
                for task in event.tasks
            }
            return
        name = getattr(event, "task", None)
        if isinstance(name, str):
            self._apply_to(self.tasks.setdefault(name, TaskTally(name)), event)

    def _apply_to(self, task: TaskTally, event: events.EventBase) -> None:
        now = self.clock()
        if isinstance(event, events.TaskStarted):
            task.state, task.started, task.worker = "running", now, event.worker
        elif isinstance(event, events.TaskOutput):
            task.last_line = event.line
        elif isinstance(event, events.TestsCollected):
            task.collected = max(task.collected or 0, event.count)
        elif isinstance(event, events.TestStarted):
            task.current = event.test
        elif isinstance(event, events.TestFinished):
            task.outcomes[event.test] = event.outcome
            if task.current == event.test:
                task.current = ""
        elif isinstance(event, events.TaskFinished):
            task.state, task.finished, task.current = event.outcome, now, ""
            task.final = Counts.model_validate(event.counts)

    def elapsed(self) -> float:
        """Seconds since the progress began."""
        return self.clock() - self.started

    def finished(self) -> list[TaskTally]:
        """Tasks that ended."""
        return [task for task in self.tasks.values() if task.finished is not None]

    def failed_tasks(self) -> int:
        """Tasks that ended failed, in error or timed out."""
        return sum(task.state in FAILING_TASKS for task in self.finished())

    def tests_done(self) -> int:
        """Tests that ended, over every task."""
        return sum(task.done for task in self.tasks.values())

    def tests_total(self) -> int | None:
        """Tests the run runs, once every task's count is known."""
        totals = [task.total for task in self.tasks.values()]
        return None if None in totals else sum(total or 0 for total in totals)

    def eta(self) -> float | None:
        """Seconds left: from the recorded durations, else from the rate of tests so far."""
        now = self.clock()
        left = [task for task in self.tasks.values() if task.finished is None]
        if not left:
            return 0.0
        by_duration = self._eta_from_durations(left, now)
        return by_duration if by_duration is not None else self._eta_from_rate(left, now)

    def _eta_from_durations(self, left: list[TaskTally], now: float) -> float | None:
        """What the unfinished tasks' recorded durations leave, shared by the workers.

        None when a task has no recorded duration. A run lasts at least as long as its longest
        remaining task, however many workers share the rest.
        """
        remaining = [
            max(0.0, task.expected - task.elapsed(now))
            for task in left
            if task.expected is not None
        ]
        if len(remaining) < len(left):
            return None
        return max(*remaining, sum(remaining) / self.workers)

    def _eta_from_rate(self, left: list[TaskTally], now: float) -> float | None:
        """Time per test so far times the tests left; None before a test ended or a count is known."""
        done = self.tests_done()
        totals = [task.total for task in left]
        if done == 0 or None in totals:
            return None
        tests_left = sum((task.total or 0) - task.done for task in left)
        return (now - self.started) / done * tests_left


def progress_line(tally: RunTally) -> str:
    """`progress: 12/40 tests, 3 of 5 tasks done, 1 failed, ETA 25s`, with what is known."""
    total = tally.tests_total()
    done = tally.tests_done()
    parts = [
        f"{done}/{total} tests" if total is not None else f"{done} tests",
        f"{len(tally.finished())} of {len(tally.tasks)} tasks done",
    ]
    if failed := tally.failed_tasks():
        parts.append(f"{failed} failed")
    if (eta := tally.eta()) is not None:
        parts.append(f"ETA {eta:.0f}s")
    return "progress: " + ", ".join(parts)


def failing_test_line(event: events.TestFinished) -> str:
    """`FAIL  unit: tests/test_x.py::test_y (0.3s) — assert 1 == 2`: a failing test as it ends."""
    label = "FAIL" if event.outcome == "failed" else event.outcome.upper()
    line = f"{label:<5} {event.task}: {event.test}"
    if event.duration is not None:
        line += f" ({event.duration:.1f}s)"
    message = (event.message or "").strip().splitlines()
    return f"{line} — {message[0]}" if message else line


def counts_text(finished: events.TaskFinished) -> str:
    """`3 passed, 1 failed` with only the non-zero counts."""
    return describe_counts(Counts.model_validate(finished.counts)) or "no tests"


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


def finished_where(finished: events.TaskFinished) -> str:
    """`in 3.2s`, or for a cached task the run that stands for it."""
    if finished.cached_from is not None:
        return f"from run {finished.cached_from}"
    return f"in {finished.duration:.1f}s"


def failure_lines(finished: events.TaskFinished) -> list[str]:
    """A failing task's reason and last output lines, to print together under its name.

    The same lines as the live board's coloured block (`console.failure_block`).
    """
    lines = [f"── {finished.task}: {finished.outcome} ──"]
    if finished.error:
        lines.append(finished.error.splitlines()[0])
    lines += finished.tail[-FAILURE_LINES:]
    if finished.log is not None:
        lines.append(f"log: {finished.log}")
    return lines


class PlainProgress:
    """A line when a task starts, when a test fails, when a task ends, and a progress line
    at most every ten seconds.

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
        clock: Clock = time.monotonic,
    ) -> None:
        self.stream = stream
        self.secrets = secrets
        self.groups = groups
        self.colour = colour
        self.tally = RunTally(clock)
        self.last_progress = self.tally.started
        self.reader_gone = False

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def __call__(self, event: events.EventBase) -> None:
        """Print task starts and ends and failing tests; output lines stay in the task's log."""
        self.tally.apply(event)
        if isinstance(event, events.TaskStarted):
            self._write(f"start  {event.task} (worker {event.worker})")
        elif isinstance(event, events.TestFinished) and event.outcome in FAILING_TESTS:
            self._write(self._painted(failing_test_line(event), "red"))
        elif isinstance(event, events.Stopping):
            self._write(event.message)
        elif isinstance(event, events.TaskFinished):
            self._finished(event)

    def tick(self) -> None:
        """A progress line when the last one is ten seconds old."""
        now = self.tally.clock()
        if now - self.last_progress >= PROGRESS_EVERY:
            self.last_progress = now
            self._write(progress_line(self.tally))

    def _finished(self, finished: events.TaskFinished) -> None:
        outcome = TaskOutcome(finished.outcome)
        shown = self._painted(f"{outcome:<6}", OUTCOME_COLOURS[outcome])
        self._write(f"{shown} {finished.task}: {counts_text(finished)} {finished_where(finished)}")
        if outcome in FAILING_TASKS:
            lines = failure_lines(finished)
            if self.groups:
                lines = grouped(f"{finished.task}: {finished.outcome}", lines)
            self._write("\n".join(lines) + "\n")

    def _painted(self, text: str, colour: str) -> str:
        return paint(text, colour) if self.colour else text

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
        f"{result.duration:.1f}s" if result.cached_from is None else f"from {result.cached_from}",
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
