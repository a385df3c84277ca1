"""The scheduler: claims queued executions, runs each as a child `qaagent run-all`, watches them.

One thread does everything, in short rounds: renew the leases, notice children that ended,
stop those cancelled or over their memory limit, then start more while there is room. Most
urgent first, then oldest; at most `max_executions` at once; a new one starts only while CPU
and memory stay under their thresholds (a critical one under the higher emergency ones), but
one always may when none runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from qaagent.logging import get_logger
from qaagent.processes.child import Child
from qaagent.processes.watchdog import ProcessGuard
from qaagent.serve import notify
from qaagent.serve.eventlog import read_events
from qaagent.serve.requests import CRITICAL, ExecutionRequest, run_all_argv
from qaagent.serve.states import ExecutionState, state_of_exit
from qaagent.serve.store import ExecutionRecord, QueueStore

LOGGER = get_logger(__name__)
ROUND_SECONDS = 0.2
LEASE_SECONDS = 30.0
ESCALATE_SECONDS = 2.0
END_SECONDS = 15.0
DRAIN_END_SECONDS = 30.0
NOTIFY_JOIN_SECONDS = 30.0


@dataclass(frozen=True)
class Thresholds:
    """CPU and memory percentages under which new executions start."""

    cpu: float = 90.0
    memory: float = 90.0
    emergency_cpu: float = 98.0
    emergency_memory: float = 97.0


@dataclass
class Running:
    """A child this server started, and how far its stop has gone."""

    record: ExecutionRecord
    child: Child
    stop_asked: float | None = None
    interrupts: int = 0
    note: str | None = None
    over_limit: str | None = None
    ended: bool = False

    def ask_to_stop(self) -> None:
        """SIGINT once, as Ctrl-C: the run stops its tests and writes its evidence."""
        if self.stop_asked is None:
            self.stop_asked = time.monotonic()
            self.interrupts = 1
            self.child.interrupt()


@dataclass
class ExecutionFiles:
    """Where an execution's events and child output are kept under the data folder."""

    folder: Path

    @property
    def events(self) -> Path:
        """The child's `--events jsonl` file."""
        return self.folder / "events.jsonl"

    @property
    def output(self) -> Path:
        """What the child printed."""
        return self.folder / "output.log"


