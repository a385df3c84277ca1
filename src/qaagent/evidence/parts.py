"""The runs of a plan's CI parts (`run-all --part I/N`) merged into one run folder.

Each part's artifacts are copied under `artifacts/<task>/part-<I>/`, the paths its manifest
names rewritten to match; tests.jsonl and diagnostics are joined, a task that ran in several
parts becomes one with its counts summed and each part as a segment, and the status and exit
code follow from the merged tasks by the rules of a local run.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from qaagent.errors import ExitCode, QAAgentError, UsageError
from qaagent.evidence.merge import SEVERITY
from qaagent.evidence.models import (
    ARTIFACTS_DIR,
    DIAGNOSTICS_NAME,
    TESTS_NAME,
    Diagnostic,
    Diagnostics,
    Manifest,
    PartEntry,
    SegmentEntry,
    TaskEntry,
)
from qaagent.evidence.stored import RunBundle, as_utc, load_run
from qaagent.evidence.writer import (
    index_files,
    total_counts,
    write_json_streamed,
    write_manifest,
    write_test_records,
)
from qaagent.model.results import TaskResult
from qaagent.model.run import StopReason, exit_code_for, status_for

ReportWriter = Callable[[Path, Manifest], None]
STOP_REASONS_BY_WEIGHT = (
    StopReason.interrupted,
    StopReason.run_timeout,
    StopReason.max_failures,
    StopReason.fail_fast,
)


class MissingPartError(QAAgentError):
    """A part of the plan has no run among those to merge: the merged run would be incomplete."""

    exit_code = ExitCode.INFRASTRUCTURE_ERROR


def chosen_parts(run_dirs: Sequence[Path]) -> list[RunBundle]:
    """One run per part of one plan, in part order; of a part run twice, the later one.

    Runs of different plans are a usage error naming both; a missing part names the part.
    """
    bundles = [load_run(run_dir) for run_dir in run_dirs]
    first, reference = bundles[0], part_of(bundles[0])
    latest: dict[int, RunBundle] = {}
    for bundle in bundles:
        part = part_of(bundle)
        if part.digest != reference.digest:
            raise UsageError(
                f"{first.run_dir} and {bundle.run_dir} are parts of different plans "
                f"({reference.digest[:12]} and {part.digest[:12]}); merge the parts of one plan."
            )
        kept = latest.get(part.index)
        if kept is None or finished(bundle) >= finished(kept):
            latest[part.index] = bundle
    missing = [index for index in range(1, reference.total + 1) if index not in latest]
    if missing:
        named = ", ".join(f"{index}/{reference.total}" for index in missing)
        raise MissingPartError(
            f"part {named} of plan {reference.digest[:12]} is missing among the runs to merge; "
            "without it the merged run would not hold every test."
        )
    return [latest[index] for index in sorted(latest)]


def part_of(bundle: RunBundle) -> PartEntry:
    """The part a run was; a run made without --part cannot be merged."""
    if bundle.manifest.part is None:
        raise UsageError(f"{bundle.run_dir} is not a CI part: it was run without --part.")
    return bundle.manifest.part


def finished(bundle: RunBundle) -> datetime:
    """When the run finished, else started: a retried CI job is the later of two runs."""
    manifest = bundle.manifest
    return as_utc(manifest.finished_at or manifest.started_at)


def merge_part_runs(
    parts: Sequence[RunBundle],
    out_dir: Path,
    run_id: str,
    argv: list[str],
    report_writers: Sequence[ReportWriter] = (),
) -> Manifest:
    """Write the merged run into `out_dir` (an empty folder), its manifest last."""
    manifests = []
    for bundle in parts:
        label = f"part-{part_of(bundle).index}"
        copy_artifacts(bundle.run_dir, out_dir, label)
        manifests.append(moved_manifest(bundle.manifest, label))
    write_test_records(out_dir / TESTS_NAME, (r for bundle in parts for r in bundle.records))
    diagnostics = out_dir / DIAGNOSTICS_NAME
    with diagnostics.open("w", encoding="utf-8") as stream:
        items = (item for bundle in parts for item in diagnostic_items(bundle))
        write_json_streamed(stream, Diagnostics(run_id=run_id), "items", items)
    manifest = merged_manifest(manifests, run_id, argv)
    for write_report in report_writers:
        write_report(out_dir, manifest)
    manifest.files = index_files(out_dir)
    write_manifest(out_dir, manifest)
    return manifest


def diagnostic_items(bundle: RunBundle) -> Iterator[Diagnostic]:
    """A part's diagnostics, none when it has no file."""
    return iter(bundle.diagnostics.items if bundle.diagnostics is not None else [])


def copy_artifacts(run_dir: Path, out_dir: Path, label: str) -> None:
    """`artifacts/<task>/...` of a part copied to `artifacts/<task>/<label>/...`; links stay links."""
    source = run_dir / ARTIFACTS_DIR
    if not source.is_dir():
        return
    for folder in sorted(source.iterdir()):
        target = out_dir / ARTIFACTS_DIR / folder.name / label
        if folder.is_dir() and not folder.is_symlink():
            shutil.copytree(folder, target, symlinks=True)


