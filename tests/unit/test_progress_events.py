"""The live board and the CI lines follow the run's public events: tasks, tests and the ETA."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from conftest import InProcessProject
from rich.console import Console

from qaagent.execute.events import EventPublisher, finished_fields
from qaagent.model import events
from qaagent.model.results import TaskResult
from qaagent.reporting.console import BoardConsole, LiveBoard
from qaagent.reporting.progress import PlainProgress, RunTally, progress_line
from qaagent.secrets import SecretValues


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def task_finished(result: TaskResult) -> events.TaskFinished:
    """The `task-finished` event the run publishes for the result."""
    return events.TaskFinished.model_validate(
        {"run_id": "run-1", "seq": 1, "time": datetime.now(UTC), **finished_fields(result)}
    )


def planned(publisher: EventPublisher, **expected: float | None) -> None:
    tasks = [
        {"name": name, "suite": name, "kind": "pytest", "expected_seconds": seconds}
        for name, seconds in expected.items()
    ]
    publisher.publish(events.Planned, workers=2, tasks=tasks)


def finished(publisher: EventPublisher, task: str, test: str, outcome: str, **fields: Any) -> None:
    publisher.publish(events.TestFinished, task=task, test=test, outcome=outcome, **fields)


def task_end(publisher: EventPublisher, task: str, outcome: str, **counts: int) -> None:
    publisher.publish(events.TaskFinished, task=task, outcome=outcome, counts=counts, duration=1.5)


def test_the_tally_counts_each_test_by_its_latest_outcome_and_keeps_the_largest_collection() -> (
    None
):
    tally = RunTally(Clock())
    publisher = EventPublisher("run-1")
    publisher.subscribe(tally.apply)
    planned(publisher, unit=None)
    publisher.publish(events.TaskStarted, task="unit", worker=0)
    publisher.publish(events.TestsCollected, task="unit", count=3)
    publisher.publish(events.TestStarted, task="unit", test="t.py::a")
    assert tally.tasks["unit"].current == "t.py::a"
    finished(publisher, "unit", "t.py::a", "failed")
    finished(publisher, "unit", "t.py::b", "passed")
    publisher.publish(events.TestsCollected, task="unit", count=1)
    finished(publisher, "unit", "t.py::a", "passed")
    unit = tally.tasks["unit"]
    assert (unit.passed, unit.failed, unit.total, unit.current) == (2, 0, 3, "")
    task_end(publisher, "unit", "passed", passed=3)
    assert (unit.state, unit.passed, unit.done, unit.total) == ("passed", 3, 3, 3)


def test_the_eta_comes_from_recorded_durations_shared_by_the_workers() -> None:
    clock = Clock()
    tally = RunTally(clock)
    publisher = EventPublisher("run-1")
    publisher.subscribe(tally.apply)
    planned(publisher, unit=30.0, lint=10.0, docs=20.0)
    publisher.publish(events.TaskStarted, task="unit", worker=0)
    publisher.publish(events.TaskStarted, task="lint", worker=1)
    clock.now += 6
    assert tally.eta() == 24.0
    task_end(publisher, "lint", "passed", passed=1)
    clock.now += 20
    assert tally.eta() == 20.0


def test_without_recorded_durations_the_eta_follows_the_rate_of_tests() -> None:
    clock = Clock()
    tally = RunTally(clock)
    publisher = EventPublisher("run-1")
    publisher.subscribe(tally.apply)
    planned(publisher, unit=None)
    publisher.publish(events.TaskStarted, task="unit", worker=0)
    assert tally.eta() is None
    publisher.publish(events.TestsCollected, task="unit", count=40)
    for number in range(10):
        finished(publisher, "unit", f"t.py::test_{number}", "passed")
    clock.now += 5
    assert tally.eta() == 15.0
    assert progress_line(tally) == "progress: 10/40 tests, 0 of 1 tasks done, ETA 15s"


def test_the_ci_lines_show_each_failing_test_as_it_ends_and_progress_every_ten_seconds() -> None:
    clock = Clock()
    stream = io.StringIO()
    progress = PlainProgress(stream, SecretValues(["hunter22"]), clock=clock)
    publisher = EventPublisher("run-1")
    publisher.subscribe(progress)
    planned(publisher, unit=None, lint=None)
    publisher.publish(events.TaskStarted, task="unit", worker=0)
    publisher.publish(events.TestsCollected, task="unit", count=4)
    finished(publisher, "unit", "t.py::ok", "passed", duration=0.1)
    message = "assert 1 == 2 \x1b]0;title\x07hunter22\nmore"
    finished(publisher, "unit", "t.py::bad", "failed", duration=0.3, message=message)
    finished(publisher, "unit", "t.py::broken", "error")
    clock.now += 9
    progress.tick()
    clock.now += 1
    progress.tick()
    progress.tick()
    task_end(publisher, "unit", "failed", passed=2, failed=1, errors=1)
    lines = stream.getvalue().splitlines()
    assert lines[:5] == [
        "start  unit (worker 0)",
        "FAIL  unit: t.py::bad (0.3s) — assert 1 == 2 ***",
        "ERROR unit: t.py::broken",
        "progress: 3 tests, 0 of 2 tasks done",
        "failed unit: 2 passed, 1 failed, 1 errors in 1.5s",
    ]


def test_a_cached_task_shows_the_run_it_comes_from_on_the_ci_lines_and_the_board() -> None:
    stream = io.StringIO()
    progress = PlainProgress(stream, SecretValues([]), clock=Clock())
    board = LiveBoard(Console(file=io.StringIO(), width=160), SecretValues([]), clock=Clock())
    publisher = EventPublisher("run-2")
    publisher.subscribe(progress)
    publisher.subscribe(board)
    planned(publisher, lint=None)
    publisher.publish(
        events.TaskFinished,
        task="unit",
        outcome="cached",
        counts={"passed": 3},
        duration=0.0,
        cached_from="run-1",
    )
    assert stream.getvalue().splitlines() == ["cached unit: 3 passed from run run-1"]
    assert "1 cached" in board.footer()


def test_the_board_shows_each_tasks_tests_the_current_test_and_the_eta() -> None:
    clock = Clock()
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=160, color_system=None)
    board = LiveBoard(console, SecretValues(["hunter22"]), clock=clock)
    publisher = EventPublisher("run-1")
    publisher.subscribe(board)
    planned(publisher, unit=20.0, lint=None)
    with board:
        publisher.publish(events.TaskStarted, task="unit", worker=0)
        publisher.publish(events.TestsCollected, task="unit", count=5)
        finished(publisher, "unit", "t.py::a", "passed")
        finished(publisher, "unit", "t.py::b", "failed")
        publisher.publish(events.TestStarted, task="unit", test="t.py::c[hunter22\x1b[2J]")
        clock.now += 4
        board.tick()
        drawn = stream.getvalue()
    assert "passed/failed/total" in drawn
    assert "1/1/5" in drawn
    assert "t.py::c[***]" in drawn and "hunter22" not in drawn and "\x1b[2J" not in drawn
    assert drawn.endswith("1 running, 1 queued · 4s")
    board.tally.tasks["lint"].expected = 5.0
    assert board.footer().endswith("· ETA 16s")


def test_the_board_stops_drawing_when_the_terminal_goes_away() -> None:
    class Terminal(io.StringIO):
        gone = False

        def write(self, text: str) -> int:
            if self.gone:
                raise BrokenPipeError
            return super().write(text)

    terminal = Terminal()
    board = LiveBoard(BoardConsole(file=terminal, force_terminal=True), clock=Clock())
    failed = TaskResult(task="unit", suite="unit", kind="pytest", outcome="failed", tail=["boom"])
    with board:
        terminal.gone = True
        board(task_finished(failed))
        assert board.terminal_gone
        board(task_finished(failed))
    assert "boom" not in terminal.getvalue()


PROFILE = """\
tests: {unit: {enabled: false}, behave: {enabled: false}, e2e: {enabled: false}}
suites:
  checks: {kind: command, command: ["checks"]}
  lint: {kind: command, command: ["lint"]}
