"""The Dask backend's pure parts: what a worker says, a rerun's reason, the workers' path check."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the Dask backend needs the 'dask' extra installed")

from qaagent.errors import UsageError
from qaagent.execute.backend import Event, EventKind
from qaagent.execute.dask_backend import (
    check_workers,
    event_message,
    missing_paths,
    with_rerun_reason,
)
from qaagent.model.live import LiveTest
from qaagent.model.outcomes import TaskOutcome
from qaagent.model.results import Attempt, TaskResult
from qaagent.secrets import SecretValues


class Cluster:
    """A client whose workers answer `run` with what each cannot see."""

    def __init__(self, missing: dict[str, list[str]]) -> None:
        self.missing = missing

    def run(self, function: object, paths: list[str]) -> dict[str, list[str]]:
        return self.missing


def passed(attempts: int) -> TaskResult:
    now = datetime.now(UTC)
    return TaskResult(
        task="unit",
        suite="unit",
        kind="pytest",
        outcome=TaskOutcome.passed,
        attempts=[
            Attempt(number=n, command=["pytest"], started_at=now, finished_at=now)
            for n in range(1, attempts + 1)
        ],
    )


def test_a_workers_event_carries_its_line_masked_and_its_test_as_plain_data() -> None:
    line = Event(EventKind.output, "unit", line="token=s3cret-value")
    test = Event(EventKind.test, "unit", test=LiveTest(test="t::a", outcome="passed"))
    secrets = SecretValues(["s3cret-value"])

    assert event_message(line, secrets) == {"line": "token=***", "test": None}
    message = event_message(test, secrets)
    assert LiveTest.model_validate(message["test"]) == LiveTest(test="t::a", outcome="passed")


def test_a_task_rerun_after_its_worker_died_says_so_in_its_first_attempt() -> None:
    rerun = with_rerun_reason(passed(2), ["tcp://a:1", "tcp://b:2"])

    assert rerun.attempts[0].reason == "rerun on tcp://b:2: the worker tcp://a:1 running it died"
    assert rerun.attempts[1].reason is None
    ran_once = passed(1)
    assert with_rerun_reason(ran_once, ["tcp://a:1"]) is ran_once


def test_workers_that_cannot_see_the_project_are_named(tmp_path: Path) -> None:
    cluster = Cluster({"tcp://a:1": [], "tcp://b:2": ["/repo"]})

    with pytest.raises(UsageError, match="tcp://b:2 cannot see /repo") as raised:
        check_workers(cluster, [Path("/repo")])  # type: ignore[arg-type]
    assert "tcp://a:1" not in raised.value.message
    check_workers(Cluster({"tcp://a:1": []}), [tmp_path])  # type: ignore[arg-type]


def test_a_worker_misses_a_folder_it_cannot_find(tmp_path: Path) -> None:
    assert missing_paths([str(tmp_path), str(tmp_path / "gone")]) == [str(tmp_path / "gone")]
