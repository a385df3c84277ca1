"""How a runner is called: its context, its protocol, and the tool adapter of the attempt loop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from qaagent.model.live import LiveTest
from qaagent.model.outcomes import TestCase
from qaagent.model.results import Segment, TaskResult
from qaagent.model.task import Task
from qaagent.processes.watchdog import ProcessGuard
from qaagent.secrets import NO_SECRETS, SecretValues


@dataclass
class RunContext:
    """What the orchestrator gives a runner for one task."""

    output_dir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    chromium: str | None = None
    on_output: Callable[[str], None] | None = None
    on_test: Callable[[LiveTest], None] | None = None
    secrets: SecretValues = NO_SECRETS
    guard: ProcessGuard = field(default_factory=ProcessGuard)


class Runner(Protocol):
    """Runs one task to completion (retries included) and reports what the tool did."""

    def run(self, task: Task, context: RunContext) -> TaskResult: ...


class ToolUnavailable(Exception):
    """The tool cannot start at all (its interpreter or package is missing); retrying won't help."""

    def __init__(self, message: str, command: list[str]) -> None:
        super().__init__(message)
        self.message = message
        self.command = command


@dataclass(frozen=True)
class Invocation:
    """How to start one attempt of a tool, and where it will write its JUnit XML.

    `env` holds only the tool's own variables; the runner adds them on top of the task's
    environment. `junit` is a file, or a folder whose `*.xml` files are all read (behave).
    `$VAR` and `${VAR}` in `argv` are expanded from the final environment. `partial` says the
    attempt runs only the tests to rerun, so its cases update the earlier ones instead of
    replacing them.
    """

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    junit: Path
    notes: list[str] = field(default_factory=list)
    partial: bool = False


class ToolAdapter(Protocol):
    """The tool-specific part of a runner; the attempt loop, retries and parsing are shared."""

    def invocation(
        self, task: Task, context: RunContext, attempt_dir: Path, rerun: list[TestCase]
    ) -> Invocation:
        """Command for the first attempt (`rerun` empty) or a retry of exactly `rerun`.

        Raises ToolUnavailable when the tool cannot start in the suite's environment.
        """
        ...

    def infrastructure_error(self, exit_code: int, cases: list[TestCase]) -> str | None:
        """Why an exit code means the tool could not run (pytest 4 or 5), or None."""
        ...

    def artifacts(self, attempt_dir: Path, invocation: Invocation) -> list[Path]:
        """Screenshots, traces, videos and other files the tool left for this attempt."""
        ...

    def cases_without_junit(
        self, task: Task, exit_code: int, tail: list[str]
    ) -> list[TestCase] | None:
        """Cases to report when the tool wrote no JUnit XML, or None when that is an error."""
        ...

    def segments(self, output_dir: Path) -> list[Segment]:
        """The parts the task's first attempt ran as, each with its own log; empty for one."""
        ...
