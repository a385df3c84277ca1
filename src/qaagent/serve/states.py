"""An execution's states and how a finished child's exit code names its end."""

from __future__ import annotations

from enum import StrEnum


class ExecutionState(StrEnum):
    """Where an execution is: waiting, running, or ended one way or another."""

    queued = "queued"
    running = "running"
    passed = "passed"
    failed = "failed"
    error = "error"
    cancelled = "cancelled"
    interrupted = "interrupted"


ACTIVE_STATES = (ExecutionState.running, ExecutionState.queued)
EXIT_STATES = {
    0: ExecutionState.passed,
    1: ExecutionState.failed,
    130: ExecutionState.interrupted,
}


def state_of_exit(exit_code: int, cancelled: bool) -> ExecutionState:
    """The end an exit code means; a run stopped on request is `cancelled`, whatever it says."""
    if cancelled:
        return ExecutionState.cancelled
    return EXIT_STATES.get(exit_code, ExecutionState.error)
