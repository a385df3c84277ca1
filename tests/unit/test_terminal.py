"""Test output echoed on a terminal: printable text and, where colour is on, SGR colours only."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.text import Text
from test_progress_events import task_finished

from qaagent.execute.events import EventPublisher
from qaagent.model import events
from qaagent.model.outcomes import TaskOutcome
from qaagent.model.results import TaskResult
from qaagent.reporting.console import LiveBoard, failure_block
from qaagent.reporting.progress import PlainProgress
from qaagent.reporting.terminal import console_colours, terminal_safe
from qaagent.secrets import SecretValues
from qaagent.terminal import colour_choice, colour_wanted

RED = "\x1b[31mred\x1b[0m"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x1b]0;window title\x07b", "ab"),
        ("a\x1b]0;window title\x1b\\b", "ab"),
        ("a\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),
        ("a\x1b]52;c;ZWNobyBwd25lZA==\x07b", "ab"),
        ("a\x1b[2Jb", "ab"),
        ("a\x1b[1;1Hb", "ab"),
        ("a\x1bcb", "ab"),
        ("a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),
        ("a\x1b[6nb", "ab"),
        ("a\x9b6nb", "ab"),
        ("a\x1b]0;never terminated", "a"),
        ("a\x1b", "a"),
        ("a\rb\x08c\x07d\x00e", "abcde"),
        ("tab\tand é ü ✓", "tab\tand é ü ✓"),
    ],
)
def test_only_printable_text_is_echoed(raw: str, shown: str) -> None:
    assert terminal_safe(raw) == shown
    assert terminal_safe(raw, colour=True) == shown


def test_colour_sequences_are_kept_only_where_colour_is_on() -> None:
    assert terminal_safe(f"x {RED} \x1b[1;38;5;196mbold") == "x red bold"
    assert terminal_safe(f"x {RED}\x1b[2J", colour=True) == f"x {RED}"


def failing(tail: list[str], error: str | None = None) -> TaskResult:
    return TaskResult(
        task="login",
        suite="login",
        kind="command",
        outcome=TaskOutcome.failed,
        tail=tail,
        error=error,
    )


def test_plain_progress_prints_failures_without_escapes_or_secrets() -> None:
    stream = io.StringIO()
    progress = PlainProgress(stream, SecretValues(["hunter22"]))
    tail = ["\x1b]52;c;ZXZpbA==\x07copied", f"{RED} pw=hunter22", "\x1b[2J\x1bccleared"]
    result = failing(tail, error="\x1b]0;title\x07boom hunter22")
    progress(task_finished(result))
    printed = stream.getvalue()
    assert "\x1b" not in printed
    assert "copied\nred pw=***\ncleared\n" in printed
    assert "boom ***" in printed


def test_the_live_board_echoes_colours_but_no_other_sequence() -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, color_system="standard", width=100)
    tail = ["\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", f"{RED} pw=hunter22"]
    board = LiveBoard(console, SecretValues(["hunter22"]))
    publisher = EventPublisher("run-1")
    publisher.subscribe(board)
    with board:
        publisher.publish(events.TaskStarted, task="login", worker=0)
        publisher.publish(events.TaskOutput, task="login", line="\x1b[6n\x1b]52;c;ZXZpbA==\x07out")
        plain = Console(file=io.StringIO(), width=120, color_system=None)
        plain.print(board.render())
        board(task_finished(failing(tail)))
    row = plain.file.getvalue().splitlines()[1]
    assert row.startswith(" login  running") and row.rstrip().endswith(" out") and "\x1b" not in row
    printed = stream.getvalue()
    assert "\x1b]" not in printed and "\x1b[6n" not in printed
    assert "click" in printed and "pw=***" in printed and "hunter22" not in printed
    assert "\x1b[2;31mred" in printed


def test_the_failure_block_keeps_colours_for_rich_to_show_or_drop() -> None:
    block = failure_block(task_finished(failing([RED])))
    assert block.plain.splitlines()[1] == "red"
    assert any("red" in str(span.style) for span in block.spans)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"NO_COLOR": "1"}, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
        ({"NO_COLOR": "", "FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": "true"}, True),
        ({"FORCE_COLOR": "0"}, None),
    ],
)
def test_no_color_turns_colour_off_and_force_color_on(
    environ: dict[str, str], expected: bool | None
) -> None:
    assert colour_choice(environ) is expected
    assert colour_wanted(io.StringIO(), environ) is bool(expected)


def test_a_rich_console_under_no_color_writes_no_escape_sequence_at_all() -> None:
    environ = {"NO_COLOR": "1", "FORCE_COLOR": "1"}
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, **console_colours(environ))
    console.print(Text("failed", style="bold red"))
    assert stream.getvalue() == "failed\n"
    forced = io.StringIO()
    Console(file=forced, **console_colours({"FORCE_COLOR": "1"})).print(Text("x", style="red"))
    assert "\x1b[31m" in forced.getvalue()


def test_plain_progress_colours_the_outcome_only_when_colour_is_wanted() -> None:
    result = TaskResult(task="unit", suite="unit", kind="pytest", outcome=TaskOutcome.passed)
    coloured, plain = io.StringIO(), io.StringIO()
    PlainProgress(coloured, colour=True)(task_finished(result))
    PlainProgress(plain)(task_finished(result))
    assert coloured.getvalue().startswith("\x1b[32mpassed\x1b[0m unit: ")
    assert "\x1b" not in plain.getvalue()
