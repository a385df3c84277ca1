"""What a task produced: every attempt, the shards of a split suite, and the final result."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field

from qaagent.model.outcomes import Counts, TaskOutcome, TestCase


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


def inside(root: Path, path: Path) -> Path:
    """`path` relative to `root` when it lies below it; anything else as it is."""
    return path.relative_to(root) if path.is_absolute() and path.is_relative_to(root) else path


class TaskResult(BaseModel):
    """Everything one task produced: final cases, every attempt, files, timings.

    Once the task has returned, its paths are relative to the run folder (see `relative_to`),
    so that a result can travel from the machine that ran it.
    """

    task: str
    suite: str
    kind: str
    outcome: TaskOutcome
    counts: Counts = Field(default_factory=Counts)
    cost: float | None = Field(
        None, description="What the final tests spent, as the suite counts it; null if none said."
    )
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
    cached_from: str | None = Field(
        None, description="The run whose passing result stands for this task, when cached."
    )
    cache_key: str | None = Field(None, description="The key of its inputs, when caching is on.")
    cache_inputs: dict[str, str] = Field(
        default_factory=dict, description="What the cache key was made of, part by part."
    )

    @property
    def duration(self) -> float:
        """Wall seconds from start to finish, 0 when it never ran."""
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return (self.finished_at - self.started_at).total_seconds()

    def relative_to(self, run_dir: Path) -> TaskResult:
        """The result with every path below the run folder made relative to it."""
        return self.model_copy(
            update={
                "output_dir": None if self.output_dir is None else inside(run_dir, self.output_dir),
                "log_path": None if self.log_path is None else inside(run_dir, self.log_path),
                "artifacts": [inside(run_dir, path) for path in self.artifacts],
                "attempts": [
                    attempt.model_copy(
                        update={
                            "log_path": None
                            if attempt.log_path is None
                            else inside(run_dir, attempt.log_path),
                            "junit_paths": [inside(run_dir, path) for path in attempt.junit_paths],
                        }
                    )
                    for attempt in self.attempts
                ],
                "segments": [
                    segment.model_copy(
                        update={
                            "log_path": None
                            if segment.log_path is None
                            else inside(run_dir, segment.log_path)
                        }
                    )
                    for segment in self.segments
                ],
            }
        )

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
