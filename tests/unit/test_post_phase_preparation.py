"""The post-phase preparation starts once the first wave of tasks is running."""

from __future__ import annotations

from pathlib import Path

from qaagent.execute.backend import Event, EventKind
from qaagent.session import PostPhasePreparation, StartAfterFirstWave


class RecordingProgress:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.ticks = 0

    def event(self, event: Event) -> None:
        self.events.append(event)

    def tick(self) -> None:
        self.ticks += 1


class CountingPreparation(PostPhasePreparation):
    def __init__(self) -> None:
        super().__init__(Path(), [])
        self.starts = 0

    def start(self) -> None:
        self.starts += 1


def test_preparation_starts_when_every_worker_has_started_a_task() -> None:
    progress = RecordingProgress()
    preparation = CountingPreparation()
    watcher = StartAfterFirstWave(progress, preparation, wave=2)
    watcher.event(Event(EventKind.started, "a", worker=0))
    watcher.event(Event(EventKind.output, "a", line="hello"))
    assert preparation.starts == 0
    watcher.event(Event(EventKind.started, "b", worker=1))
    assert preparation.starts == 1
    watcher.tick()
    assert [event.task for event in progress.events] == ["a", "a", "b"]
    assert progress.ticks == 1
