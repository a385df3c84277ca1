"""The post-phase: test records, diagnostics and the manifest, written after every task returned."""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel

from qaagent import __version__
from qaagent.evidence.diagnostics import diagnose
from qaagent.evidence.models import (
    DIAGNOSTICS_NAME,
    MANIFEST_NAME,
    TESTS_NAME,
    AttemptEntry,
    Diagnostics,
    EvidenceFile,
    Manifest,
    PartEntry,
    SegmentEntry,
    TaskEntry,
    TestRecord,
)
from qaagent.evidence.redact import redact_argv, redact_value
from qaagent.model.outcomes import Counts, TestCase
from qaagent.model.results import TaskResult
from qaagent.model.run import RunStatus
from qaagent.processes.captured import CommandTimedOut, run_captured

TOOLS = ("pytest", "behave", "playwright")
GIT_TIMEOUT = 10.0
HASH_CHUNK = 1 << 20
JSON_ITEM_INDENT = " " * 4

ReportWriter = Callable[[Path, Manifest], None]


@dataclass(frozen=True)
class RunFacts:
    """Facts about the machine and checkout, which can be gathered while tasks run."""

    git_commit: str | None
    git_dirty: bool | None
    tool_versions: dict[str, str]


def collect_facts(root: Path) -> RunFacts:
    """The git state of `root` and the versions of the test tools."""
    commit, dirty = git_state(root)
    return RunFacts(commit, dirty, tool_versions())


@dataclass
class RunInfo:
    """What the run knew about itself, beyond the task results."""

    run_id: str
    status: RunStatus
    exit_code: int | None
    started_at: datetime
    finished_at: datetime
    argv: list[str] = field(default_factory=list)
    cwd: Path = field(default_factory=Path.cwd)
    profile_path: Path | None = None
    profile_sha256: str = ""
    project: str | None = None
    settings: dict[str, object] = field(default_factory=dict)
    facts: RunFacts | None = None
    part: PartEntry | None = None


def write_evidence(
    run_dir: Path,
    info: RunInfo,
    results: Sequence[TaskResult],
    report_writers: Iterable[ReportWriter] = (),
) -> Manifest:
    """Write tests.jsonl and diagnostics.json, let report writers add files, then the manifest."""
    write_test_records(run_dir / TESTS_NAME, test_records(results))
    diagnostics = run_dir / DIAGNOSTICS_NAME
    diagnostics.parent.mkdir(parents=True, exist_ok=True)
    with diagnostics.open("w", encoding="utf-8") as stream:
        write_json_streamed(stream, Diagnostics(run_id=info.run_id), "items", diagnose(results))
    manifest = build_manifest(run_dir, info, results)
    for write_report in report_writers:
        write_report(run_dir, manifest)
    manifest.files = index_files(run_dir)
    write_manifest(run_dir, manifest)
    return manifest


def build_manifest(run_dir: Path, info: RunInfo, results: Sequence[TaskResult]) -> Manifest:
    """The manifest of a run, without its file index."""
    root = info.profile_path.parent if info.profile_path else info.cwd
    facts = info.facts or collect_facts(root)
    tasks = [task_entry(run_dir, result) for result in results]
    return Manifest(
        run_id=info.run_id,
        status=info.status,
        exit_code=info.exit_code,
        started_at=info.started_at,
        finished_at=info.finished_at,
        wall_time=(info.finished_at - info.started_at).total_seconds(),
        task_time=sum(result.busy_time for result in results),
        argv=redact_argv(info.argv),
        cwd=str(info.cwd),
        profile_path=str(info.profile_path or ""),
        profile_sha256=info.profile_sha256,
        project=info.project,
        git_commit=facts.git_commit,
        git_dirty=facts.git_dirty,
        tool_versions=facts.tool_versions,
        settings={key: redact_value(key, value) for key, value in info.settings.items()},
        counts=total_counts(task.counts for task in tasks),
        tasks=tasks,
        part=info.part,
    )


def task_entry(run_dir: Path, result: TaskResult) -> TaskEntry:
    """One task as the manifest records it, with paths relative to the run directory."""
    return TaskEntry(
        name=result.task,
        suite=result.suite,
        kind=result.kind,
        matrix=result.matrix,
        outcome=result.outcome,
        counts=result.counts,
        cost=result.cost,
        exit_code=result.exit_code,
        error=result.error,
        started_at=result.started_at,
        finished_at=result.finished_at,
        duration=result.duration,
        worker=result.worker,
        attempts=[
            AttemptEntry(
                number=attempt.number,
                command=redact_argv(attempt.command),
                exit_code=attempt.exit_code,
                started_at=attempt.started_at,
                finished_at=attempt.finished_at,
                duration=attempt.duration,
                timed_out=attempt.timed_out,
                cancelled=attempt.cancelled,
                error=attempt.error,
                reason=attempt.reason,
                counts=Counts.of(attempt.cases),
            )
            for attempt in result.attempts
        ],
        log=relative(run_dir, result.log_path) if result.log_path else None,
        junit=[
            relative(run_dir, path) for attempt in result.attempts for path in attempt.junit_paths
        ],
        artifacts=[relative(run_dir, path) for path in result.artifacts],
        segments=[
            SegmentEntry(
                label=segment.label,
                worker=segment.worker,
                started_at=segment.started_at,
                finished_at=segment.finished_at,
                outcome=segment.outcome,
                log=relative(run_dir, segment.log_path) if segment.log_path else None,
            )
            for segment in result.segments
        ],
        cached_from=result.cached_from,
        cache_key=result.cache_key,
        cache_inputs=result.cache_inputs,
    )


