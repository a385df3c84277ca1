"""What a runner returns: test cases, attempts and the suite result, as plain pydantic data."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field

from qaagent.plan import Task
from qaagent.secrets import NO_SECRETS, SecretValues


class CaseStatus(StrEnum):
    """Outcome of one test in one attempt."""

    passed = "passed"
    failed = "failed"
    error = "error"
    skipped = "skipped"
    xfailed = "xfailed"
    xpassed = "xpassed"


class TaskOutcome(StrEnum):
    """Outcome of a whole task, which decides the exit code."""

    passed = "passed"
    failed = "failed"
    error = "error"
    timed_out = "timed-out"
    not_run = "not-run"
    interrupted = "interrupted"


TASK_PROBLEMS = frozenset(
    {TaskOutcome.error, TaskOutcome.timed_out, TaskOutcome.not_run, TaskOutcome.interrupted}
)


class TestCase(BaseModel):
    """One test as the tool reported it in one attempt."""

    __test__ = False

    id: str = Field(
        description="Stable id used to rerun it: a pytest node id, else classname::name."
    )
    classname: str = ""
    name: str
    file: str | None = None
    line: int | None = None
    status: CaseStatus
    duration: float = 0.0
    message: str | None = None
    output: str | None = None
    properties: dict[str, str] = Field(default_factory=dict)
    flaky: bool = Field(False, description="Failed in an earlier attempt, passed in a later one.")
    repeat: int = Field(
        1,
        description="Which occurrence of the same test in one report this is (pytest reports a "
        "teardown error as a second case); from 2 on, the id ends with ` #<repeat>`.",
    )

    @property
    def test_key(self) -> str:
        """The id without the ` #<repeat>` suffix: every case of one test shares it."""
        return self.id.removesuffix(f" #{self.repeat}") if self.repeat > 1 else self.id


class Counts(BaseModel):
    """Per-status totals of a task's final test results; flaky passes are counted apart.

    `xfailed` and `xpassed` are pytest's expected failures and unexpected passes, counted as its
    summary line counts them; a strict unexpected pass is a failure.
    """

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    flaky: int = 0
    xfailed: int = Field(0, description="Expected failures (pytest's xfail) that failed.")
    xpassed: int = Field(0, description="Expected failures that passed (non-strict xfail).")

    @property
    def total(self) -> int:
        """Every test once."""
        return sum(getattr(self, label) for label in COUNT_LABELS)

    @classmethod
    def of(cls, cases: list[TestCase]) -> Counts:
        """Count final cases, each once."""
        counts = cls()
        for case in cases:
            if case.flaky:
                counts.flaky += 1
            elif case.status is CaseStatus.passed:
                counts.passed += 1
            elif case.status is CaseStatus.failed:
                counts.failed += 1
            elif case.status is CaseStatus.error:
                counts.errors += 1
            elif case.status is CaseStatus.xfailed:
                counts.xfailed += 1
            elif case.status is CaseStatus.xpassed:
                counts.xpassed += 1
            else:
                counts.skipped += 1
        return counts


COUNT_LABELS = ("passed", "failed", "errors", "skipped", "flaky", "xfailed", "xpassed")


def describe_counts(counts: BaseModel) -> str:
    """`3 passed, 1 failed`: the non-zero counts in a fixed order."""
    return ", ".join(
        f"{getattr(counts, label)} {label}" for label in COUNT_LABELS if getattr(counts, label)
    )


def task_counts(outcome: TaskOutcome, cases: list[TestCase]) -> Counts:
    """Counts of a task's final cases, plus one error for the task itself when it ended badly.

    JUnit and CI systems have no other way to show a task that crashed, timed out, was
    interrupted or never ran, so every report counts that task-level error once.
    """
    counts = Counts.of(cases)
    if outcome in TASK_PROBLEMS:
        counts.errors += 1
    return counts


class Attempt(BaseModel):
    """One invocation of the tool: the first run or a retry of what failed."""

    number: int
    command: list[str]
    exit_code: int | None = None
    started_at: datetime
    finished_at: datetime
    timed_out: bool = False
    cancelled: bool = False
    cases: list[TestCase] = Field(default_factory=list)
    error: str | None = Field(None, description="Why the attempt could not produce results.")
    reason: str | None = Field(None, description="Why the attempt ran: null for the first.")
    log_path: Path | None = None
    junit_paths: list[Path] = Field(default_factory=list)

    @property
    def duration(self) -> float:
        """Wall seconds of the attempt."""
        return (self.finished_at - self.started_at).total_seconds()


class Segment(BaseModel):
    """One part of a task that ran on its own worker: a shard of a split suite."""

    label: str
    worker: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: TaskOutcome
    log_path: Path | None = None


class SuiteResult(BaseModel):
    """Everything one task produced: final cases, every attempt, files, timings."""

    task: str
    suite: str
    kind: str
    outcome: TaskOutcome
    counts: Counts = Field(default_factory=Counts)
    cases: list[TestCase] = Field(default_factory=list)
    attempts: list[Attempt] = Field(default_factory=list)
    exit_code: int | None = None
    error: str | None = None
    output_dir: Path | None = None
    log_path: Path | None = None
    artifacts: list[Path] = Field(default_factory=list)
    tail: list[str] = Field(
        default_factory=list, description="Last lines of output, for the console."
    )
    started_at: datetime | None = None
    finished_at: datetime | None = None
    worker: int | None = None
    matrix: dict[str, str] = Field(default_factory=dict)
    segments: list[Segment] = Field(
        default_factory=list, description="The shards a split suite ran as, each on its worker."
    )

    @property
    def duration(self) -> float:
        """Wall seconds from start to finish, 0 when it never ran."""
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def busy_time(self) -> float:
        """Worker seconds spent: the sum over the shards of a split suite, else the duration."""
        if not self.segments:
            return self.duration
        return sum(
            (segment.finished_at - segment.started_at).total_seconds()
            for segment in self.segments
            if segment.started_at is not None and segment.finished_at is not None
        )


@dataclass
class RunContext:
    """What the orchestrator gives a runner for one task."""

    output_dir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    chromium: str | None = None
    on_output: Callable[[str], None] | None = None
    secrets: SecretValues = NO_SECRETS


class Runner(Protocol):
    """Runs one task to completion (retries included) and reports what the tool did."""

    def run(self, task: Task, context: RunContext) -> SuiteResult: ...


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