def moved(path: str | None, label: str) -> str | None:
    """A path of the part's run as it is in the merged run."""
    if path is None:
        return None
    head, _, rest = path.partition("/")
    folder, _, inner = rest.partition("/")
    if head != ARTIFACTS_DIR or not inner:
        return path
    return f"{ARTIFACTS_DIR}/{folder}/{label}/{inner}"


def moved_manifest(manifest: Manifest, label: str) -> Manifest:
    """The part's manifest with every path it names moved to its place in the merged run."""
    tasks = [
        task.model_copy(
            update={
                "log": moved(task.log, label),
                "junit": [moved(path, label) for path in task.junit],
                "artifacts": [moved(path, label) for path in task.artifacts],
                "segments": [
                    segment.model_copy(update={"log": moved(segment.log, label)})
                    for segment in task.segments
                ],
            }
        )
        for task in manifest.tasks
    ]
    return manifest.model_copy(update={"tasks": tasks})


def merged_tasks(manifests: Sequence[Manifest]) -> list[TaskEntry]:
    """One entry per task, in the profile's order; a task of several parts joined."""
    by_name: dict[str, list[tuple[int, TaskEntry]]] = {}
    for manifest in manifests:
        for task in manifest.tasks:
            index = manifest.part.index if manifest.part else 0
            by_name.setdefault(task.name, []).append((index, task))
    planned = manifests[0].settings.get("tasks")
    order = list(planned) if isinstance(planned, dict) else []
    position = {name: place for place, name in enumerate(order)}
    names = sorted(by_name, key=lambda name: position.get(name, len(position)))
    return [joined_task(by_name[name]) for name in names]


def joined_task(entries: Sequence[tuple[int, TaskEntry]]) -> TaskEntry:
    """A task that ran in several parts as one: counts summed, the worst outcome, a segment each."""
    if len(entries) == 1:
        return entries[0][1]
    tasks = [task for _, task in entries]
    outcome = max((task.outcome for task in tasks), key=SEVERITY.index)
    worst = next(task for task in tasks if task.outcome is outcome)
    starts = [task.started_at for task in tasks if task.started_at is not None]
    ends = [task.finished_at for task in tasks if task.finished_at is not None]
    costs = [task.cost for task in tasks if task.cost is not None]
    errors = [task.error for task in tasks if task.error]
    return worst.model_copy(
        update={
            "outcome": outcome,
            "counts": total_counts(task.counts for task in tasks),
            "cost": sum(costs) if costs else None,
            "exit_code": next((task.exit_code for task in tasks if task.exit_code), 0),
            "error": "; ".join(errors) or None,
            "started_at": min(starts) if starts else None,
            "finished_at": max(ends) if ends else None,
            "duration": sum(task.duration for task in tasks),
            "attempts": [attempt for task in tasks for attempt in task.attempts],
            "junit": [path for task in tasks for path in task.junit],
            "artifacts": [path for task in tasks for path in task.artifacts],
            "segments": [
                SegmentEntry(
                    label=f"{task.name} (part {index})",
                    worker=task.worker,
                    started_at=task.started_at,
                    finished_at=task.finished_at,
                    outcome=task.outcome,
                    log=task.log,
                )
                for index, task in entries
            ],
        }
    )


def merged_stop_reason(manifests: Sequence[Manifest]) -> StopReason | None:
    """The stop reason that weighs most on the exit code among the parts'."""
    reasons = {str(manifest.settings.get("stop_reason")) for manifest in manifests}
    for reason in STOP_REASONS_BY_WEIGHT:
        if reason.value in reasons:
            return reason
    return None


def merged_manifest(manifests: Sequence[Manifest], run_id: str, argv: list[str]) -> Manifest:
    """The merged run's manifest (without its file index), its exit code as a local run's."""
    tasks = merged_tasks(manifests)
    stop_reason = merged_stop_reason(manifests)
    outcomes = [
        TaskResult(task=task.name, suite=task.suite, kind=task.kind, outcome=task.outcome)
        for task in tasks
    ]
    exit_code = exit_code_for(outcomes, stop_reason)
    started = min(manifest.started_at for manifest in manifests)
    ends = [manifest.finished_at for manifest in manifests if manifest.finished_at is not None]
    finished_at = max(ends) if ends else None
    first = manifests[0]
    return first.model_copy(
        update={
            "run_id": run_id,
            "status": status_for(exit_code),
            "exit_code": int(exit_code),
            "started_at": started,
            "finished_at": finished_at,
            "wall_time": (finished_at - started).total_seconds() if finished_at else 0.0,
            "task_time": sum(manifest.task_time for manifest in manifests),
            "argv": argv,
            "settings": {
                **first.settings,
                "stop_reason": str(stop_reason) if stop_reason else None,
            },
            "counts": total_counts(task.counts for task in tasks),
            "tasks": tasks,
            "part": None,
            "parts": [manifest.run_id for manifest in manifests],
            "files": [],
        }
    )
