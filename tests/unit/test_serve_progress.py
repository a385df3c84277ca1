"""An execution's progress from its events: percent, tests done and expected, and the ETA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from qaagent.serve.progress import progress_of

START = datetime(2026, 1, 1, tzinfo=UTC)


def event(kind: str, second: float, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "time": (START + timedelta(seconds=second)).isoformat(), **fields}


PLANNED = event("planned", 0, tasks=[{"name": "unit"}, {"name": "e2e"}])


def test_nothing_done_has_no_eta() -> None:
    progress = progress_of([PLANNED], START + timedelta(seconds=5))

    assert progress.percent == 0.0
    assert progress.eta_seconds is None
    assert (progress.tasks_done, progress.tasks_total) == (0, 2)
    assert progress.tests_total is None
    assert progress.elapsed_seconds == 5.0


def test_a_finished_task_and_half_of_another_make_three_quarters() -> None:
    events = [
        PLANNED,
        event("tests-collected", 1, task="unit", count=2),
        event("test-finished", 2, task="unit", test="a", outcome="passed"),
        event("test-finished", 3, task="unit", test="b", outcome="failed"),
        event("task-finished", 3, task="unit"),
        event("tests-collected", 4, task="e2e", count=4),
        event("test-finished", 5, task="e2e", test="c", outcome="passed"),
        event("test-finished", 6, task="e2e", test="d", outcome="passed"),
    ]

    progress = progress_of(events, START + timedelta(seconds=6))

    assert progress.percent == 75.0
    assert (progress.tests_done, progress.tests_total) == (4, 6)
    assert progress.tasks_done == 1
    assert progress.eta_seconds == 2.0
    assert not progress.finished


def test_a_rerun_test_counts_once() -> None:
    events = [
        PLANNED,
        event("tests-collected", 1, task="unit", count=1),
        event("test-finished", 2, task="unit", test="a", outcome="failed"),
        event("tests-collected", 3, task="unit", count=1),
        event("test-finished", 4, task="unit", test="a", outcome="passed"),
    ]

    progress = progress_of(events, START + timedelta(seconds=4))

    assert progress.tests_done == 1
    assert progress.percent < 50.0


def test_a_finished_run_is_whole_and_its_time_stops_at_its_last_event() -> None:
    events = [
        PLANNED,
        event("task-finished", 2, task="unit"),
        event("run-finished", 3, exit_code=130),
    ]

    progress = progress_of(events, START + timedelta(hours=1))

    assert progress.percent == 100.0
    assert progress.finished
    assert progress.eta_seconds == 0.0
    assert progress.elapsed_seconds == 3.0
