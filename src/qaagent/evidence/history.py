"""Results and durations of past runs, kept in `<runs_dir>/history.sqlite3`.

SQLite (standard library) rather than a JSON file: two `run-all` finishing at the same moment both
write their rows in one locked transaction each (the second waits, up to `BUSY_TIMEOUT` seconds)
instead of one rewriting the file over the other's, and a crash mid-write leaves the previous state.
The store outlives pruned run directories, so durations and flakiness keep their history.

The history is advisory for a run: one that is corrupt or locked is a one-line warning, never a
reason to stop (see `known_task_durations`).
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from qaagent.errors import QAAgentError
from qaagent.evidence.models import TaskEntry
from qaagent.model.outcomes import CaseStatus, TaskOutcome

Known = TypeVar("Known")

HISTORY_NAME = "history.sqlite3"
COLLECTION_FILE = "collection.json"
BUSY_TIMEOUT = 2.0
RECENT_RUNS = 5
KEEP_RUNS = 500
RERUN_WHOLE_TASK = frozenset({TaskOutcome.error, TaskOutcome.timed_out, TaskOutcome.interrupted})

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    task TEXT NOT NULL,
    outcome TEXT NOT NULL,
    duration REAL NOT NULL,
    PRIMARY KEY (run_id, task)
);
CREATE TABLE IF NOT EXISTS tests (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    task TEXT NOT NULL,
    test_id TEXT NOT NULL,
    status TEXT NOT NULL,
    flaky INTEGER NOT NULL,
    duration REAL NOT NULL,
    PRIMARY KEY (run_id, task, test_id)
);
CREATE TABLE IF NOT EXISTS startups (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    task TEXT NOT NULL,
    seconds REAL NOT NULL,
    PRIMARY KEY (run_id, task)
);
CREATE TABLE IF NOT EXISTS collections (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    task TEXT NOT NULL,
    file TEXT NOT NULL,
    seconds REAL NOT NULL,
    PRIMARY KEY (run_id, task, file)
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs(started_at);
"""


class HistoryError(QAAgentError):
    """The history file cannot be opened, read or written."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"The run history {path} cannot be used ({reason}). Move the file away to start a "
            "new history, make its folder writable, or set run.runs_dir (or QAAGENT_RUNS_DIR) "
            "to another folder."
        )
        self.path = path
        self.reason = reason


_warned: set[Path] = set()


@dataclass(frozen=True)
class FlakyTest:
    """A test that was flaky, or both passed and failed, across recent runs."""

    task: str
    test_id: str
    runs: int
    passed: int
    failed: int
    flaky: int
    last_run: str


@contextmanager
def _store(runs_dir: Path) -> Iterator[sqlite3.Connection]:
    path = runs_dir / HISTORY_NAME
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        with closing(
            sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
        ) as connection:
            connection.execute("PRAGMA foreign_keys = ON")
            connection.executescript(SCHEMA)
            yield connection
    except (OSError, sqlite3.Error) as error:
        raise HistoryError(path, str(error)) from None


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """One write lock for the whole change, taken up front so concurrent writers queue."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def record_run(runs_dir: Path, run_dir: Path) -> None:
    """Add (or replace) one finished run's task and test results; call it after every run."""
    from qaagent.evidence.stored import as_utc, load_run

    bundle = load_run(run_dir)
    manifest = bundle.manifest
    tests = [
        (
            manifest.run_id,
            record.task,
            record.test_id,
            record.status.value,
            int(record.flaky),
            record.duration,
        )
        for record in bundle.final_records()
    ]
    tasks = [
        (manifest.run_id, task.name, task.outcome.value, task.duration) for task in manifest.tasks
    ]
    first_tries: dict[str, float] = {}
    for record in bundle.records:
        if record.attempt == 1:
            first_tries[record.task] = first_tries.get(record.task, 0.0) + record.duration
    startups = [
        (manifest.run_id, task.name, seconds)
        for task in manifest.tasks
        if (seconds := startup_of(task, first_tries.get(task.name))) is not None
    ]
    collections = [
        (manifest.run_id, task.name, file, seconds)
        for task in manifest.tasks
        for file, seconds in collection_of(run_dir, task).items()
    ]
    with _store(runs_dir) as connection, _transaction(connection):
        connection.execute("DELETE FROM runs WHERE run_id = ?", (manifest.run_id,))
        connection.execute(
            "INSERT INTO runs VALUES (?, ?, ?)",
            (manifest.run_id, as_utc(manifest.started_at).isoformat(), manifest.status.value),
        )
        connection.executemany("INSERT INTO tasks VALUES (?, ?, ?, ?)", tasks)
        connection.executemany("INSERT OR REPLACE INTO tests VALUES (?, ?, ?, ?, ?, ?)", tests)
        connection.executemany("INSERT OR REPLACE INTO startups VALUES (?, ?, ?)", startups)
        connection.executemany(
            "INSERT OR REPLACE INTO collections VALUES (?, ?, ?, ?)", collections
        )
        connection.execute(
            "DELETE FROM runs WHERE run_id NOT IN "
            "(SELECT run_id FROM runs ORDER BY started_at DESC, run_id DESC LIMIT ?)",
            (KEEP_RUNS,),
        )


