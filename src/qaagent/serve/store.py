"""The durable queue: one SQLite table (WAL) of executions, claimed under leases, no broker.

An execution is queued, then claimed by one server with `UPDATE … RETURNING` under a lease it
renews while the child runs. A lease that lapses (its server was killed) makes the execution
`interrupted`, or queued again once when it asked for that. Queued rows survive any crash.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qaagent.serve.states import ACTIVE_STATES, ExecutionState

SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL,
    request TEXT NOT NULL,
    labels TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    lease_owner TEXT,
    lease_expires REAL,
    run_dir TEXT,
    exit_code INTEGER,
    error TEXT,
    counts TEXT,
    requeue_interrupted INTEGER NOT NULL DEFAULT 0,
    requeued INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    notifications TEXT
);
CREATE INDEX IF NOT EXISTS queue_order ON executions (state, priority DESC, created);
"""


@dataclass(frozen=True)
class ExecutionRecord:
    """One row of the queue, as the API shows it."""

    id: str
    state: ExecutionState
    priority: int
    request: dict[str, Any]
    labels: list[str]
    created: float
    started: float | None
    finished: float | None
    lease_owner: str | None
    run_dir: str | None
    exit_code: int | None
    error: str | None
    counts: dict[str, int] | None
    requeue_interrupted: bool
    requeued: bool
    cancel_requested: bool
    notifications: list[dict[str, Any]]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ExecutionRecord:
        """The record of a row of `executions`."""
        return cls(
            id=row["id"],
            state=ExecutionState(row["state"]),
            priority=row["priority"],
            request=json.loads(row["request"]),
            labels=json.loads(row["labels"]),
            created=row["created"],
            started=row["started"],
            finished=row["finished"],
            lease_owner=row["lease_owner"],
            run_dir=row["run_dir"],
            exit_code=row["exit_code"],
            error=row["error"],
            counts=json.loads(row["counts"]) if row["counts"] else None,
            requeue_interrupted=bool(row["requeue_interrupted"]),
            requeued=bool(row["requeued"]),
            cancel_requested=bool(row["cancel_requested"]),
            notifications=json.loads(row["notifications"]) if row["notifications"] else [],
        )


@dataclass(frozen=True)
class NewExecution:
    """An execution to queue: the stored request, its priority and labels."""

    request: dict[str, Any]
    priority: int
    labels: Sequence[str]
    requeue_interrupted: bool = False


