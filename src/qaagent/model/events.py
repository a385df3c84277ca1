"""The events of a run, one stream for the whole pipeline, as `--events jsonl` writes them.

Every event carries the run's id, its place in the stream (`seq`: 1, 2, 3… with no gaps) and
the time it happened (UTC), plus the fields of its kind. `tests-collected`, `test-started` and
`test-finished` come from the tools' live feed (see `qaagent.model.live`), as the tests run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class EventBase(BaseModel):
    """What every event has: which run, where in the stream, and when."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_serialization_defaults_required=True
    )

    run_id: str = Field(description="The run's id, the name of its folder under the runs folder.")
    seq: int = Field(ge=1, description="Place in the run's stream: 1, 2, 3… with no gaps.")
    time: datetime = Field(description="When it happened, ISO 8601 in UTC.")


class PlannedTask(BaseModel):
    """A task the run is about to execute, as the plan sees it."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_serialization_defaults_required=True
    )

    name: str
    suite: str
    kind: str = Field(description="The tool: pytest, behave, playwright or command.")
    pool: str | None = None
    expected_seconds: float | None = Field(
        None, description="Its duration in earlier runs; null when never recorded."
    )
    expected_tests: int | None = Field(
        None,
        description="Tests it runs: its selection, else as many as it last ran; null if unknown.",
    )


class Planned(EventBase):
    """The tasks the run will execute, in start order; always the first event."""

    kind: Literal["planned"] = "planned"
    workers: int = Field(ge=1, description="Tasks that may run at once.")
    tasks: list[PlannedTask]


class TaskStarted(EventBase):
    """A task began on a worker."""

    kind: Literal["task-started"] = "task-started"
    task: str
    worker: int | None = None


class TaskOutput(EventBase):
    """A line a task's tool printed, with secret values masked; sampled, the log has every line."""

    kind: Literal["task-output"] = "task-output"
    task: str
    worker: int | None = None
    line: str


class TaskFinished(EventBase):
    """A task returned its result; tasks never started get none (see the reports for them)."""

    kind: Literal["task-finished"] = "task-finished"
    task: str
    worker: int | None = None
    outcome: str = Field(
        description="passed, failed, error, timed-out, interrupted, not-run or cached, as in the reports."
    )
    counts: dict[str, int] = Field(description="Tests per status: passed, failed, errors, ….")
    duration: float = Field(description="Seconds the task took.")
    error: str | None = Field(None, description="Why the task ended badly, when it did.")
    tail: list[str] = Field(
        default_factory=list, description="The last lines of its output, when it failed."
    )
    log: str | None = Field(None, description="Its log, relative to the run folder.")
    cached_from: str | None = Field(
        None, description="With outcome cached: the run whose passing result stands for it."
    )


class TestsCollected(EventBase):
    """A task's tool knows how many tests this attempt will run."""

    kind: Literal["tests-collected"] = "tests-collected"
    task: str
    worker: int | None = None
    count: int = Field(ge=0)


class TestStarted(EventBase):
    """A test began."""

    kind: Literal["test-started"] = "test-started"
    task: str
    test: str
    worker: int | None = None


class TestFinished(EventBase):
    """A test ended, as the tool reported it live; the reports count from JUnit where it exists."""

    kind: Literal["test-finished"] = "test-finished"
    task: str
    test: str
    worker: int | None = None
    outcome: str = Field(description="passed, failed, error, skipped, xfailed or xpassed.")
    duration: float | None = Field(None, description="Seconds the test took.")
    file: str | None = None
    line: int | None = None
    message: str | None = Field(None, description="The failure's short message.")
    cost: float | None = Field(None, description="What the test spent, as its suite counts it.")


class Stopping(EventBase):
    """The run starts nothing more and asks running tasks to stop."""

    kind: Literal["stopping"] = "stopping"
    reason: str | None = Field(
        None, description="fail-fast, max-failures, interrupted or run-timeout."
    )
    message: str


class ReportWritten(EventBase):
    """A report is in the run folder."""

    kind: Literal["report-written"] = "report-written"
    format: str = Field(description="junit, json, md or html.")
    path: str = Field(description="The report's path inside the run folder.")


class EvidenceWritten(EventBase):
    """The evidence bundle is complete: the manifest, written last, is on disk."""

    kind: Literal["evidence-written"] = "evidence-written"
    run_dir: str = Field(description="The run folder.")
    stored: bool = Field(description="False when not even the manifest could be written.")


class RunFinished(EventBase):
    """The run is over; always the last event."""

    kind: Literal["run-finished"] = "run-finished"
    exit_code: int = Field(description="qaagent's exit code: 0, 1, 3 or 130.")
    status: str = Field(description="passed, failed, error or interrupted.")
    stop_reason: str | None = None
    wall_time: float = Field(description="The run's wall time in seconds, as in the manifest.")


Event = Annotated[
    Planned
    | TaskStarted
    | TaskOutput
    | TaskFinished
    | TestsCollected
    | TestStarted
    | TestFinished
    | Stopping
    | ReportWritten
    | EvidenceWritten
    | RunFinished,
    Field(discriminator="kind"),
]
EVENT = TypeAdapter[Event](Event)


def event_schema() -> dict[str, Any]:
    """The JSON Schema of one written event: every field is present, null when unknown."""
    schema = EVENT.json_schema(mode="serialization")
    schema["title"] = "qaagent event (one line of run-all --events jsonl)"
    return schema
