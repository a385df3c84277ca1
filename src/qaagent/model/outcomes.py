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
    timed_out = "timed-out"
    interrupted = "interrupted"


UNFINISHED = frozenset({CaseStatus.timed_out, CaseStatus.interrupted})


class TaskOutcome(StrEnum):
    """Outcome of a whole task, which decides the exit code.

    `cached` is a task not run because an earlier passing run of the same inputs stands for it.
    """

    passed = "passed"
    failed = "failed"
    error = "error"
    timed_out = "timed-out"
    not_run = "not-run"
    interrupted = "interrupted"
    cached = "cached"


SUCCEEDED = frozenset({TaskOutcome.passed, TaskOutcome.cached})
FAILING_TASKS = frozenset({TaskOutcome.failed, TaskOutcome.error, TaskOutcome.timed_out})
"""The task outcomes shown as failures, with their last lines and their log."""
FAILING_TESTS = frozenset({"failed", "error"})
"""The outcome words of a live feed's tests that count as failures."""
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
    cost: float | None = Field(
        None, description="What the test spent as its suite counts it (tokens, calls), if said."
    )

    @property
    def test_key(self) -> str:
        """The id without the ` #<repeat>` suffix: every case of one test shares it."""
        return self.id.removesuffix(f" #{self.repeat}") if self.repeat > 1 else self.id


class Counts(BaseModel):
    """Per-status totals of a task's final test results; flaky passes are counted apart.

    `xfailed` and `xpassed` are pytest's expected failures and unexpected passes, counted as its
    summary line counts them; a strict unexpected pass is a failure. `timed_out` and
    `interrupted` are the tests that were running when the task timed out or was stopped, and
    `not_run` the tests the tool collected but never started.
    """

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    flaky: int = 0
    xfailed: int = Field(0, description="Expected failures (pytest's xfail) that failed.")
    xpassed: int = Field(0, description="Expected failures that passed (non-strict xfail).")
    timed_out: int = Field(0, description="Tests running when the task timed out.")
    interrupted: int = Field(0, description="Tests running when the task was stopped.")
    not_run: int = Field(0, description="Tests collected but never started.")

    @property
    def total(self) -> int:
        """Every test once."""
        return sum(getattr(self, label) for label in COUNT_LABELS)

    @classmethod
    def of(cls, cases: list[TestCase]) -> Counts:
        """Count final cases, each once."""
        counts = cls()
        for case in cases:
            label = "flaky" if case.flaky else STATUS_LABELS[case.status]
            setattr(counts, label, getattr(counts, label) + 1)
        return counts


STATUS_LABELS = {
    CaseStatus.passed: "passed",
    CaseStatus.failed: "failed",
    CaseStatus.error: "errors",
    CaseStatus.skipped: "skipped",
    CaseStatus.xfailed: "xfailed",
    CaseStatus.xpassed: "xpassed",
    CaseStatus.timed_out: "timed_out",
    CaseStatus.interrupted: "interrupted",
}
"""The counter each status of a final case adds to."""
COUNT_LABELS = (
    "passed",
    "failed",
    "errors",
    "skipped",
    "flaky",
    "xfailed",
    "xpassed",
    "timed_out",
    "interrupted",
    "not_run",
)
CUT_SHORT_LABELS = ("timed_out", "interrupted", "not_run")


def describe_counts(counts: BaseModel) -> str:
    """`3 passed, 1 timed out`: the non-zero counts in a fixed order."""
    return ", ".join(
        f"{getattr(counts, label)} {label.replace('_', ' ')}"
        for label in COUNT_LABELS
        if getattr(counts, label)
    )


def task_counts(outcome: TaskOutcome, cases: list[TestCase], not_run: int = 0) -> Counts:
    """Counts of a task's final cases and unstarted tests, plus the task's own error if any.

    JUnit and CI systems have no other way to show a task that crashed, timed out, was
    interrupted or never ran, so every report counts that task-level error once, unless a
    test that was running when it ended stands for it.
    """
    counts = Counts.of(cases)
    counts.not_run = not_run
    if has_task_error(outcome, counts):
        counts.errors += 1
    return counts


def total_cost(cases: list[TestCase]) -> float | None:
    """What the tests spent together; None when none of them said."""
    costs = [case.cost for case in cases if case.cost is not None]
    return sum(costs) if costs else None


def has_task_error(outcome: TaskOutcome, counts: Counts) -> bool:
    """Whether a task ended badly with no timed-out or interrupted test naming where."""
    return outcome in TASK_PROBLEMS and not (counts.timed_out or counts.interrupted)