run: {parallel: false}
"""


def test_a_run_prints_a_failing_test_as_it_ends_before_its_task_ends(
    in_process: InProcessProject,
) -> None:
    stream = io.StringIO()
    scripts = {"checks": ["passed", "failed", "passed"], "lint": ["passed"]}

    in_process.run(PROFILE, scripts, progress=lambda secrets: PlainProgress(stream, secrets))

    lines = stream.getvalue().splitlines()
    assert lines[:2] == ["start  checks (worker 0)", "FAIL  checks: checks::test_2 (0.0s)"]
    assert lines[2].startswith("failed checks: 2 passed, 1 failed in ")
    assert "passed lint: 1 passed in " in stream.getvalue()


def test_the_board_of_a_run_ends_with_each_tasks_tests(in_process: InProcessProject) -> None:
    stream = io.StringIO()
    console = BoardConsole(file=stream, force_terminal=True, width=160, color_system=None)
    scripts = {"checks": ["passed", "failed", "passed"], "lint": ["passed"]}

    in_process.run(PROFILE, scripts, progress=lambda secrets: LiveBoard(console, secrets))

    last_board = stream.getvalue().rsplit(" task ", 1)[-1]
    assert last_board.startswith("   state   tests ")
    assert "passed/failed/total" in last_board
    assert "2/1/3" in last_board and "1/0/1" in last_board
    assert "1 passed, 1 failed · 0s · ETA 0s" in last_board


def test_a_task_without_a_collection_count_shows_the_tests_it_is_planned_to_run() -> None:
    tally = RunTally(Clock())
    publisher = EventPublisher("run-1")
    publisher.subscribe(tally.apply)
    tasks = [
        {"name": "behave", "suite": "behave", "kind": "behave", "expected_tests": 4},
        {"name": "unit", "suite": "unit", "kind": "pytest", "expected_tests": 9},
    ]
    publisher.publish(events.Planned, workers=2, tasks=tasks)
    publisher.publish(events.TaskStarted, task="behave", worker=0)
    finished(publisher, "behave", "f::one", "passed")
    publisher.publish(events.TestsCollected, task="unit", count=3)
    assert tally.tasks["behave"].total == 4
    assert tally.tasks["unit"].total == 3
