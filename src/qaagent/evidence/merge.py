"""The shards of a split suite merged back into one result: cases joined, counts summed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from qaagent.model.outcomes import Counts, TaskOutcome
from qaagent.model.results import Segment, TaskResult

NO_TESTS_IN_ANY_SHARD = "no shard ran any test"
SEVERITY = (
    TaskOutcome.passed,
    TaskOutcome.not_run,
    TaskOutcome.interrupted,
    TaskOutcome.failed,
    TaskOutcome.timed_out,
    TaskOutcome.error,
)


def merge_shards(results: Sequence[TaskResult], shard_of: Mapping[str, str]) -> list[TaskResult]:
    """One result per split suite, where its first shard was; other results unchanged."""
    shards: dict[str, list[TaskResult]] = {}
    for result in results:
        if result.task in shard_of:
            shards.setdefault(shard_of[result.task], []).append(result)
    merged: list[TaskResult] = []
    for result in results:
        suite = shard_of.get(result.task)
        if suite is None:
            merged.append(result)
        elif shards[suite][0] is result:
            merged.append(merge_results(suite, shards[suite]))
    return merged


def merge_results(task: str, parts: Sequence[TaskResult]) -> TaskResult:
    """Shard results as one: cases and attempts joined, counts summed, the worst outcome."""
    first = parts[0]
    outcome = max((part.outcome for part in parts), key=SEVERITY.index)
    worst = next(part for part in parts if part.outcome is outcome)
    starts = [part.started_at for part in parts if part.started_at is not None]
    ends = [part.finished_at for part in parts if part.finished_at is not None]
    errors = [f"{part.task}: {part.error}" for part in parts if part.error]
    if outcome is TaskOutcome.passed and not any(part.cases for part in parts):
        outcome, errors = TaskOutcome.error, [NO_TESTS_IN_ANY_SHARD]
    return TaskResult(
        task=task,
        suite=first.suite,
        kind=first.kind,
        outcome=outcome,
        counts=_summed(part.counts for part in parts),
        cases=[case for part in parts for case in part.cases],
        attempts=[attempt for part in parts for attempt in part.attempts],
        exit_code=next((part.exit_code for part in parts if part.exit_code), first.exit_code),
        error="; ".join(errors) or None,
        output_dir=first.output_dir,
        log_path=worst.log_path,
        artifacts=[path for part in parts for path in part.artifacts],
        tail=worst.tail,
        started_at=min(starts) if starts else None,
        finished_at=max(ends) if ends else None,
        worker=first.worker,
        matrix=first.matrix,
        segments=[
            Segment(
                label=part.task,
                worker=part.worker,
                started_at=part.started_at,
                finished_at=part.finished_at,
                outcome=part.outcome,
                log_path=part.log_path,
            )
            for part in parts
        ],
    )


def _summed(counts: Iterable[Counts]) -> Counts:
    total = Counts()
    for item in counts:
        for name in Counts.model_fields:
            setattr(total, name, getattr(total, name) + getattr(item, name))
    return total
