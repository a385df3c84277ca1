"""The service's queue: priority then arrival, leases that lapse, and what survives a reopen."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from qaagent.serve.states import ExecutionState
from qaagent.serve.store import QueueStore


def request(name: str, **extra: Any) -> dict[str, Any]:
    return {"execution": {"profile": name, **extra}, "profile_path": f"/root/{name}"}


def test_claims_the_most_urgent_then_the_oldest(tmp_path: Path) -> None:
    store = QueueStore(tmp_path / "queue.sqlite3")
    low = store.add(request("low"), 25, [])
    first_high = store.add(request("first-high"), 75, [])
    second_high = store.add(request("second-high"), 75, [])

    claimed = [store.claim("me", 30), store.claim("me", 30), store.claim("me", 30)]

    assert [record.id for record in claimed if record] == [first_high.id, second_high.id, low.id]
    assert all(record and record.state is ExecutionState.running for record in claimed)
    assert store.claim("me", 30) is None


def test_an_execution_is_claimed_by_one_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    store = QueueStore(path)
    other = QueueStore(path)
    store.add(request("only"), 50, [])

    mine = store.claim("me", 30)

    assert mine is not None and mine.lease_owner == "me"
    assert other.claim("someone-else", 30) is None


def test_a_minimum_priority_leaves_less_urgent_executions_queued(tmp_path: Path) -> None:
    store = QueueStore(tmp_path / "queue.sqlite3")
    store.add(request("medium"), 50, [])
    critical = store.add(request("critical"), 100, [])

    assert store.claim("me", 30, min_priority=100) == store.get(critical.id)
    assert store.claim("me", 30, min_priority=100) is None


def test_a_lapsed_lease_interrupts_the_execution_and_a_renewed_one_does_not(
    tmp_path: Path,
) -> None:
    store = QueueStore(tmp_path / "queue.sqlite3")
    store.add(request("lapses"), 50, [])
    lapsed = store.claim("gone", 0.01)
    store.add(request("renewed"), 50, [])
    renewed = store.claim("alive", 0.01)
    assert lapsed is not None and renewed is not None

    assert store.renew("alive", 60) == 1
    recovered = store.recover(time.time() + 1)

    assert [record.id for record in recovered] == [lapsed.id]
    assert recovered[0].state is ExecutionState.interrupted
    assert recovered[0].error is not None
    assert store.get(renewed.id).state is ExecutionState.running  # type: ignore[union-attr]


def test_an_interrupted_execution_that_asked_for_it_is_queued_once_more(tmp_path: Path) -> None:
    store = QueueStore(tmp_path / "queue.sqlite3")
    store.add(request("again"), 50, [], requeue_interrupted=True)

    store.claim("first-server", 30)
    first = store.recover(math.inf, owner="second-server")
    store.claim("second-server", 30)
    second = store.recover(math.inf, owner="third-server")

    assert first[0].state is ExecutionState.queued and first[0].requeued
    assert second[0].state is ExecutionState.interrupted


def test_queued_executions_survive_a_reopen_and_another_owner_takes_over(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    store = QueueStore(path)
    queued = store.add(request("queued"), 50, ["nightly"])
    store.add(request("running"), 90, [])
    running = store.claim("killed-server", 30)
    assert running is not None

    reopened = QueueStore(path)
    recovered = reopened.recover(time.time(), owner="new-server")

    assert [record.id for record in recovered] == [running.id]
    assert reopened.get(queued.id).state is ExecutionState.queued  # type: ignore[union-attr]
    assert [record.id for record in reopened.search(label="nightly")] == [queued.id]


def test_cancel_ends_a_queued_execution_and_marks_a_running_one(tmp_path: Path) -> None:
    store = QueueStore(tmp_path / "queue.sqlite3")
    running = store.add(request("running"), 90, [])
    store.claim("me", 30)
    queued = store.add(request("queued"), 50, [])

    assert store.cancel(queued.id).state is ExecutionState.cancelled  # type: ignore[union-attr]
    marked = store.cancel(running.id)

    assert marked is not None
    assert marked.state is ExecutionState.running and marked.cancel_requested
    assert store.claim("me", 30) is None


def test_a_batch_is_queued_in_one_transaction_in_its_order(tmp_path: Path) -> None:
    from qaagent.serve.store import NewExecution

    store = QueueStore(tmp_path / "queue.sqlite3")
    batch = [NewExecution(request(f"p{index}"), 50, [f"n={index}"]) for index in range(300)]

    added = store.add_all(batch)

    assert [record.labels for record in added] == [[f"n={index}"] for index in range(300)]
    reopened = QueueStore(tmp_path / "queue.sqlite3")
    claimed = reopened.claim("me", 30)
    assert claimed is not None and claimed.id == added[0].id
