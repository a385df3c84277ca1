"""`reports/summary.json`: a versioned summary of one run for scripts and dashboards.

The schema is the JSON Schema of `RunSummary` (`RunSummary.model_json_schema()`). Compatibility rule:
fields are only ever added within one `schema_version`; renaming or removing a field, or changing its
meaning, raises `schema_version`. Times are ISO 8601 with a time zone, durations are seconds.
Version 2 counts pytest's expected failures as `xfailed` (they were `skipped`) and its unexpected
passes as `xpassed` (they were `passed`). Each version's schema is kept in
`tests/fixtures/summary-schema-v<N>.json`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TextIO

from pydantic import BaseModel, Field

from qaagent.evidence.models import Category, Manifest, TaskEntry, TestRecord
from qaagent.evidence.stored import FAILING, RunBundle, as_utc
from qaagent.model.outcomes import TASK_PROBLEMS, Counts, TaskOutcome
from qaagent.model.run import RunStatus
from qaagent.reporting.progress import parallelism

SUMMARY_SCHEMA_VERSION = 2
SLOWEST_TESTS = 10


class SummaryCounts(BaseModel):
    """Final results, each test once; a task that ended badly is one error of its own."""

    total: int
    passed: int
    failed: int
    errors: int
    skipped: int
    flaky: int = Field(description="Failed first, then passed on a retry.")
    xfailed: int = Field(description="Expected failures (pytest's xfail) that failed.")
    xpassed: int = Field(description="Expected failures that passed (a non-strict xfail).")
    timed_out: int = Field(0, description="Tests running when their task timed out.")
    interrupted: int = Field(0, description="Tests running when their task was stopped.")
    not_run: int = Field(0, description="Tests collected but never started.")
    cost: float | None = Field(
        None, description="What the tests spent, as their suites count it; null if none said."
    )

    @classmethod
    def of(cls, counts: Counts, cost: float | None) -> SummaryCounts:
        """The manifest's counts with their total and cost."""
        return cls(total=counts.total, cost=cost, **counts.model_dump())


class RunInfo(BaseModel):
    """Which run this is and how it ended."""

    id: str
    status: RunStatus
    exit_code: int | None
    project: str | None
    git_commit: str | None
    argv: list[str]
    run_dir: str = Field(
        description="Absolute path of the run directory when the summary was made."
    )


class SlowTest(BaseModel):
    """One of the longest tests of the run."""

    task: str
    test_id: str
    duration: float


class Timings(BaseModel):
    """Where the time went: wall time against the sum of task times."""

    started_at: datetime
    finished_at: datetime | None
    wall_time: float = Field(description="Seconds from the run's start to its end.")
    task_time: float = Field(description="Sum of every task's duration in seconds.")
    speedup: float | None = Field(
        None,
        description="Kept for readers of schema 1 and always null: task time over wall time "
        "is not a speed-up; see parallelism.",
    )
    parallelism: float | None = Field(
        None,
        description="task_time / wall_time: how many tasks ran at once on average; null for a "
        "single task or shard, or when the wall time is 0.",
    )
    slowest_tests: list[SlowTest] = Field(description="Longest final test results, longest first.")


class TaskSummary(BaseModel):
    """One task: outcome, counts, when and where it ran."""

    name: str
    suite: str
    kind: str
    matrix: dict[str, str]
    outcome: TaskOutcome
    counts: SummaryCounts
    exit_code: int | None
    error: str | None
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    duration: float
    worker: int | None
    log: str | None = Field(description="Log file, relative to the run directory.")
    cached_from: str | None = Field(
        None,
        description="With outcome cached: the id of the run whose passing result stands for "
        "this task; its folder is beside this run's.",
    )
    cache_key: str | None = Field(None, description="The key of its inputs, when caching is on.")


class FailureSummary(BaseModel):
    """A failed or errored test, or a task that failed as a whole (`test_id` null)."""

    task: str
    test_id: str | None
    name: str
    status: str = Field(description="failed, error, or the task outcome for a task-level problem.")
    category: Category
    message: str | None
    suggestion: str | None
    file: str | None
    line: int | None
    attempts: int = Field(description="Attempts in which this test ran.")


class RunSummary(BaseModel):
    """`reports/summary.json`."""

    schema_version: int = SUMMARY_SCHEMA_VERSION
    run: RunInfo
    counts: SummaryCounts
    timings: Timings
    tasks: list[TaskSummary]
    failures: list[FailureSummary]


