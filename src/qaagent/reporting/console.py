"""What a person sees on a terminal: the live board of tasks and tests, and the final table.

Plain progress lines for CI and pipes live in `progress`, which needs no rich.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from qaagent.model import events
from qaagent.model.outcomes import FAILING_TASKS, TaskOutcome
from qaagent.model.results import TaskResult
from qaagent.reporting.progress import (
    FAILURE_LINES,
    Clock,
    RunTally,
    TaskTally,
    closing_lines,
    summary_columns,
    summary_labels,
    summary_row,
)
from qaagent.reporting.terminal import console_colours, terminal_safe
from qaagent.secrets import NO_SECRETS, SecretValues

REFRESH_INTERVAL = 0.25
BAR_WIDTH = 20
STYLES = {
    TaskOutcome.passed: "green",
    TaskOutcome.failed: "red",
    TaskOutcome.error: "red",
    TaskOutcome.timed_out: "red",
    TaskOutcome.not_run: "yellow",
    TaskOutcome.interrupted: "yellow",
    TaskOutcome.cached: "cyan",
}
TOTALS_ORDER = (
    "running",
    "queued",
    "passed",
    "cached",
    "failed",
    "error",
    "timed-out",
    "interrupted",
)


class BoardConsole(Console):
    """A console whose closed reader is an OSError for the board, not rich's exit of the program."""

    def on_broken_pipe(self) -> None:
        """Stay quiet from now on and let the board stop drawing."""
        self.quiet = True
        raise BrokenPipeError


def is_interactive(console: Console, environ: Mapping[str, str]) -> bool:
    """A live board only on a real terminal outside CI; `CI=false` or `CI=0` says it is not CI."""
    return console.is_terminal and environ.get("CI", "").strip().lower() in ("", "false", "0")


def live_board(
    stream: TextIO, environ: Mapping[str, str], secrets: SecretValues = NO_SECRETS
) -> LiveBoard | None:
    """The live board on the stream when it is an interactive terminal, else None."""
    console = BoardConsole(file=stream, highlight=False, markup=False, **console_colours(environ))
    return LiveBoard(console, secrets) if is_interactive(console, environ) else None


def failure_block(finished: events.TaskFinished, secrets: SecretValues = NO_SECRETS) -> Text:
    """A failing task's reason and last output lines, printed together under its name."""
    lines = [shown(f"── {finished.task}: {finished.outcome} ──", secrets, style="bold red")]
    if finished.error:
        lines.append(shown(finished.error.splitlines()[0], secrets))
    lines += [shown(line, secrets, style="dim") for line in finished.tail[-FAILURE_LINES:]]
    if finished.log is not None:
        lines.append(shown(f"log: {finished.log}", secrets))
    return Text("\n").join(lines).append("\n")


def shown(text: str, secrets: SecretValues, style: str = "") -> Text:
    """Text from a test as rich will print it: secrets masked, colours kept, other escapes gone.

    Rich drops the colours itself where the console has none.
    """
    return Text.from_ansi(secrets.mask(terminal_safe(text, colour=True)), style=style, end="")


