"""How one test and one task ended, and the counts every report shows."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


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
