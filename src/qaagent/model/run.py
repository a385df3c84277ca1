"""How a run ends: why it stopped early, its status, and the exit code CI reads."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from qaagent.errors import ExitCode
from qaagent.model.outcomes import SUCCEEDED, TaskOutcome
from qaagent.model.results import TaskResult


class RunStatus(StrEnum):
    """Status of a whole run."""

    running = "running"
    passed = "passed"
    failed = "failed"
    error = "error"
    interrupted = "interrupted"


class StopReason(StrEnum):
    """Why the run stopped starting tasks before the plan was done."""

    fail_fast = "fail-fast"
    max_failures = "max-failures"
    interrupted = "interrupted"
    run_timeout = "run-timeout"


def exit_code_for(results: Sequence[TaskResult], stop_reason: StopReason | None) -> ExitCode:
    """130 interrupted > 3 infrastructure > 1 tests failed > 0.

    Tasks stopped by fail-fast or --max-failures are neutral: the failures that stopped them decide.
    """
    if stop_reason is StopReason.interrupted:
        return ExitCode.INTERRUPTED
    outcomes = {result.outcome for result in results}
    if stop_reason is StopReason.run_timeout or outcomes & {
        TaskOutcome.error,
        TaskOutcome.timed_out,
    }:
        return ExitCode.INFRASTRUCTURE_ERROR
    if TaskOutcome.failed in outcomes:
        return ExitCode.TESTS_FAILED
    if not outcomes & SUCCEEDED:
        return ExitCode.INFRASTRUCTURE_ERROR
    return ExitCode.OK


def status_for(exit_code: ExitCode) -> RunStatus:
    """Run status of an exit code."""
    return {
        ExitCode.OK: RunStatus.passed,
        ExitCode.TESTS_FAILED: RunStatus.failed,
        ExitCode.INTERRUPTED: RunStatus.interrupted,
    }.get(exit_code, RunStatus.error)