def test_records(results: Sequence[TaskResult]) -> Iterator[TestRecord]:
    """One record per test per attempt; ids stay unique even when a tool repeats a name."""
    for result in results:
        attempts = [(a.number, a.cases) for a in result.attempts] or [(1, result.cases)]
        last_attempt = {case.id: number for number, cases in attempts for case in cases}
        final_flaky = {case.id: case.flaky for case in result.cases}
        for number, cases in attempts:
            seen: dict[str, int] = {}
            for case in cases:
                seen[case.id] = seen.get(case.id, 0) + 1
                suffix = f"#{seen[case.id]}" if seen[case.id] > 1 else ""
                final = last_attempt[case.id] == number
                yield test_record(result, number, case, suffix, final, final_flaky)


def test_record(
    result: TaskResult,
    attempt: int,
    case: TestCase,
    suffix: str,
    final: bool,
    final_flaky: Mapping[str, bool],
) -> TestRecord:
    """A test case of one attempt as a line of tests.jsonl."""
    return TestRecord(
        id=f"{result.task}::{attempt}::{case.id}{suffix}",
        task=result.task,
        suite=result.suite,
        attempt=attempt,
        test_id=case.id,
        classname=case.classname,
        name=case.name,
        file=case.file,
        line=case.line,
        status=case.status,
        final=final,
        flaky=final and final_flaky.get(case.id, case.flaky),
        duration=case.duration,
        message=case.message,
        output=case.output,
    )


def total_counts(counts: Iterable[Counts]) -> Counts:
    """Sum of per-task counts."""
    total = Counts()
    for item in counts:
        for name in Counts.model_fields:
            setattr(total, name, getattr(total, name) + getattr(item, name))
    return total


def write_test_records(path: Path, records: Iterable[TestRecord]) -> None:
    """Write JSON lines, one record each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as stream:
        for record in records:
            stream.write(record.model_dump_json() + "\n")


def write_json_streamed(
    stream: TextIO, model: BaseModel, list_field: str, items: Iterable[BaseModel]
) -> None:
    """`model` as indented JSON whose last field, a list, is `items`, written one item at a time.

    The text is what `model_dump_json(indent=2)` would make of the whole model, so a list of
    50,000 failures never sits in memory as one string. Lines are split at `\\n` only: JSON
    text can hold other line separators inside its strings.
    """
    head = model.model_dump_json(indent=2, exclude={list_field}).removesuffix("\n}")
    stream.write(f'{head},\n  "{list_field}": [')
    separator = "\n"
    for item in items:
        lines = item.model_dump_json(indent=2).split("\n")
        stream.write(separator + "\n".join(JSON_ITEM_INDENT + line for line in lines))
        separator = ",\n"
    stream.write("]\n}\n" if separator == "\n" else "\n  ]\n}\n")


def write_manifest(run_dir: Path, manifest: Manifest) -> None:
    """Write manifest.json atomically: readers see the old file or the whole new one."""
    payload = manifest.model_dump_json(indent=2) + "\n"
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=run_dir, prefix=".manifest-", suffix=".tmp", delete=False
    ) as stream:
        stream.write(payload)
        stream.flush()
        os.fsync(stream.fileno())
    Path(stream.name).replace(run_dir / MANIFEST_NAME)


def index_files(run_dir: Path) -> list[EvidenceFile]:
    """Every regular file of the run except the manifest, with sha256; symlinks are not followed."""
    files = []
    for folder, subfolders, names in os.walk(run_dir, followlinks=False):
        subfolders.sort()
        for name in sorted(names):
            path = Path(folder) / name
            shown = path.relative_to(run_dir).as_posix()
            if shown == MANIFEST_NAME or path.is_symlink() or not path.is_file():
                continue
            files.append(EvidenceFile(path=shown, sha256=sha256_of(path), size=path.stat().st_size))
    return files


def sha256_of(path: Path) -> str:
    """Checksum of a file, read in chunks so large artifacts do not fill memory."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def relative(run_dir: Path, path: Path) -> str:
    """A path inside the run as a relative POSIX path; anything else stays absolute.

    A result's paths are relative to the run already; absolute ones below the run directory
    are made relative as they are; only others are resolved (through symlinks), which costs a
    system call per path component.
    """
    if not path.is_absolute():
        return path.as_posix()
    if run_dir.is_absolute() and path.is_relative_to(run_dir):
        return path.relative_to(run_dir).as_posix()
    try:
        return path.resolve().relative_to(run_dir.resolve()).as_posix()
    except ValueError:
        return str(path)


def git_state(folder: Path) -> tuple[str | None, bool | None]:
    """Commit and whether tracked files changed; (None, None) outside a repository or without git."""
    commit = _git(folder, "rev-parse", "HEAD")
    if commit is None:
        return None, None
    changes = _git(folder, "status", "--porcelain", "--untracked-files=no")
    return commit, (bool(changes) if changes is not None else None)


def _git(folder: Path, *args: str) -> str | None:
    try:
        completed = run_captured(["git", *args], cwd=folder, timeout=GIT_TIMEOUT)
    except (OSError, CommandTimedOut):
        return None
    return completed.stdout.strip() if completed.exit_code == 0 else None


def tool_versions() -> dict[str, str]:
    """Python, qaagent and the test tools installed next to it."""
    versions = {"python": platform.python_version(), "qaagent": __version__}
    for tool in TOOLS:
        try:
            versions[tool] = metadata.version(tool)
        except metadata.PackageNotFoundError:
            continue
    return versions