def sync_history(runs_dir: Path) -> list[str]:
    """Record stored runs the history does not know yet (a run-all that stopped before recording)."""
    from qaagent.evidence.stored import stored_runs

    with _store(runs_dir) as connection:
        known = {row[0] for row in connection.execute("SELECT run_id FROM runs")}
    added: list[str] = []
    for run in stored_runs(runs_dir):
        if run.manifest.run_id not in known and run.manifest.status.value != "running":
            record_run(runs_dir, run.path)
            added.append(run.manifest.run_id)
    return added


def task_durations(runs_dir: Path) -> dict[str, float]:
    """Median duration of each task over its last few runs that produced results."""
    return _medians(
        runs_dir,
        "SELECT tasks.task, tasks.duration FROM tasks JOIN runs USING (run_id) "
        "WHERE tasks.outcome IN ('passed', 'failed') AND tasks.duration > 0 "
        "ORDER BY runs.started_at DESC, runs.run_id DESC",
    )


def quietly(read: Callable[[], Known], nothing: Known) -> Known:
    """What `read` finds in the history, or `nothing` after one warning when it cannot be read.

    What the history knows only guides a run (its order, shards, progress), so a damaged
    history never stops one.
    """
    try:
        return read()
    except HistoryError as error:
        warn_once(error)
        return nothing


def known_task_durations(runs_dir: Path) -> dict[str, float]:
    """`task_durations`, or none: durations only order tasks."""
    return quietly(lambda: task_durations(runs_dir), {})


def known_test_durations(runs_dir: Path, task: str) -> dict[str, float]:
    """`test_durations`, or none: durations only balance shards."""
    return quietly(lambda: test_durations(runs_dir, task), {})


def known_test_counts(runs_dir: Path) -> dict[str, int]:
    """`test_counts`, or none: counts only show progress."""
    return quietly(lambda: test_counts(runs_dir), {})


def test_counts(runs_dir: Path) -> dict[str, int]:
    """How many tests each task ran in the latest run that recorded it."""
    with _store(runs_dir) as connection:
        rows = connection.execute(
            "SELECT tests.task, COUNT(*) FROM tests JOIN ("
            "  SELECT tasks.task, MAX(runs.started_at || ' ' || runs.run_id) AS latest"
            "  FROM tasks JOIN runs USING (run_id) GROUP BY tasks.task"
            ") AS newest ON newest.task = tests.task "
            "JOIN runs ON runs.run_id = tests.run_id "
            "WHERE runs.started_at || ' ' || runs.run_id = newest.latest "
            "GROUP BY tests.task"
        ).fetchall()
    return {str(task): int(count) for task, count in rows}


