"""Build realistic run directories (manifest, test records, diagnostics, logs) for report tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from qaagent.evidence.models import (
    DIAGNOSTICS_NAME,
    MANIFEST_NAME,
    TESTS_NAME,
    AttemptEntry,
    Category,
    Diagnostic,
    Diagnostics,
    EvidenceFile,
    Manifest,
    TaskEntry,
    TestRecord,
    artifacts_dir,
)
from qaagent.model.outcomes import (
    TASK_PROBLEMS,
    CaseStatus,
    Counts,
    TaskOutcome,
    TestCase,
    task_counts,
)
from qaagent.model.run import RunStatus

START = datetime(2026, 11, 22, 6, 0, 0, tzinfo=UTC)


@dataclass
class T:
    """A test and its status in each attempt it ran: ["failed", "passed"] is flaky."""

    test_id: str
    statuses: list[str] = field(default_factory=lambda: ["passed"])
    duration: float = 0.1
    message: str | None = None
    output: str | None = None
    file: str | None = None
    line: int | None = None
    category: Category = Category.assertion


@dataclass
class Job:
    """A task: its tests, when it started (seconds after the run), how long, on which worker."""

    name: str
    tests: list[T] = field(default_factory=list)
    start: float | None = 0.0
    duration: float = 1.0
    worker: int | None = 0
    outcome: TaskOutcome | None = None
    error: str | None = None
    kind: str = "pytest"
    log_lines: list[str] = field(default_factory=list)


def build_run(
    runs_dir: Path,
    run_id: str,
    jobs: list[Job],
    *,
    started_at: datetime = START,
    status: RunStatus | None = None,
    project: str | None = "shop",
) -> Path:
    """Write a complete run directory and return its path."""
    run_dir = runs_dir / run_id
    run_dir.mkdir(parents=True)
    entries: list[TaskEntry] = []
    records: list[TestRecord] = []
    diagnostics: list[Diagnostic] = []
    for job in jobs:
        task_records = _records(job)
        entries.append(_task_entry(run_dir, job, task_records, started_at))
        records.extend(task_records)
        diagnostics.extend(_diagnostics(job, task_records))
    (run_dir / "evidence").mkdir()
    (run_dir / TESTS_NAME).write_text(
        "".join(record.model_dump_json() + "\n" for record in records), encoding="utf-8"
    )
    (run_dir / DIAGNOSTICS_NAME).write_text(
        Diagnostics(run_id=run_id, items=diagnostics).model_dump_json(indent=2), encoding="utf-8"
    )
    manifest = _manifest(run_dir, run_id, entries, started_at, status, project)
    (run_dir / MANIFEST_NAME).write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    return run_dir


def _records(job: Job) -> list[TestRecord]:
    records: list[TestRecord] = []
    attempts = max((len(test.statuses) for test in job.tests), default=1)
    for attempt in range(1, attempts + 1):
        for test in job.tests:
            if len(test.statuses) < attempt:
                continue
            status = CaseStatus(test.statuses[attempt - 1])
            final = attempt == len(test.statuses)
            failing = status in (CaseStatus.failed, CaseStatus.error)
            records.append(
                TestRecord(
                    id=f"{job.name}::{attempt}::{test.test_id}",
                    task=job.name,
                    suite=job.name.split("[")[0],
                    attempt=attempt,
                    test_id=test.test_id,
                    classname=test.test_id.rpartition("::")[0]
                    .replace("/", ".")
                    .removesuffix(".py"),
                    name=test.test_id.rpartition("::")[2],
                    file=test.file,
                    line=test.line,
                    status=status,
                    final=final,
                    flaky=final and status is CaseStatus.passed and len(test.statuses) > 1,
                    duration=test.duration,
                    message=(test.message or f"{test.test_id} failed") if failing else None,
                    output=test.output if failing else None,
                )
            )
    return records


def _task_entry(run_dir: Path, job: Job, records: list[TestRecord], origin: datetime) -> TaskEntry:
    finals = [record for record in records if record.final]
    cases = [
        TestCase(id=record.test_id, name=record.name, status=record.status, flaky=record.flaky)
        for record in finals
    ]
    tested = Counts.of(cases)
    outcome = job.outcome or (
        TaskOutcome.failed if tested.failed or tested.errors else TaskOutcome.passed
    )
    counts = task_counts(outcome, cases)
    ran = job.start is not None and outcome is not TaskOutcome.not_run
    started = origin + timedelta(seconds=job.start or 0.0)
    finished = started + timedelta(seconds=job.duration)
    log = None
    if ran:
        folder = artifacts_dir(run_dir, job.name)
        folder.mkdir(parents=True)
        lines = job.log_lines or [f"running {job.name}", "done"]
        (folder / "output.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
        log = f"artifacts/{job.name}/output.log"
    attempt_count = max((record.attempt for record in records), default=1)
    return TaskEntry(
        name=job.name,
        suite=job.name.split("[")[0],
        kind=job.kind,
        outcome=outcome,
        counts=counts,
        exit_code=None if not ran else (0 if outcome is TaskOutcome.passed else 1),
        error=job.error,
        started_at=started if ran else None,
        finished_at=finished if ran else None,
        duration=job.duration if ran else 0.0,
        worker=job.worker if ran else None,
        attempts=[
            AttemptEntry(
                number=number,
                command=["pytest", "-q"],
                exit_code=0 if outcome is TaskOutcome.passed else 1,
                started_at=started,
                finished_at=finished,
                duration=job.duration / attempt_count,
                timed_out=outcome is TaskOutcome.timed_out,
            )
            for number in range(1, attempt_count + 1)
        ]
        if ran
        else [],
        log=log,
    )


def _diagnostics(job: Job, records: list[TestRecord]) -> list[Diagnostic]:
    items = [
        Diagnostic(
            task=job.name,
            test_id=record.test_id,
            name=record.name,
            category=next(t.category for t in job.tests if t.test_id == record.test_id),
            message=record.message,
            suggestion="Read the assertion and the values it compared.",
        )
        for record in records
        if record.final and record.status in (CaseStatus.failed, CaseStatus.error)
    ]
    if job.outcome in TASK_PROBLEMS:
        items.append(
            Diagnostic(
                task=job.name,
                name=job.name,
                category=Category.timeout
                if job.outcome is TaskOutcome.timed_out
                else Category.crash,
                message=job.error,
                suggestion="Look at the end of the task's log.",
            )
        )
    return items


def _manifest(
    run_dir: Path,
    run_id: str,
    tasks: list[TaskEntry],
    started_at: datetime,
    status: RunStatus | None,
    project: str | None,
) -> Manifest:
    ends = [task.finished_at for task in tasks if task.finished_at is not None]
    finished = max(ends, default=started_at)
    counts = Counts()
    for task in tasks:
        for name in ("passed", "failed", "errors", "skipped", "flaky"):
            setattr(counts, name, getattr(counts, name) + getattr(task.counts, name))
    if status is None:
        outcomes = {task.outcome for task in tasks}
        if outcomes & TASK_PROBLEMS:
            status = RunStatus.error
        elif TaskOutcome.failed in outcomes:
            status = RunStatus.failed
        else:
            status = RunStatus.passed
    exit_codes = {
        RunStatus.passed: 0,
        RunStatus.failed: 1,
        RunStatus.error: 3,
        RunStatus.interrupted: 130,
    }
    return Manifest(
        run_id=run_id,
        status=status,
        exit_code=exit_codes.get(status),
        started_at=started_at,
        finished_at=finished,
        wall_time=(finished - started_at).total_seconds(),
        task_time=sum(task.duration for task in tasks),
        argv=["qaagent", "run-all", "--parallel"],
        cwd=str(run_dir.parent),
        project=project,
        git_commit="0123456789abcdef0123456789abcdef01234567",
        counts=counts,
        tasks=tasks,
        files=[
            EvidenceFile(
                path=str(path.relative_to(run_dir)),
                sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                size=path.stat().st_size,
            )
            for path in sorted(run_dir.rglob("*"))
            if path.is_file()
        ],
    )


def sample_run(runs_dir: Path, run_id: str = "20261122-060000-a1b2", **options: object) -> Path:
    """A parallel run with a pass, a failure with a flaky retry, a skip, and a timed-out task."""
    jobs = [
        Job(
            "unit",
            tests=[
                T("tests/test_cart.py::test_add", duration=0.2),
                T(
                    "tests/test_cart.py::test_total",
                    ["failed", "failed"],
                    message="AssertionError: assert 41 == 42\n  where 41 = total(cart)",
                    output="captured stdout: <b>cart</b> & items",
                    file="tests/test_cart.py",
                    line=17,
                ),
                T(
                    "tests/test_cart.py::test_discount",
                    ["failed", "passed"],
                    message="flaky network",
                ),
                T("tests/test_cart.py::test_skip", ["skipped"]),
            ],
            start=0.0,
            duration=4.0,
            worker=0,
        ),
        Job(
            "behave",
            tests=[T("features/checkout.feature::Pay by card", duration=1.5)],
            start=0.5,
            duration=3.0,
            worker=1,
            kind="behave",
        ),
        Job(
            "evals[model=haiku]",
            start=3.5,
            duration=2.5,
            worker=1,
            outcome=TaskOutcome.timed_out,
            error="timed out after 2.5s",
            kind="command",
            log_lines=["starting evals", "waiting for model <haiku>", "killed: timeout"],
        ),
    ]
    return build_run(runs_dir, run_id, jobs, **options)  # type: ignore[arg-type]
