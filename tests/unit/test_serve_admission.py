"""Which executions the scheduler may start as the machine gets busier."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from qaagent.processes.watchdog import ProcessGuard
from qaagent.serve import scheduler as scheduling
from qaagent.serve.requests import CRITICAL
from qaagent.serve.scheduler import Running, Scheduler
from qaagent.serve.store import QueueStore


def busy_scheduler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu: float) -> Scheduler:
    """A scheduler with one execution running on a machine whose CPU is `cpu` percent busy."""
    monkeypatch.setattr(scheduling.psutil, "cpu_percent", lambda interval: cpu)
    monkeypatch.setattr(scheduling.psutil, "virtual_memory", lambda: SimpleNamespace(percent=40.0))
    scheduler = Scheduler(QueueStore(tmp_path / "queue.sqlite3"), tmp_path, 2, ProcessGuard())
    scheduler.running["busy"] = cast(Running, cast(Any, object()))
    return scheduler


@pytest.mark.parametrize(("cpu", "admissible"), [(50.0, -1), (95.0, CRITICAL), (99.5, None)])
def test_a_busier_machine_admits_only_critical_executions_then_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu: float, admissible: int | None
) -> None:
    scheduler = busy_scheduler(tmp_path, monkeypatch, cpu)

    assert scheduler.admissible_priority() == admissible


def test_an_idle_scheduler_starts_one_however_busy_the_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler = busy_scheduler(tmp_path, monkeypatch, 100.0)
    scheduler.running.clear()

    assert scheduler.admissible_priority() == -1