def warn_once(error: HistoryError) -> None:
    """One line on stderr per history file, however often a run tries to read it."""
    if error.path in _warned:
        return
    _warned.add(error.path)
    sys.stderr.write(
        f"qaagent: warning: the run history {error.path} cannot be read ({error.reason}); "
        "running without it.\n"
    )


def test_durations(runs_dir: Path, task: str) -> dict[str, float]:
    """Median duration of each test of one task over its last few runs."""
    return _medians(
        runs_dir,
        "SELECT tests.test_id, tests.duration FROM tests JOIN runs USING (run_id) "
        "WHERE tests.task = ? AND tests.status != 'skipped' "
        "ORDER BY runs.started_at DESC, runs.run_id DESC",
        task,
    )


def every_test_duration(runs_dir: Path) -> dict[str, dict[str, float]]:
    """Median duration of each test over its last few runs, per task, for `durations export`."""
    with _store(runs_dir) as connection:
        rows = connection.execute(
            "SELECT tests.task, tests.test_id, tests.duration FROM tests JOIN runs USING (run_id) "
            "WHERE tests.status != 'skipped' "
            "ORDER BY runs.started_at DESC, runs.run_id DESC"
        ).fetchall()
    by_task: dict[str, list[tuple[str, float]]] = {}
    for task, test_id, duration in rows:
        by_task.setdefault(task, []).append((test_id, duration))
    return {task: _recent_medians(tests) for task, tests in by_task.items()}


def startup_of(task: TaskEntry, tested: float | None) -> float | None:
    """Seconds a task's tool spent before its tests: start-up, imports and collection.

    A suite that forked its parts started them that long after the task began; any other
    suite's first attempt took that much longer than its tests. Shards in separate processes
    and attempts without tests say nothing.
    """
    starts = [segment.started_at for segment in task.segments if segment.started_at is not None]
    if task.started_at is not None and starts:
        seconds = (min(starts) - task.started_at).total_seconds()
    elif task.segments or not task.attempts or tested is None:
        return None
    else:
        seconds = task.attempts[0].duration - tested
    return seconds if seconds > 0 else None


def collection_of(run_dir: Path, task: TaskEntry) -> dict[str, float]:
    """Seconds each test file took to collect in the task's first attempt, or in its parts.

    pytest writes them beside the attempt (`collection.json`); a file collected by several
    parts counts its slowest collection.
    """
    if task.log is None:
        return {}
    attempt = run_dir / Path(task.log).parent / "attempt-1"
    seconds: dict[str, float] = {}
    for path in [attempt / COLLECTION_FILE, *attempt.glob(f"parts/part-*/{COLLECTION_FILE}")]:
        try:
            recorded = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(recorded, dict):
            for file, spent in recorded.items():
                if isinstance(spent, int | float) and spent >= 0:
                    seconds[str(file)] = max(float(spent), seconds.get(str(file), 0.0))
    return seconds


def collection_seconds(runs_dir: Path, task: str) -> dict[str, float]:
    """Median seconds each test file of a task took to collect over its last few runs."""
    return _medians(
        runs_dir,
        "SELECT collections.file, collections.seconds FROM collections "
        "JOIN runs USING (run_id) WHERE collections.task = ? "
        "ORDER BY runs.started_at DESC, runs.run_id DESC",
        task,
    )


def _medians(runs_dir: Path, query: str, *parameters: str) -> dict[str, float]:
    """The recent medians of the (name, seconds) rows `query` selects, newest first."""
    with _store(runs_dir) as connection:
        rows = connection.execute(query, parameters).fetchall()
    return _recent_medians(rows)


def known_collection_seconds(runs_dir: Path, task: str) -> dict[str, float]:
    """`collection_seconds`, or none: they only balance forked parts."""
    return quietly(lambda: collection_seconds(runs_dir, task), {})


