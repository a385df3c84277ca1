"""The run's public event stream: one publisher stamps each event and hands it to its subscribers.

The orchestrator's task events and the post-phase's steps all go through one `EventPublisher`,
so every subscriber (`--events jsonl`, the live board, the CI lines) sees one numbered stream.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from qaagent.execute.backend import Event, EventKind
from qaagent.model import events
from qaagent.model.live import LiveTest
from qaagent.model.outcomes import FAILING_TASKS, task_counts
from qaagent.model.results import TaskResult
from qaagent.secrets import NO_SECRETS, SecretValues

Subscriber = Callable[[events.EventBase], None]


class EventPublisher:
    """Stamps events with the run's id, the next sequence number and the time, and fans them out.

    Secret values are masked in every field before any subscriber sees the event. Publishing
    is serialised, so the sequence numbers arrive in order and without gaps.
    """

    def __init__(self, run_id: str, secrets: SecretValues = NO_SECRETS) -> None:
        self.run_id = run_id
        self.secrets = secrets
        self._subscribers: list[Subscriber] = []
        self._seq = 0
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Subscriber) -> None:
        """Send every later event to the subscriber too."""
        self._subscribers.append(subscriber)

    def publish(self, kind: type[events.EventBase], /, **fields: Any) -> None:
        """Build the event of that kind with the next number and give it to every subscriber."""
        if not self._subscribers:
            return
        masked: dict[str, Any] = {
            name: self.secrets.mask_data(value) for name, value in fields.items()
        }
        with self._lock:
            self._seq += 1
            event = kind(run_id=self.run_id, seq=self._seq, time=datetime.now(UTC), **masked)
            for subscriber in self._subscribers:
                subscriber(event)


class JsonLines:
    """Writes each event as one line of JSON, flushed at once; a reader that goes away silences it.

    The JSON is ASCII, so control characters and escape sequences of the tools' output are
    escaped and nothing in the stream acts on a terminal.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.reader_gone = False

    def __call__(self, event: events.EventBase) -> None:
        """Write the event's line."""
        if self.reader_gone:
            return
        try:
            self.stream.write(json.dumps(event.model_dump(mode="json")) + "\n")
            self.stream.flush()
        except OSError:
            self.reader_gone = True


class PublishingWatcher:
    """Watches the orchestrator for the run's subscribers: its task events become public events.

    `tick` is passed on to what redraws with time alone (the live board, the CI progress line).
    """

    def __init__(self, publisher: EventPublisher, tick: Callable[[], None]) -> None:
        self.publisher = publisher
        self._tick = tick

    def event(self, event: Event) -> None:
        """Publish the event."""
        publish_task_event(self.publisher, event)

    def tick(self) -> None:
        """Let the progress redraw."""
        self._tick()


def publish_task_event(publisher: EventPublisher, event: Event) -> None:
    """The orchestrator's event as the public event of its kind."""
    if event.kind is EventKind.started:
        publisher.publish(events.TaskStarted, task=event.task, worker=event.worker)
    elif event.kind is EventKind.output and event.line is not None:
        publisher.publish(events.TaskOutput, task=event.task, worker=event.worker, line=event.line)
    elif event.kind is EventKind.test and event.test is not None:
        publish_test_event(publisher, event.task, event.worker, event.test)
    elif event.kind is EventKind.finished and event.result is not None:
        publisher.publish(events.TaskFinished, worker=event.worker, **finished_fields(event.result))
    elif event.kind is EventKind.stopping and event.line is not None:
        publisher.publish(events.Stopping, reason=stop_reason_of(event.line), message=event.line)


def publish_test_event(
    publisher: EventPublisher, task: str, worker: int | None, test: LiveTest
) -> None:
    """A line of a tool's live feed as the public event of its kind; incomplete lines are dropped."""
    if test.event == "collected" and test.count is not None:
        publisher.publish(events.TestsCollected, task=task, worker=worker, count=test.count)
    elif test.event == "started" and test.test is not None:
        publisher.publish(events.TestStarted, task=task, worker=worker, test=test.test)
    elif test.event == "finished" and test.test is not None and test.outcome is not None:
        fields = test.model_dump(exclude={"event", "count", "part"})
        publisher.publish(events.TestFinished, task=task, worker=worker, **fields)


def finished_fields(result: TaskResult) -> dict[str, Any]:
    """A task's result as `task-finished` states it, counted as the reports count it.

    The log is named as the result names it: relative to the run folder.
    """
    failing = result.outcome in FAILING_TASKS
    return {
        "task": result.task,
        "outcome": str(result.outcome),
        "counts": task_counts(result.outcome, result.cases, result.counts.not_run).model_dump(),
        "duration": round(result.duration, 3),
        "error": result.error,
        "tail": result.tail if failing else [],
        "log": None if result.log_path is None else result.log_path.as_posix(),
        "cached_from": result.cached_from,
    }


def stop_reason_of(message: str) -> str | None:
    """The stop reason whose message this is."""
    from qaagent.execute.orchestrator import STOPPING

    return next((str(reason) for reason, text in STOPPING.items() if text == message), None)
