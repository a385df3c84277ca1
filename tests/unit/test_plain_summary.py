"""The final table as plain text, for pipes and CI logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from qaagent.model.outcomes import Counts, TaskOutcome
from qaagent.model.results import TaskResult
from qaagent.reporting.progress import parallelism, parts_that_ran, plain_summary

START = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)


def result(task: str, outcome: TaskOutcome, seconds: float, counts: Counts) -> TaskResult:
    return TaskResult(
        task=task,
        suite=task,
        kind="command",
        outcome=outcome,
        counts=counts,
        started_at=START,
        finished_at=START + timedelta(seconds=seconds),
    )


def test_plain_summary_aligns_columns_and_ends_with_timing_and_run_directory() -> None:
    results = [
        result("unit", TaskOutcome.passed, 1.25, Counts(passed=12)),
        result("a-long-task-name", TaskOutcome.failed, 2.0, Counts(passed=3, failed=1, xfailed=2)),
    ]
    text = plain_summary(results, 2.0, Path("/runs/r1"), "failed")
    lines = text.splitlines()
    assert lines[0].split() == [
        "task",
        "result",
        "passed",
        "failed",
        "errors",
        "skipped",
        "flaky",
        "xfailed",
        "xpassed",
        "duration",
    ]
    assert lines[1].split() == ["unit", "passed", "12", "0", "0", "0", "0", "0", "0", "1.2s"]
    assert lines[2].split() == [
        *("a-long-task-name", "failed", "3", "1", "0", "0", "0", "2", "0", "2.0s")
    ]
    assert lines[0].index("result") == lines[1].index("passed") == lines[2].index("failed")
    assert lines[3] == "Run failed: wall time 2.0s, task time 3.2s, parallelism 1.6x"
    assert lines[4] == "Run directory: /runs/r1"
    assert text.endswith("\n")


def test_a_single_task_shows_no_parallelism_figure() -> None:
    results = [result("unit", TaskOutcome.passed, 1.0, Counts(passed=1))]
    text = plain_summary(results, 3.0, Path("/runs/r1"), "passed")
    assert "Run passed: wall time 3.0s, task time 1.0s\n" in text
    assert "x" not in text.splitlines()[2]


def test_parallelism_is_task_time_over_wall_time_and_never_a_speed_up() -> None:
    assert parallelism(9.0, 3, 3.0) == 3.0
    assert parallelism(0.4, 1, 35.0) is None
    assert parallelism(5.0, 2, 0.0) is None
    results = [
        result("a", TaskOutcome.passed, 2.0, Counts(passed=1)),
        result("b", TaskOutcome.not_run, 0.0, Counts()),
    ]
    assert parts_that_ran(results) == 1
    assert "speed-up" not in plain_summary(results, 2.5, Path("/r"), "error")
