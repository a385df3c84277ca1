"""The final table as plain text, for pipes and CI logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from qaagent.reporting.progress import plain_summary
from qaagent.runners.base import Counts, SuiteResult, TaskOutcome

START = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)


def result(task: str, outcome: TaskOutcome, seconds: float, counts: Counts) -> SuiteResult:
    return SuiteResult(
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
        result("a-long-task-name", TaskOutcome.failed, 2.0, Counts(passed=3, failed=1)),
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
        "duration",
    ]
    assert lines[1].split() == ["unit", "passed", "12", "0", "0", "0", "0", "1.2s"]
    assert lines[2].split() == ["a-long-task-name", "failed", "3", "1", "0", "0", "0", "2.0s"]
    assert lines[0].index("result") == lines[1].index("passed") == lines[2].index("failed")
    assert lines[3] == "Run failed: wall time 2.0s, task time 3.2s, speed-up 1.6x"
    assert lines[4] == "Run directory: /runs/r1"
    assert text.endswith("\n")