def build_summary(bundle: RunBundle) -> RunSummary:
    """The summary of one run, from its evidence alone."""
    manifest = bundle.manifest
    return RunSummary(
        run=RunInfo(
            id=manifest.run_id,
            status=manifest.status,
            exit_code=manifest.exit_code,
            project=manifest.project,
            git_commit=manifest.git_commit,
            argv=manifest.argv,
            run_dir=str(bundle.run_dir.resolve()),
        ),
        counts=SummaryCounts.of(manifest.counts, run_cost(manifest.tasks)),
        timings=_timings(bundle),
        tasks=[_task_summary(task) for task in manifest.tasks],
        failures=failures_of(bundle),
    )


def write_summary_json(stream: TextIO, summary: RunSummary) -> None:
    """`summary.json`'s text, written a failure at a time so a large run never sits in memory."""
    from qaagent.evidence.writer import write_json_streamed

    write_json_streamed(stream, summary, "failures", summary.failures)


def _timings(bundle: RunBundle) -> Timings:
    manifest = bundle.manifest
    timed = [record for record in bundle.final_records() if record.duration > 0]
    slowest = sorted(timed, key=lambda record: record.duration, reverse=True)
    return Timings(
        started_at=as_utc(manifest.started_at),
        finished_at=as_utc(manifest.finished_at) if manifest.finished_at else None,
        wall_time=manifest.wall_time,
        task_time=manifest.task_time,
        parallelism=parallelism(manifest.task_time, _parts_that_ran(manifest), manifest.wall_time),
        slowest_tests=[
            SlowTest(task=record.task, test_id=record.test_id, duration=record.duration)
            for record in slowest[:SLOWEST_TESTS]
        ],
    )


def run_cost(tasks: list[TaskEntry]) -> float | None:
    """What every task's tests spent together; None when no task said."""
    costs = [task.cost for task in tasks if task.cost is not None]
    return sum(costs) if costs else None


def _parts_that_ran(manifest: Manifest) -> int:
    """Tasks, counting each shard of a split suite, that spent any time running."""
    return sum(max(1, len(task.segments)) for task in manifest.tasks if task.duration > 0)


def _task_summary(task: TaskEntry) -> TaskSummary:
    return TaskSummary(
        name=task.name,
        suite=task.suite,
        kind=task.kind,
        matrix=task.matrix,
        outcome=task.outcome,
        counts=SummaryCounts.of(task.counts, task.cost),
        exit_code=task.exit_code,
        error=task.error,
        attempts=len(task.attempts),
        started_at=as_utc(task.started_at) if task.started_at else None,
        finished_at=as_utc(task.finished_at) if task.finished_at else None,
        duration=task.duration,
        worker=task.worker,
        log=task.log,
        cached_from=task.cached_from,
        cache_key=task.cache_key,
    )


def failures_of(bundle: RunBundle) -> list[FailureSummary]:
    """Task-level problems first, then failed tests, in task order."""
    attempts: dict[tuple[str, str], int] = {}
    for record in bundle.records:
        key = (record.task, record.test_id)
        attempts[key] = attempts.get(key, 0) + 1
    failed_tests: dict[str, list[FailureSummary]] = {}
    for record in bundle.final_records():
        if record.status in FAILING and not record.flaky:
            failure = _test_failure(bundle, record, attempts[(record.task, record.test_id)])
            failed_tests.setdefault(record.task, []).append(failure)
    failures: list[FailureSummary] = []
    for task in bundle.manifest.tasks:
        if task.outcome in TASK_PROBLEMS:
            failures.append(_task_failure(bundle, task))
        failures.extend(failed_tests.get(task.name, []))
    return failures


def _task_failure(bundle: RunBundle, task: TaskEntry) -> FailureSummary:
    diagnostic = bundle.diagnostic_for(task.name, None)
    default = Category.timeout if task.outcome is TaskOutcome.timed_out else Category.unknown
    return FailureSummary(
        task=task.name,
        test_id=None,
        name=task.name,
        status=str(task.outcome),
        category=diagnostic.category if diagnostic else default,
        message=task.error or (diagnostic.message if diagnostic else None),
        suggestion=diagnostic.suggestion if diagnostic else None,
        file=None,
        line=None,
        attempts=len(task.attempts),
    )


def _test_failure(bundle: RunBundle, record: TestRecord, attempts: int) -> FailureSummary:
    diagnostic = bundle.diagnostic_for(record.task, record.test_id)
    return FailureSummary(
        task=record.task,
        test_id=record.test_id,
        name=record.name,
        status=str(record.status),
        category=diagnostic.category if diagnostic else Category.unknown,
        message=record.message or (diagnostic.message if diagnostic else None),
        suggestion=diagnostic.suggestion if diagnostic else None,
        file=record.file,
        line=record.line,
        attempts=attempts,
    )
