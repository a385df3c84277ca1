"""The shards of a split suite merged back into one result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from qaagent.evidence.merge import merge_shards
from qaagent.model.outcomes import CaseStatus, Counts, TaskOutcome, TestCase
from qaagent.model.results import Attempt, TaskResult

START = datetime(2026, 1, 1, tzinfo=UTC)


def shard_result(
    name: str, outcome: TaskOutcome, cases: list[TestCase], worker: int, offset: float
) -> TaskResult:
    started = START + timedelta(seconds=offset)
    return TaskResult(
        task=name,
        suite="unit",
        kind="pytest",
        outcome=outcome,
        counts=Counts.of(cases),
        cases=cases,
        attempts=[
            Attempt(
                number=1, command=["pytest"], started_at=started, finished_at=started, cases=cases
            )
        ],
        started_at=started,
        finished_at=started + timedelta(seconds=2),
        worker=worker,
    )


def test_shards_merge_into_one_result_where_the_first_shard_was() -> None:
    passed = TestCase(id="a::t1", name="t1", status=CaseStatus.passed)
    failed = TestCase(id="b::t1", name="t1", status=CaseStatus.failed)
    other = TaskResult(task="lint", suite="lint", kind="command", outcome=TaskOutcome.passed)
    results = [
        shard_result("unit[shard=1/2]", TaskOutcome.passed, [passed], worker=0, offset=1),
        other,
        shard_result("unit[shard=2/2]", TaskOutcome.failed, [failed], worker=1, offset=0),
    ]
    merged = merge_shards(results, {"unit[shard=1/2]": "unit", "unit[shard=2/2]": "unit"})
    assert [result.task for result in merged] == ["unit", "lint"]
    unit = merged[0]
    assert unit.outcome is TaskOutcome.failed
    assert unit.counts == Counts(passed=1, failed=1)
    assert [case.id for case in unit.cases] == ["a::t1", "b::t1"]
    assert len(unit.attempts) == 2
    assert unit.started_at == START
    assert unit.finished_at == START + timedelta(seconds=3)
    assert [(segment.label, segment.worker) for segment in unit.segments] == [
        ("unit[shard=1/2]", 0),
        ("unit[shard=2/2]", 1),
    ]
    assert [segment.outcome for segment in unit.segments] == [
        TaskOutcome.passed,
        TaskOutcome.failed,
    ]


def test_a_shard_error_outranks_failures_and_failures_outrank_not_run() -> None:
    def merged_outcome(*outcomes: TaskOutcome) -> TaskOutcome:
        case = TestCase(id="a::t", name="t", status=CaseStatus.passed)
        results = [
            shard_result(f"s[shard={index}/9]", outcome, [case], worker=index, offset=0)
            for index, outcome in enumerate(outcomes)
        ]
        return merge_shards(results, {result.task: "s" for result in results})[0].outcome

    assert merged_outcome(TaskOutcome.failed, TaskOutcome.error) is TaskOutcome.error
    assert merged_outcome(TaskOutcome.not_run, TaskOutcome.failed) is TaskOutcome.failed
    assert merged_outcome(TaskOutcome.passed, TaskOutcome.passed) is TaskOutcome.passed


def test_an_empty_shard_passes_but_a_suite_without_any_test_is_an_error() -> None:
    case = TestCase(id="a::t", name="t", status=CaseStatus.passed)
    shard_of = {"s[shard=1/2]": "s", "s[shard=2/2]": "s"}

    def merged(first: list[TestCase]) -> TaskResult:
        results = [
            shard_result("s[shard=1/2]", TaskOutcome.passed, first, worker=0, offset=0),
            shard_result("s[shard=2/2]", TaskOutcome.passed, [], worker=1, offset=0),
        ]
        return merge_shards(results, shard_of)[0]

    assert merged([case]).outcome is TaskOutcome.passed
    assert merged([case]).error is None
    empty = merged([])
    assert empty.outcome is TaskOutcome.error
    assert empty.error == "no shard ran any test"
