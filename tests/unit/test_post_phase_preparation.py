"""The post-phase preparation starts once the first wave of tasks is running."""

from __future__ import annotations

from pathlib import Path

from qaagent.execute.events import EventPublisher
from qaagent.model import events
from qaagent.session import PostPhasePreparation, StartAfterFirstWave


class CountingPreparation(PostPhasePreparation):
    def __init__(self) -> None:
        super().__init__(Path(), [])
        self.starts = 0

    def start(self) -> None:
        self.starts += 1


def test_preparation_starts_when_every_worker_has_started_a_task() -> None:
    preparation = CountingPreparation()
    publisher = EventPublisher("run-1")
    publisher.subscribe(StartAfterFirstWave(preparation, wave=2))
    publisher.publish(events.TaskStarted, task="a", worker=0)
    publisher.publish(events.TaskOutput, task="a", line="hello")
    assert preparation.starts == 0
    publisher.publish(events.TaskStarted, task="b", worker=1)
    assert preparation.starts == 1