def startup_seconds(runs_dir: Path, task: str) -> float | None:
    """The median start-up of a task over its last few runs that recorded one; None without."""
    with _store(runs_dir) as connection:
        rows = connection.execute(
            "SELECT startups.seconds FROM startups JOIN runs USING (run_id) "
            "WHERE startups.task = ? ORDER BY runs.started_at DESC, runs.run_id DESC LIMIT ?",
            (task, RECENT_RUNS),
        ).fetchall()
    return statistics.median(row[0] for row in rows) if rows else None


def known_startup_seconds(runs_dir: Path, task: str) -> float | None:
    """`startup_seconds`, or none: it only chooses how many parts to run."""
    return quietly(lambda: startup_seconds(runs_dir, task), None)


def _recent_medians(rows: list[tuple[str, float]]) -> dict[str, float]:
    recent: dict[str, list[float]] = {}
    for name, duration in rows:
        values = recent.setdefault(name, [])
        if len(values) < RECENT_RUNS:
            values.append(duration)
    return {name: statistics.median(values) for name, values in recent.items()}


def last_failed(runs_dir: Path) -> dict[str, list[str]]:
    """Task → failed test ids of the latest finished run; an empty list means rerun the whole task.

    Read from the latest run directory itself, so it is exact even when history was not recorded.
    Tasks that errored, timed out or were interrupted are rerun whole unless they named failed tests;
    tasks that were never started (fail-fast) did not fail and are left out.
    """
    from qaagent.evidence.stored import FAILING, load_run, stored_runs

    finished = [run for run in stored_runs(runs_dir) if run.manifest.status.value != "running"]
    if not finished:
        return {}
    bundle = load_run(finished[0].path)
    order: dict[tuple[str, str], int] = {}
    for record in bundle.records:
        order.setdefault((record.task, record.test_id), len(order))
    failed: dict[str, list[str]] = {}
    finals = sorted(bundle.final_records(), key=lambda record: order[(record.task, record.test_id)])
    for record in finals:
        if record.status in FAILING and not record.flaky:
            failed.setdefault(record.task, []).append(record.test_id)
    for task in bundle.manifest.tasks:
        if task.outcome in RERUN_WHOLE_TASK:
            failed.setdefault(task.name, [])
    return {task.name: failed[task.name] for task in bundle.manifest.tasks if task.name in failed}


def flaky_tests(runs_dir: Path, last_n: int = 20) -> list[FlakyTest]:
    """Tests flaky in, or both passing and failing across, the last `last_n` recorded runs."""
    with _store(runs_dir) as connection:
        rows = connection.execute(
            "SELECT tests.task, tests.test_id, tests.status, tests.flaky, runs.run_id "
            "FROM tests JOIN (SELECT run_id, started_at FROM runs "
            "ORDER BY started_at DESC, run_id DESC LIMIT ?) AS runs USING (run_id) "
            "ORDER BY runs.started_at, runs.run_id",
            (last_n,),
        ).fetchall()
    seen: dict[tuple[str, str], list[tuple[str, bool, str]]] = {}
    for task, test_id, status, flaky, run_id in rows:
        seen.setdefault((task, test_id), []).append((status, bool(flaky), run_id))
    found = [
        test
        for (task, test_id), results in seen.items()
        if (test := _flakiness(task, test_id, results)) is not None
    ]
    return sorted(found, key=lambda test: (-(test.flaky + test.failed), test.task, test.test_id))


def _flakiness(task: str, test_id: str, results: list[tuple[str, bool, str]]) -> FlakyTest | None:
    failing = {CaseStatus.failed.value, CaseStatus.error.value}
    flaky = sum(1 for _, is_flaky, _ in results if is_flaky)
    failed = sum(1 for status, is_flaky, _ in results if status in failing and not is_flaky)
    passed = sum(1 for status, is_flaky, _ in results if status == "passed" and not is_flaky)
    if not flaky and not (passed and failed):
        return None
    unstable = [run_id for status, is_flaky, run_id in results if is_flaky or status in failing]
    return FlakyTest(task, test_id, len(results), passed, failed, flaky, unstable[-1])