class QueueStore:
    """The executions table; every method is one short transaction, safe from any thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Columns a queue written by an older qaagent lacks."""
        columns = {row["name"] for row in self._db.execute("PRAGMA table_info(executions)")}
        if "notifications" not in columns:
            self._db.execute("ALTER TABLE executions ADD COLUMN notifications TEXT")

    def close(self) -> None:
        """Close the database; the WAL is checkpointed."""
        with self._lock:
            self._db.close()

    def add(
        self,
        request: dict[str, Any],
        priority: int,
        labels: Sequence[str],
        requeue_interrupted: bool = False,
    ) -> ExecutionRecord:
        """Queue an execution; it is on disk when this returns."""
        return self.add_all([NewExecution(request, priority, labels, requeue_interrupted)])[0]

    def add_all(self, executions: Sequence[NewExecution]) -> list[ExecutionRecord]:
        """Queue executions in one transaction, in order; on disk when this returns."""
        now = time.time()
        rows = [
            (
                uuid.uuid4().hex[:12],
                ExecutionState.queued.value,
                execution.priority,
                json.dumps(execution.request),
                json.dumps(list(execution.labels)),
                now,
                execution.requeue_interrupted,
            )
            for execution in executions
        ]
        with self._lock:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT INTO executions "
                    "(id, state, priority, request, labels, created, requeue_interrupted) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            marks = ", ".join("?" for _ in rows)
            cursor = self._db.execute(
                f"SELECT * FROM executions WHERE id IN ({marks}) ORDER BY rowid",
                [row[0] for row in rows],
            )
            return [ExecutionRecord.from_row(row) for row in cursor.fetchall()]

    def claim(
        self, owner: str, lease_seconds: float, min_priority: int | None = None
    ) -> ExecutionRecord | None:
        """Take the most urgent, then oldest, queued execution under a lease; None when none."""
        now = time.time()
        floor = -math.inf if min_priority is None else min_priority
        rows = self._run(
            "UPDATE executions SET state = ?, lease_owner = ?, lease_expires = ?, started = ? "
            "WHERE id = (SELECT id FROM executions WHERE state = ? AND priority >= ? "
            "ORDER BY priority DESC, created, rowid LIMIT 1) AND state = ? RETURNING *",
            (
                ExecutionState.running,
                owner,
                now + lease_seconds,
                now,
                ExecutionState.queued,
                floor,
                ExecutionState.queued,
            ),
        )
        return rows[0] if rows else None

    def renew(self, owner: str, lease_seconds: float) -> int:
        """Extend the leases of every execution this owner runs; how many it holds."""
        rows = self._run(
            "UPDATE executions SET lease_expires = ? WHERE state = ? AND lease_owner = ? "
            "RETURNING *",
            (time.time() + lease_seconds, ExecutionState.running, owner),
        )
        return len(rows)

    def recover(self, now: float, owner: str | None = None) -> list[ExecutionRecord]:
        """Executions whose lease lapsed by `now` (or held by another owner than `owner`).

        Each becomes `interrupted`, or `queued` once more when it asked to be requeued and was
        not requeued before.
        """
        rows = self._run(
            "SELECT * FROM executions WHERE state = ? AND (lease_expires < ? OR "
            "(? IS NOT NULL AND lease_owner IS NOT ?))",
            (ExecutionState.running, now, owner, owner),
        )
        recovered = []
        for record in rows:
            if record.requeue_interrupted and not record.requeued:
                self._run(
                    "UPDATE executions SET state = ?, requeued = 1, lease_owner = NULL, "
                    "lease_expires = NULL, started = NULL WHERE id = ? AND state = ?",
                    (ExecutionState.queued, record.id, ExecutionState.running),
                )
            else:
                self.finish(
                    record.id,
                    ExecutionState.interrupted,
                    error="the server running it stopped before it finished",
                )
            recovered.extend(self._run("SELECT * FROM executions WHERE id = ?", (record.id,)))
        return recovered

    def set_run_dir(self, execution_id: str, run_dir: str) -> None:
        """Note the execution's run folder once its child names it."""
        self._run("UPDATE executions SET run_dir = ? WHERE id = ?", (run_dir, execution_id))

    def finish(
        self,
        execution_id: str,
        state: ExecutionState,
        *,
        exit_code: int | None = None,
        error: str | None = None,
        counts: dict[str, int] | None = None,
    ) -> None:
        """The execution ended in `state`; its lease is released."""
        self._run(
            "UPDATE executions SET state = ?, finished = ?, exit_code = ?, error = ?, "
            "counts = ?, lease_owner = NULL, lease_expires = NULL WHERE id = ?",
            (
                state,
                time.time(),
                exit_code,
                error,
                json.dumps(counts) if counts is not None else None,
                execution_id,
            ),
        )

    def set_notifications(self, execution_id: str, notifications: list[dict[str, Any]]) -> None:
        """Note what became of the execution's notifications."""
        self._run(
            "UPDATE executions SET notifications = ? WHERE id = ?",
            (json.dumps(notifications), execution_id),
        )

    def cancel(self, execution_id: str) -> ExecutionRecord | None:
        """A queued execution is cancelled at once; a running one is marked to be stopped."""
        self._run(
            "UPDATE executions SET state = ?, finished = ? WHERE id = ? AND state = ?",
            (ExecutionState.cancelled, time.time(), execution_id, ExecutionState.queued),
        )
        self._run(
            "UPDATE executions SET cancel_requested = 1 WHERE id = ? AND state = ?",
            (execution_id, ExecutionState.running),
        )
        return self.get(execution_id)

    def get(self, execution_id: str) -> ExecutionRecord | None:
        """The execution with this id, if there is one."""
        rows = self._run("SELECT * FROM executions WHERE id = ?", (execution_id,))
        return rows[0] if rows else None

    def running(self, owner: str) -> list[ExecutionRecord]:
        """The executions this owner holds leases on."""
        return self._run(
            "SELECT * FROM executions WHERE state = ? AND lease_owner = ?",
            (ExecutionState.running, owner),
        )

    def search(
        self, states: Sequence[ExecutionState] = (), label: str | None = None, limit: int = 100
    ) -> list[ExecutionRecord]:
        """The newest executions in these states (all when none) carrying this label."""
        wanted = list(states) or list(ExecutionState)
        marks = ", ".join("?" for _ in wanted)
        return self._run(
            f"SELECT * FROM executions WHERE state IN ({marks}) AND (? IS NULL OR EXISTS "
            "(SELECT 1 FROM json_each(labels) WHERE value = ?)) "
            "ORDER BY created DESC, rowid DESC LIMIT ?",
            (*wanted, label, label, limit),
        )

    def active(self) -> list[ExecutionRecord]:
        """Running then queued executions, in the order they run or will start."""
        marks = ", ".join("?" for _ in ACTIVE_STATES)
        return self._run(
            f"SELECT * FROM executions WHERE state IN ({marks}) "
            "ORDER BY state = 'queued', priority DESC, created, rowid",
            tuple(ACTIVE_STATES),
        )

    def all_rows(self) -> Iterator[ExecutionRecord]:
        """Every execution, oldest first, for the statistics."""
        yield from self._run("SELECT * FROM executions ORDER BY created, rowid", ())

    def _run(self, sql: str, parameters: Sequence[Any]) -> list[ExecutionRecord]:
        """One statement in its own transaction; the rows it returned as records."""
        with self._lock:
            cursor = self._db.execute(sql, tuple(parameters))
            return [ExecutionRecord.from_row(row) for row in cursor.fetchall()]