class LiveBoard:
    """A rich Live table of tasks and their tests, redrawn at most four times a second.

    A subscriber of the run's events. A terminal that goes away (closed window, dropped SSH
    session) ends the drawing, not the run.
    """

    def __init__(
        self,
        console: Console,
        secrets: SecretValues = NO_SECRETS,
        clock: Clock = time.monotonic,
    ) -> None:
        self.console = console
        self.secrets = secrets
        self.tally = RunTally(clock)
        self._last_refresh = float("-inf")
        self._live = Live(console=console, auto_refresh=False, redirect_stdout=False)
        self.terminal_gone = False

    def _draw(self, action: Callable[[], object]) -> None:
        """Draw while the board is open and the terminal there; a failed write ends all drawing."""
        if self.terminal_gone or not self._live.is_started:
            return
        try:
            action()
        except OSError:
            self.terminal_gone = True

    def _redraw(self) -> None:
        self._live.update(self.render(), refresh=True)

    def __enter__(self) -> LiveBoard:
        if not self.terminal_gone:
            try:
                self._live.update(self.render())
                self._live.start()
            except OSError:
                self.terminal_gone = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._draw(self._redraw)
        self._draw(self._live.stop)

    def __call__(self, event: events.EventBase) -> None:
        """Move the task's row; print stops and failing tasks' last lines above the board."""
        self.tally.apply(event)
        if isinstance(event, events.Stopping):
            self._print(shown(event.message, self.secrets, style="yellow"))
        elif isinstance(event, events.TaskFinished) and TaskOutcome(event.outcome) in FAILING_TASKS:
            self._print(failure_block(event, self.secrets))
        self.tick()

    def _print(self, text: Text) -> None:
        self._draw(lambda: self._live.console.print(text, highlight=False, soft_wrap=True))

    def tick(self) -> None:
        """Redraw when the last redraw is old enough."""
        now = self.tally.clock()
        if now - self._last_refresh >= REFRESH_INTERVAL:
            self._last_refresh = now
            self._draw(self._redraw)

    def render(self) -> Group:
        """The board: one row per task with its tests, then totals by state and the ETA."""
        now = self.tally.clock()
        tasks = self.tally.tasks.values()
        table = Table(box=None)
        table.add_column("task", no_wrap=True, min_width=max(map(len, self.tally.tasks), default=4))
        table.add_column("state", no_wrap=True)
        table.add_column("tests", no_wrap=True, width=BAR_WIDTH)
        table.add_column("passed/failed/total", no_wrap=True, justify="right")
        table.add_column("elapsed", no_wrap=True, justify="right")
        table.add_column("expected", no_wrap=True, justify="right")
        table.add_column("now", no_wrap=True, overflow="ellipsis", max_width=60)
        for task in tasks:
            table.add_row(
                Text(task.name),
                Text(task.state, style=state_style(task.state)),
                tests_bar(task),
                tests_text(task),
                f"{task.elapsed(now):.0f}s" if task.started is not None else "",
                f"~{task.expected:.0f}s" if task.expected is not None else "",
                self._now_text(task),
            )
        return Group(table, Text(self.footer(), style="bold"))

    def footer(self) -> str:
        """`1 running, 2 queued, 3 passed · 12s · ETA 25s`."""
        states = [task.state for task in self.tally.tasks.values()]
        totals = ", ".join(
            f"{states.count(state)} {state}" for state in TOTALS_ORDER if states.count(state)
        )
        eta = self.tally.eta()
        shown_eta = f" · ETA {eta:.0f}s" if eta is not None else ""
        return f"{totals} · {self.tally.elapsed():.0f}s{shown_eta}"

    def _now_text(self, task: TaskTally) -> Text | str:
        """The test running now, else the last output line, while the task runs."""
        if task.state != "running":
            return ""
        text = task.current or task.last_line
        return Text(self.secrets.mask(terminal_safe(text)).strip(), style="dim")


def state_style(state: str) -> str:
    """The colour of a task's state."""
    if state in ("running", "queued"):
        return "cyan" if state == "running" else "dim"
    return STYLES.get(TaskOutcome(state), "")


def tests_bar(task: TaskTally) -> RenderableType:
    """A bar of the tests ended out of those collected; empty while the count is unknown."""
    total = task.total
    if not total:
        return ""
    style = "red" if task.failed else "green"
    return ProgressBar(
        total=total,
        completed=task.done,
        width=BAR_WIDTH,
        complete_style=style,
        finished_style=style,
    )


def tests_text(task: TaskTally) -> str:
    """`12/1/40`: passed, failed and collected tests; `?` while the count is unknown."""
    if not task.total and not task.done:
        return ""
    total = "?" if task.total is None else str(task.total)
    return f"{task.passed}/{task.failed}/{total}"


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
