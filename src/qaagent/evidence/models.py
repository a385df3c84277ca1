"""The evidence bundle's file formats: written after a run, read by every report and `runs` command.

Layout of one run directory `<runs_dir>/<run-id>/`:

    manifest.json              Manifest (written last, atomically)
    evidence/tests.jsonl       one TestRecord per test per attempt
    evidence/diagnostics.json  Diagnostics
    artifacts/<task>/...       JUnit files, the task's log, the tool's screenshots and traces
    reports/...                junit.xml, summary.json, summary.md, report.html
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field

from qaagent.model.outcomes import CaseStatus, Counts, TaskOutcome
from qaagent.model.run import RunStatus
from qaagent.naming import folder_name

MANIFEST_SCHEMA_VERSION = 2
MANIFEST_NAME = "manifest.json"
TESTS_NAME = "evidence/tests.jsonl"
DIAGNOSTICS_NAME = "evidence/diagnostics.json"
ARTIFACTS_DIR = "artifacts"
REPORTS_DIR = "reports"


class Category(StrEnum):
    """Why a test or task failed, so people know where to look first."""

    assertion = "assertion"
    timeout = "timeout"
    connection = "connection"
    auth = "auth"
    data = "data"
    flaky = "flaky"
    crash = "crash"
    setup = "setup"
    undefined = "undefined"
    exception = "exception"
    unknown = "unknown"


class AttemptEntry(BaseModel):
    """One attempt of a task, as recorded in the manifest."""

    number: int
    command: list[str]
    exit_code: int | None
    started_at: datetime
    finished_at: datetime
    duration: float
    timed_out: bool = False
    cancelled: bool = False
    error: str | None = None
    reason: str | None = Field(None, description="Why the attempt ran: null for the first.")
    counts: Counts = Field(default_factory=Counts)


class SegmentEntry(BaseModel):
    """One shard of a split suite: where and when it ran, and its log."""

    label: str
    worker: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: TaskOutcome
    log: str | None = None


class TaskEntry(BaseModel):
    """One task of the run: outcome, counts, attempts, timings, files (paths relative to the run)."""

    name: str
    suite: str
    kind: str
    matrix: dict[str, str] = Field(default_factory=dict)
    outcome: TaskOutcome
    counts: Counts = Field(default_factory=Counts)
    cost: float | None = Field(None, description="What its tests spent; null if none said.")
    exit_code: int | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration: float = 0.0
    worker: int | None = None
    attempts: list[AttemptEntry] = Field(default_factory=list)
    log: str | None = None
    junit: list[str] = Field(default_factory=list)
    artifacts: list[str] = Field(default_factory=list)
    segments: list[SegmentEntry] = Field(
        default_factory=list, description="The shards a split suite ran as, each on its worker."
    )
    cached_from: str | None = Field(
        None, description="The run whose passing result stands for this task, when cached."
    )
    cache_key: str | None = Field(None, description="The key of its inputs, when caching is on.")
    cache_inputs: dict[str, str] = Field(
        default_factory=dict, description="What the cache key was made of, part by part."
    )


class PartEntry(BaseModel):
    """Which CI part a run was (`--part 2/3`) and the digest of the plan it was a part of."""

    index: int
    total: int
    digest: str


class EvidenceFile(BaseModel):
    """A file of the run directory with its checksum."""

    path: str
    sha256: str
    size: int


class Manifest(BaseModel):
    """`manifest.json`: the index of a run, the first file every reader opens."""

    schema_version: int = MANIFEST_SCHEMA_VERSION
    run_id: str
    status: RunStatus
    exit_code: int | None = None
    started_at: datetime
    finished_at: datetime | None = None
    wall_time: float = 0.0
    task_time: float = Field(0.0, description="Sum of every task's duration.")
    argv: list[str] = Field(default_factory=list)
    cwd: str = ""
    profile_path: str = ""
    profile_sha256: str = ""
    project: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    tool_versions: dict[str, str] = Field(default_factory=dict)
    settings: dict[str, object] = Field(default_factory=dict)
    counts: Counts = Field(default_factory=Counts)
    tasks: list[TaskEntry] = Field(default_factory=list)
    part: PartEntry | None = Field(None, description="The CI part this run was (`--part`).")
    parts: list[str] = Field(
        default_factory=list, description="Run ids of the parts `qaagent merge` made this run of."
    )
    files: list[EvidenceFile] = Field(default_factory=list)


class TestRecord(BaseModel):
    """One line of `evidence/tests.jsonl`: one test in one attempt."""

    __test__ = False

    id: str = Field(description="Unique in the run: '<task>::<attempt>::<test id>'.")
    task: str
    suite: str
    attempt: int
    test_id: str
    classname: str = ""
    name: str
    file: str | None = None
    line: int | None = None
    status: CaseStatus
    final: bool = Field(description="This attempt decided the test's result.")
    flaky: bool = False
    duration: float = 0.0
    message: str | None = None
    output: str | None = None


class Diagnostic(BaseModel):
    """A failed test or errored task, with a category and what to try."""

    task: str
    test_id: str | None = None
    name: str
    category: Category
    message: str | None = None
    suggestion: str


class Diagnostics(BaseModel):
    """`evidence/diagnostics.json`."""

    run_id: str
    items: list[Diagnostic] = Field(default_factory=list)


def artifacts_dir(run_dir: Path, task: str) -> Path:
    """Folder of one task's files inside a run directory."""
    return run_dir / ARTIFACTS_DIR / folder_name(task)
