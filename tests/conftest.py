"""Two ways to run qaagent in a test: as a user does (a subprocess), or its pipeline in-process.

`run_qaagent` is the real command (`python -m qaagent`); it is what tests of signals, the
watchdog, leaks and output use. `in_process` runs `qaagent.session` on a profile with a fake
tool whose tests are scripted per suite, and records every event: for pipeline scenarios that
need no real process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from qaagent_process import qaagent

from qaagent.config.loader import load_profile
from qaagent.model.events import EventBase
from qaagent.model.live import LiveTest
from qaagent.model.outcomes import CaseStatus, Counts, TaskOutcome, TestCase
from qaagent.model.results import TaskResult
from qaagent.model.task import Task
from qaagent.plan.tasks import build_tasks
from qaagent.session import ProgressFactory, RunOutcome, RunRequest, Session, quiet_progress
from qaagent.tools.base import RunContext

HANG = "hang"
"""A scripted test that runs until the task is told to stop."""


class ScriptedTool:
    """A runner for every kind of suite that plays each suite's script of test outcomes.

    Each test is reported live (`started`, then `finished`) before the next begins; a test
    scripted as `hang` waits for the stop flag, and the task is then interrupted.
    """

    def __init__(self, scripts: Mapping[str, Sequence[str]]) -> None:
        self.scripts = scripts
        self.started: list[str] = []

    def __call__(self, kind: str) -> ScriptedTool:
        return self

    def run(self, task: Task, context: RunContext) -> TaskResult:
        self.started.append(task.name)
        started_at = datetime.now(UTC)
        cases: list[TestCase] = []
        outcome = TaskOutcome.passed
        for number, scripted in enumerate(self.scripts.get(task.suite, ["passed"]), start=1):
            test = f"{task.name}::test_{number}"
            report(context, LiveTest(event="started", test=test))
            if scripted == HANG:
                assert context.stop.wait(30), f"{test} was never asked to stop"
                outcome = TaskOutcome.interrupted
                break
            report(context, LiveTest(test=test, outcome=scripted, duration=0.0))
            cases.append(TestCase(id=test, name=f"test_{number}", status=CaseStatus(scripted)))
        if outcome is TaskOutcome.passed and Counts.of(cases).failed:
            outcome = TaskOutcome.failed
        return TaskResult(
            task=task.name,
            suite=task.suite,
            kind=task.kind,
            outcome=outcome,
            cases=cases,
            started_at=started_at,
            finished_at=datetime.now(UTC),
        )


def report(context: RunContext, test: LiveTest) -> None:
    """Send one line of the live feed, as a real tool's plugin would."""
    if context.on_test is not None:
        context.on_test(test)


@dataclass
class InProcessRun:
    """A finished in-process run: its outcome, every event it published, the tool's record."""

    session: Session
    outcome: RunOutcome
    events: list[EventBase]
    tool: ScriptedTool

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest as written to the run folder."""
        path = self.outcome.run_dir / "manifest.json"
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def kinds(self) -> list[str]:
        """The kinds of the published events, in order."""
        return [str(getattr(event, "kind", "")) for event in self.events]

    def of_kind(self, kind: str) -> list[Any]:
        """The published events of one kind, in order."""
        return [event for event in self.events if getattr(event, "kind", None) == kind]


@dataclass
class InProcessProject:
    """A folder with a profile, whose pipeline runs in this process with a scripted tool."""

    path: Path
    formats: list[str] = field(default_factory=lambda: ["json", "junit"])

    def run(
        self,
        profile: str,
        scripts: Mapping[str, Sequence[str]],
        *,
        while_running: Callable[[Session, list[EventBase]], None] | None = None,
        progress: ProgressFactory = quiet_progress,
    ) -> InProcessRun:
        """Write the profile, run every suite it has with the scripts, and record the events.

        `while_running` is called on a thread of its own once the run has started, with the
        session and the events so far (to cancel it, for instance); `progress` shows the run.
        """
        profile_path = self.path / "qaagent.yaml"
        profile_path.write_text(profile, encoding="utf-8")
        loaded = load_profile(profile_path, environ={})
        request = RunRequest(
            loaded, build_tasks(loaded.suites), cwd=self.path, formats=self.formats
        )
        tool = ScriptedTool(scripts)
        events: list[EventBase] = []
        session = Session(request, events.append, runner_for=tool, progress=progress)
        helper = None
        if while_running is not None:
            helper = threading.Thread(target=while_running, args=(session, events), daemon=True)
            helper.start()
        outcome = session.run()
        if helper is not None:
            helper.join(timeout=30)
        return InProcessRun(session, outcome, events, tool)


@pytest.fixture
def in_process(tmp_path: Path) -> InProcessProject:
    """A project whose run goes through the whole pipeline in-process with scripted tests."""
    return InProcessProject(tmp_path)


@pytest.fixture
def run_qaagent() -> Callable[..., Any]:
    """The real `qaagent` command in a subprocess: `run_qaagent("run-all", cwd=project)`."""
    return qaagent
