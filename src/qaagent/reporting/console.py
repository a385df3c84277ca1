"""What a person sees on a terminal: the live board of tasks, and the final table of a run.

Plain progress lines for CI and pipes live in `progress`, which needs no rich.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from qaagent.execute.backend import Event, EventKind
from qaagent.model.outcomes import TaskOutcome
from qaagent.model.results import TaskResult
from qaagent.model.task import Task
from qaagent.reporting.progress import (
    FAILING,
    FAILURE_LINES,
    closing_lines,
    summary_columns,
    summary_labels,
    summary_row,
)
from qaagent.reporting.terminal import terminal_safe
from qaagent.secrets import NO_SECRETS, SecretValues

REFRESH_INTERVAL = 0.25
STYLES = {
    TaskOutcome.passed: "green",
    TaskOutcome.failed: "red",
    TaskOutcome.error: "red",
    TaskOutcome.timed_out: "red",
    TaskOutcome.not_run: "yellow",
    TaskOutcome.interrupted: "yellow",
}


def is_interactive(console: Console, environ: Mapping[str, str]) -> bool:
    """A live board only on a real terminal outside CI; `CI=false` or `CI=0` says it is not CI."""
    return console.is_terminal and environ.get("CI", "").strip().lower() in ("", "false", "0")


def failure_block(result: TaskResult, secrets: SecretValues = NO_SECRETS) -> Text:
    """A failing task's reason and last output lines, printed together under its name."""
    lines = [shown(f"── {result.task}: {result.outcome} ──", secrets, style="bold red")]
    if result.error:
        lines.append(shown(result.error.splitlines()[0], secrets))
    lines += [shown(line, secrets, style="dim") for line in result.tail[-FAILURE_LINES:]]
    if result.log_path is not None:
        lines.append(shown(f"log: {result.log_path}", secrets))
    return Text("\n").join(lines).append("\n")


def shown(text: str, secrets: SecretValues, style: str = "") -> Text:
    """Text from a test as rich will print it: secrets masked, colours kept, other escapes gone.

    Rich drops the colours itself where the console has none.
    """
    return Text.from_ansi(secrets.mask(terminal_safe(text, colour=True)), style=style, end="")


@dataclass
class _Row:
    """A task's line on the live board."""

    task: str
    state: str = "queued"
    started: float | None = None
    finished: float | None = None
    last_line: str = ""
    worker: int | None = None


class LiveBoard:
    """A rich Live table of tasks, redrawn at most four times a second.

    A terminal that goes away (closed window, dropped SSH session) ends the drawing, not the run.
    """

    def __init__(
        self,
        console: Console,
        tasks: Sequence[Task],
        expected: Mapping[str, float],
        secrets: SecretValues = NO_SECRETS,
    ) -> None:
        self.console = console
        self.expected = expected
        self.secrets = secrets
        self.rows = {task.name: _Row(task.name) for task in tasks}
        self.started = time.monotonic()
        self._last_refresh = 0.0
        self._live = Live(self.render(), console=console, auto_refresh=False, redirect_stdout=False)
        self.terminal_gone = False

    def _draw(self, action: Callable[[], object]) -> None:
        """Draw unless the terminal went away; a write that fails ends all drawing."""
        if self.terminal_gone:
            return
        try:
            action()
        except OSError:
            self.terminal_gone = True

    def _redraw(self) -> None:
        self._live.update(self.render(), refresh=True)

    def __enter__(self) -> LiveBoard:
        self._draw(self._live.start)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._draw(self._redraw)
        self._draw(self._live.stop)

    def event(self, event: Event) -> None:
        """Move the task's row; print a failing task's last lines above the board."""
        if event.kind is EventKind.stopping:
            line = shown(event.line or "", self.secrets, style="yellow")
            self._draw(lambda: self._live.console.print(line, highlight=False))
            return
        row = self.rows.get(event.task)
        if row is None:
            return
        now = time.monotonic()
        if event.kind is EventKind.started:
            row.state, row.started, row.worker = "running", now, event.worker
        elif event.kind is EventKind.output and event.line is not None:
            row.last_line = self.secrets.mask(terminal_safe(event.line)).strip()
        elif event.kind is EventKind.finished and event.result is not None:
            row.state, row.finished = str(event.result.outcome), now
            if event.result.outcome in FAILING:
                block = failure_block(event.result, self.secrets)
                self._draw(lambda: self._live.console.print(block, highlight=False, soft_wrap=True))
        self.tick()

    def tick(self) -> None:
        """Redraw when the last redraw is old enough."""
        now = time.monotonic()
        if now - self._last_refresh >= REFRESH_INTERVAL:
            self._last_refresh = now
            self._draw(self._redraw)

    def render(self) -> Group:
        """The board: one row per task, then totals by state."""
        now = time.monotonic()
        table = Table(box=None)
        table.add_column("task", no_wrap=True, min_width=max(map(len, self.rows), default=4))
        for name in ("state", "elapsed", "expected"):
            table.add_column(name, no_wrap=True)
        table.add_column("output", no_wrap=True, overflow="ellipsis", max_width=60)
        for row in self.rows.values():
            table.add_row(
                Text(row.task),
                Text(row.state, style=self._style(row.state)),
                _elapsed(row, now),
                f"~{self.expected[row.task]:.0f}s" if row.task in self.expected else "",
                Text(row.last_line, style="dim") if row.state == "running" else "",
            )
        states = [row.state for row in self.rows.values()]
        totals = ", ".join(
            f"{states.count(state)} {state}"
            for state in ("running", "queued", "passed", "failed", "error", "timed-out")
            if states.count(state)
        )
        return Group(table, Text(f"{totals} · {now - self.started:.0f}s", style="bold"))

    @staticmethod
    def _style(state: str) -> str:
        if state in ("running", "queued"):
            return "cyan" if state == "running" else "dim"
        return STYLES.get(TaskOutcome(state), "")


def _elapsed(row: _Row, now: float) -> str:
    if row.started is None:
        return ""
    return f"{(row.finished or now) - row.started:.1f}s"


def print_summary(
    console: Console,
    results: Sequence[TaskResult],
    wall_time: float,
    run_dir: Path,
    status: str,
) -> None:
    """The final table, the timing line and where the evidence is."""
    table = Table(*summary_columns(results), box=None)
    labels = summary_labels(results)
    for result in results:
        task, outcome, *cells = summary_row(result, labels)
        table.add_row(Text(task), Text(outcome, style=STYLES.get(result.outcome, "")), *cells)
    if not console.is_terminal:
        wide = console.measure(table, options=console.options.update_width(1000)).maximum
        console.width = max(console.width, wide)
    console.print(table)
    timing, location = closing_lines(results, wall_time, run_dir, status)
    console.print(timing, highlight=False)
    console.print(location, highlight=False, soft_wrap=True)
