"""The result cache: which passing run stands for a key, kept in `<runs_dir>/cache/<key>.json`.

An entry names a run folder beside it; once `runs prune` removes that folder, the entry is a
miss and is removed with it. Only a task that passed with no flaky test is ever stored.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from qaagent.evidence.models import MANIFEST_NAME, TaskEntry, TestRecord
from qaagent.evidence.stored import RunReadError, load_run, read_manifest
from qaagent.model.outcomes import TaskOutcome, TestCase
from qaagent.model.results import TaskResult

CACHE_DIR = "cache"


class CacheEntry(BaseModel):
    """One stored key: the task and the run whose passing result it names."""

    task: str
    run_id: str
    key: str
    inputs: dict[str, str]


@dataclass(frozen=True)
class CacheHit:
    """A task whose inputs match a passing run still on disk."""

    entry: CacheEntry
    run_dir: Path
    task: TaskEntry


def cache_dir(runs_dir: Path) -> Path:
    """Where the entries live: beside the runs they name."""
    return runs_dir / CACHE_DIR


def look_up(runs_dir: Path, task: str, key: str) -> CacheHit | None:
    """The passing run stored under `key` for `task`; None when there is none left to read."""
    entry = read_entry(cache_dir(runs_dir) / f"{key}.json")
    if entry is None or entry.task != task:
        return None
    try:
        manifest = read_manifest(runs_dir / entry.run_id)
    except RunReadError:
        return None
    stored = next((item for item in manifest.tasks if item.name == task), None)
    if stored is None or not passed_cleanly(stored.outcome, stored.counts.flaky):
        return None
    return CacheHit(entry, runs_dir / entry.run_id, stored)


def read_entry(path: Path) -> CacheEntry | None:
    """The entry at `path`; None when unreadable or when its run id would lead out of the runs."""
    try:
        entry = CacheEntry.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None
    if Path(entry.run_id).name != entry.run_id or entry.run_id in {"", ".", ".."}:
        return None
    return entry


def passed_cleanly(outcome: TaskOutcome, flaky: int) -> bool:
    """Only a pass with no flaky test may stand for later runs."""
    return outcome is TaskOutcome.passed and flaky == 0


def store_passing(runs_dir: Path, run_id: str, results: Iterable[TaskResult]) -> None:
    """Remember the keys of the tasks of this run that passed cleanly and were not cached."""
    folder = cache_dir(runs_dir)
    for result in results:
        if result.cache_key is None or result.cached_from is not None:
            continue
        if not passed_cleanly(result.outcome, result.counts.flaky):
            continue
        folder.mkdir(parents=True, exist_ok=True)
        entry = CacheEntry(
            task=result.task, run_id=run_id, key=result.cache_key, inputs=result.cache_inputs
        )
        write_atomically(folder / f"{result.cache_key}.json", entry.model_dump_json(indent=2))


def write_atomically(path: Path, text: str) -> None:
    """A reader sees the old entry or the new one, never half of one."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def remove_stale(runs_dir: Path) -> None:
    """Drop the entries whose run folder is gone, or that cannot be read."""
    folder = cache_dir(runs_dir)
    if not folder.is_dir():
        return
    for path in folder.glob("*.json"):
        entry = read_entry(path)
        if entry is None or not (runs_dir / entry.run_id / MANIFEST_NAME).is_file():
            with contextlib.suppress(OSError):
                path.unlink()


def cached_result(hit: CacheHit, suite: str, kind: str) -> TaskResult:
    """The stored run's result of the task, reported `cached`, with its final tests."""
    stored = hit.task
    return TaskResult(
        task=stored.name,
        suite=suite,
        kind=kind,
        outcome=TaskOutcome.cached,
        counts=stored.counts,
        cost=stored.cost,
        cases=final_cases(hit.run_dir, stored.name),
        exit_code=stored.exit_code,
        matrix=stored.matrix,
        cached_from=hit.entry.run_id,
        cache_key=hit.entry.key,
        cache_inputs=hit.entry.inputs,
    )


def final_cases(run_dir: Path, task: str) -> list[TestCase]:
    """The task's final tests in the stored run; none when its records cannot be read."""
    try:
        return [case_of(record) for record in load_run(run_dir).final_records(task)]
    except RunReadError:
        return []


def case_of(record: TestRecord) -> TestCase:
    """A stored test's final record as the case it was."""
    return TestCase(
        id=record.test_id,
        classname=record.classname,
        name=record.name,
        file=record.file,
        line=record.line,
        status=record.status,
        duration=record.duration,
        message=record.message,
        output=record.output,
    )
