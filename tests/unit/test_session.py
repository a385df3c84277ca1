"""The session runs a request in-process: fake tools, a real run folder, events, no printing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_orchestrator import result_for

from qaagent.config.loader import load_profile
from qaagent.model.events import EventBase
from qaagent.model.outcomes import CaseStatus, TaskOutcome, TestCase
from qaagent.model.results import TaskResult
from qaagent.model.task import Task
from qaagent.plan import build_tasks
from qaagent.session import RunRequest, Session, run
from qaagent.tools.base import RunContext

PROFILE = """\
tests: {unit: {enabled: false}, behave: {enabled: false}, e2e: {enabled: false}}
suites:
  good: {kind: command, command: ["good"]}
  bad: {kind: command, command: ["bad"]}
run: {parallel: false}
"""


class FakeTools:
    """A runner for every kind: `bad` fails one test, anything else passes, or waits to stop."""

    def __init__(self, wait_for_stop: bool = False) -> None:
        self.wait_for_stop = wait_for_stop

    def __call__(self, kind: str) -> FakeTools:
        return self

    def run(self, task: Task, context: RunContext) -> TaskResult:
        if self.wait_for_stop:
            assert context.stop.wait(30), "never asked to stop"
            return result_for(task, TaskOutcome.interrupted, [])
        failed = task.suite == "bad"
        status = CaseStatus.failed if failed else CaseStatus.passed
        cases = [TestCase(id=f"{task.name}::t", name="t", status=status)]
        return result_for(task, TaskOutcome.failed if failed else TaskOutcome.passed, cases)


def request_in(tmp_path: Path) -> RunRequest:
    (tmp_path / "qaagent.yaml").write_text(PROFILE, encoding="utf-8")
    loaded = load_profile(tmp_path / "qaagent.yaml", environ={})
    return RunRequest(loaded, build_tasks(loaded.suites), cwd=tmp_path, formats=["json"])


def test_a_run_in_process_writes_its_folder_and_streams_its_events_without_printing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events: list[EventBase] = []

    outcome = run(request_in(tmp_path), events.append, runner_for=FakeTools())

    assert outcome.exit_code == 1
    assert outcome.run_dir.parent == tmp_path / ".qaagent" / "runs"
    manifest = json.loads((outcome.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["exit_code"] == 1
    assert (outcome.run_dir / "reports" / "summary.json").is_file()
    kinds = [event.kind for event in events]
    assert kinds[0] == "planned"
    assert kinds.count("task-finished") == 2
    assert kinds[-3:] == ["report-written", "evidence-written", "run-finished"]
    assert (tmp_path / ".qaagent" / "runs" / "latest").resolve() == outcome.run_dir.resolve()
    assert capsys.readouterr() == ("", "")


def test_a_cancelled_session_stops_its_tasks_and_still_writes_the_evidence(
    tmp_path: Path,
) -> None:
    session = Session(request_in(tmp_path), runner_for=FakeTools(wait_for_stop=True))

    session.cancel()
    outcome = session.run()

    assert outcome.exit_code == 130
    assert (outcome.run_dir / "manifest.json").is_file()
    assert {result.outcome for result in outcome.execution.results} <= {
        TaskOutcome.interrupted,
        TaskOutcome.not_run,
    }


def test_a_cancel_after_the_evidence_is_written_changes_nothing(tmp_path: Path) -> None:
    session = Session(request_in(tmp_path), runner_for=FakeTools())
    outcome = session.run()

    session.cancel(hard=True)

    assert outcome.exit_code == 1