@dataclass
class Scheduler:
    """Runs the queue's executions as children, at most `max_executions` at once."""

    store: QueueStore
    data: Path
    max_executions: int
    guard: ProcessGuard
    thresholds: Thresholds = field(default_factory=Thresholds)
    run_options: dict[str, Any] = field(default_factory=dict)
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    running: dict[str, Running] = field(default_factory=dict)
    admitting: bool = True
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _renewed: float = 0.0
    _notifiers: list[threading.Thread] = field(default_factory=list)

    def files(self, execution_id: str) -> ExecutionFiles:
        """The execution's files under the data folder."""
        return ExecutionFiles(self.data / "executions" / execution_id)

    def start(self) -> None:
        """Take over executions a stopped server left running, then schedule on a thread."""
        for record in self.store.recover(time.time(), owner=self.owner):
            if record.state is ExecutionState.interrupted:
                self._note_run_dir(record.id)
        self._thread = threading.Thread(target=self._loop, name="qaagent-scheduler", daemon=True)
        self._thread.start()

    def drain(self, timeout: float) -> None:
        """Start nothing more, let running executions finish for `timeout`, then stop them."""
        self.admitting = False
        limit = time.monotonic() + timeout
        while self.running and time.monotonic() < limit:
            time.sleep(ROUND_SECONDS)
        with self._lock:
            for running in self.running.values():
                running.note = "the server stopped before it finished"
                running.ask_to_stop()
        limit = time.monotonic() + DRAIN_END_SECONDS
        while self.running and time.monotonic() < limit:
            time.sleep(ROUND_SECONDS)
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for notifier in list(self._notifiers):
            notifier.join(NOTIFY_JOIN_SECONDS)

    def cancel(self, execution_id: str) -> ExecutionRecord | None:
        """Cancel a queued execution at once; stop a running one as Ctrl-C would."""
        record = self.store.cancel(execution_id)
        with self._lock:
            running = self.running.get(execution_id)
            if running is not None:
                running.ask_to_stop()
        return record

    def tree_rss(self) -> dict[str, int]:
        """Resident bytes of each running execution's process tree."""
        with self._lock:
            children = {key: running.child for key, running in self.running.items()}
        return {key: child.rss_bytes() for key, child in children.items()}

    def _loop(self) -> None:
        """Rounds until stopped; a failing round never stops the scheduler."""
        while not self._stop.is_set():
            try:
                self._round()
            except Exception:
                LOGGER.exception("a scheduling round failed; the next one follows")
            self._stop.wait(ROUND_SECONDS)

    def _round(self) -> None:
        """Renew leases, look after the children, start more while there is room."""
        now = time.monotonic()
        if now - self._renewed > LEASE_SECONDS / 3:
            self.store.renew(self.owner, LEASE_SECONDS)
            self._renewed = now
        with self._lock:
            for running in list(self.running.values()):
                self._look_after(running)
        while self.admitting and len(self.running) < self.max_executions:
            floor = self.admissible_priority()
            record = None if floor is None else self.store.claim(self.owner, LEASE_SECONDS, floor)
            if record is None:
                return
            self._launch(record)

    def admissible_priority(self) -> int | None:
        """Lowest priority that may start now: -1 for any, critical only, or None for none."""
        if not self.running:
            return -1
        cpu = psutil.cpu_percent(interval=None)
        memory = psutil.virtual_memory().percent
        if cpu <= self.thresholds.cpu and memory <= self.thresholds.memory:
            return -1
        if cpu <= self.thresholds.emergency_cpu and memory <= self.thresholds.emergency_memory:
            return CRITICAL
        return None

    def _launch(self, record: ExecutionRecord) -> None:
        """Start the child of a claimed execution; one that cannot start is an error."""
        request = ExecutionRequest.model_validate(record.request["execution"])
        profile = Path(record.request["profile_path"])
        files = self.files(record.id)
        files.folder.mkdir(parents=True, exist_ok=True)
        files.events.unlink(missing_ok=True)
        argv = [
            sys.executable,
            "-m",
            "qaagent",
            "run-all",
            *run_all_argv(request, profile, files.events, self.run_options),
        ]
        try:
            child = Child.start(argv, profile.parent, os.environ, files.output, self.guard)
        except OSError as error:
            self.store.finish(record.id, ExecutionState.error, error=f"cannot start: {error}")
            return
        with self._lock:
            self.running[record.id] = Running(record, child)

    def _look_after(self, running: Running) -> None:
        """Finish an ended child, escalate a stop, enforce the memory limit."""
        code = running.child.exit_code()
        if code is not None:
            self._finish(running, code)
            return
        if running.stop_asked is None:
            self._enforce_memory(running)
            if self._cancel_requested(running.record.id):
                running.ask_to_stop()
            return
        waited = time.monotonic() - running.stop_asked
        if running.interrupts == 1 and waited > ESCALATE_SECONDS:
            running.interrupts = 2
            running.child.interrupt()
        elif waited > END_SECONDS and not running.ended:
            running.ended = True
            threading.Thread(target=running.child.end, daemon=True).start()

    def _cancel_requested(self, execution_id: str) -> bool:
        """Whether a client asked to cancel this execution (through another worker, say)."""
        record = self.store.get(execution_id)
        return record is not None and record.cancel_requested

    def _enforce_memory(self, running: Running) -> None:
        """Kill the tree of an execution over its memory limit, naming the limit."""
        limit = running.record.request["execution"]["configuration"]["resource_limits"].get(
            "memory_mb"
        )
        if limit is None:
            return
        used = running.child.rss_bytes()
        if used > limit * 1024 * 1024:
            running.over_limit = (
                f"killed: its processes used {used // (1024 * 1024)} MB of resident memory, "
                f"over its resource_limits.memory_mb of {limit}"
            )
            running.stop_asked = time.monotonic()
            running.interrupts = 2
            running.ended = True
            threading.Thread(target=running.child.end, daemon=True).start()

    def _finish(self, running: Running, exit_code: int) -> None:
        """Record the end of an execution whose child exited, with its counts and run folder."""
        del self.running[running.record.id]
        if not running.ended:
            running.child.end()
        execution_id = running.record.id
        run_dir = self._note_run_dir(execution_id)
        state = state_of_exit(exit_code, self._cancel_requested(execution_id))
        error = running.note
        if running.over_limit is not None:
            state, error = ExecutionState.error, running.over_limit
        elif state is ExecutionState.error:
            error = self._child_error(execution_id)
        self.store.finish(
            execution_id, state, exit_code=exit_code, error=error, counts=_counts(run_dir)
        )
        self._notify_later(execution_id)

    def _notify_later(self, execution_id: str) -> None:
        """Tell the execution's web hooks of its end on a thread, so no round waits on them."""
        notifier = threading.Thread(
            target=self._notify, args=(execution_id,), name="qaagent-notify", daemon=True
        )
        self._notifiers = [thread for thread in self._notifiers if thread.is_alive()]
        self._notifiers.append(notifier)
        notifier.start()

    def _notify(self, execution_id: str) -> None:
        """POST the summary to the profile's and the request's hooks; record what happened."""
        record = self.store.get(execution_id)
        if record is None:
            return
        targets, secret_names = notify.profile_targets(Path(record.request["profile_path"]))
        request = ExecutionRequest.model_validate(record.request["execution"])
        targets += request.notify
        if not targets:
            return
        execution = {
            "execution_id": record.id,
            "state": record.state.value,
            "labels": record.labels,
            "exit_code": record.exit_code,
        }
        deliveries = notify.deliver_all(
            targets, notify.payload(execution, record.run_dir), secret_names
        )
        self.store.set_notifications(execution_id, [item.as_json() for item in deliveries])

    def _note_run_dir(self, execution_id: str) -> Path | None:
        """The run folder the child's `evidence-written` event named, noted in the store."""
        for event in read_events(self.files(execution_id).events):
            if event["kind"] == "evidence-written":
                self.store.set_run_dir(execution_id, event["run_dir"])
                return Path(event["run_dir"])
        return None

    def _child_error(self, execution_id: str) -> str:
        """qaagent's own error line from the child's output, for an execution that erred."""
        with contextlib.suppress(OSError):
            lines = self.files(execution_id).output.read_text(errors="replace").splitlines()
            for line in reversed(lines):
                if line.startswith("qaagent: error:"):
                    return line.removeprefix("qaagent: error:").strip()
        return "the run ended with an infrastructure error; see its output and run folder"


def _counts(run_dir: Path | None) -> dict[str, int] | None:
    """The run's test counts from its summary.json, when it wrote one."""
    if run_dir is None:
        return None
    try:
        summary: dict[str, Any] = json.loads((run_dir / "reports" / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    counts = summary.get("counts")
    return dict(counts) if isinstance(counts, dict) else None
