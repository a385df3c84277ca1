"""The session runs a request in-process: scripted tools, a real run folder, events, no printing."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from conftest import HANG, InProcessProject

from qaagent.model.events import EventBase
from qaagent.model.outcomes import TaskOutcome
from qaagent.session import Session

PROFILE = """\
tests: {unit: {enabled: false}, behave: {enabled: false}, e2e: {enabled: false}}
suites:
  good: {kind: command, command: ["good"]}
  bad: {kind: command, command: ["bad"]}
run: {parallel: false%s}
"""
GOOD_AND_BAD = {"good": ["passed"], "bad": ["failed"]}


def profile(run_settings: str = "") -> str:
    """Two command suites, run one after the other, with extra `run:` settings."""
    return PROFILE % run_settings


def cancel_once(kind: str, count: int = 1) -> Callable[[Session, list[EventBase]], None]:
    """Cancel the session once `count` events of `kind` were published."""

    def watch(session: Session, events: list[EventBase]) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if sum(getattr(event, "kind", None) == kind for event in list(events)) >= count:
                session.cancel()
                return
            time.sleep(0.01)

    return watch


def test_a_run_in_process_writes_its_folder_and_streams_its_events_without_printing(
    in_process: InProcessProject, capsys: pytest.CaptureFixture[str]
) -> None:
    run = in_process.run(profile(), GOOD_AND_BAD)

    assert run.outcome.exit_code == 1
    assert run.outcome.run_dir.parent == in_process.path / ".qaagent" / "runs"
    assert run.manifest["exit_code"] == 1
    assert (run.outcome.run_dir / "reports" / "summary.json").is_file()
    kinds = run.kinds()
    assert kinds[0] == "planned"
    assert kinds.count("task-finished") == 2
    assert kinds[-4:] == ["report-written", "report-written", "evidence-written", "run-finished"]
    latest = in_process.path / ".qaagent" / "runs" / "latest"
    assert latest.resolve() == run.outcome.run_dir.resolve()
    assert capsys.readouterr() == ("", "")


def test_each_test_a_tool_reports_live_is_in_the_stream_inside_its_task(
    in_process: InProcessProject,
) -> None:
    run = in_process.run(profile(), {"good": ["passed", "skipped"], "bad": ["failed"]})

    good = [
        (event.kind, getattr(event, "test", None))
        for event in run.events
        if getattr(event, "task", None) == "good"
    ]
    assert good == [
        ("task-started", None),
        ("test-started", "good::test_1"),
        ("test-finished", "good::test_1"),
        ("test-started", "good::test_2"),
        ("test-finished", "good::test_2"),
        ("task-finished", None),
    ]
    (failed,) = [event for event in run.of_kind("test-finished") if event.task == "bad"]
    assert failed.outcome == "failed"
    assert [event.seq for event in run.events] == list(range(1, len(run.events) + 1))


def test_max_failures_stops_the_run_at_the_nth_failing_test_while_its_task_still_runs(
    in_process: InProcessProject,
) -> None:
    run = in_process.run(
        profile(", max_failures: 2"),
        {"good": ["failed", "failed", HANG], "bad": ["failed"]},
    )

    results = {result.task: result.outcome for result in run.outcome.execution.results}
    assert results == {"good": TaskOutcome.interrupted, "bad": TaskOutcome.not_run}
    assert run.manifest["settings"]["stop_reason"] == "max-failures"
    assert run.of_kind("stopping")[0].reason == "max-failures"
    assert run.tool.started == ["good"]


def test_fail_fast_leaves_the_later_task_not_run_in_the_manifest(
    in_process: InProcessProject,
) -> None:
    run = in_process.run(profile(", fail_fast: true, suite_order: [bad, good]"), GOOD_AND_BAD)

    tasks = {task["name"]: task["outcome"] for task in run.manifest["tasks"]}
    assert tasks == {"bad": "failed", "good": "not-run"}
    assert run.manifest["settings"]["stop_reason"] == "fail-fast"
    assert run.tool.started == ["bad"]


def test_a_cancelled_session_stops_its_tasks_and_still_writes_the_evidence(
    in_process: InProcessProject,
) -> None:
    run = in_process.run(
        profile(),
        {"good": ["passed", HANG], "bad": ["failed"]},
        while_running=cancel_once("test-finished"),
    )

    assert run.outcome.exit_code == 130
    assert (run.outcome.run_dir / "manifest.json").is_file()
    results = {result.task: result.outcome for result in run.outcome.execution.results}
    assert results == {"good": TaskOutcome.interrupted, "bad": TaskOutcome.not_run}
    assert run.kinds()[-1] == "run-finished"


def test_a_cancel_after_the_evidence_is_written_changes_nothing(
    in_process: InProcessProject,
) -> None:
    run = in_process.run(profile(), GOOD_AND_BAD)

    run.session.cancel(hard=True)

    assert run.outcome.exit_code == 1
    assert run.manifest["exit_code"] == 1


def test_a_hard_cancel_from_another_thread_ends_the_run_without_raising_anywhere(
    in_process: InProcessProject,
) -> None:
    raised: list[BaseException] = []

    def cancel_hard(session: Session, events: list[EventBase]) -> None:
        watch = cancel_once("test-started", count=2)
        try:
            watch(session, events)
            session.cancel(hard=True)
        except BaseException as error:
            raised.append(error)

    run = in_process.run(
        profile(), {"good": ["passed", HANG], "bad": ["failed"]}, while_running=cancel_hard
    )

    assert raised == []
    assert run.outcome.exit_code == 130
    assert run.manifest["settings"]["stop_reason"] == "interrupted"
    assert (run.outcome.run_dir / "reports" / "summary.json").is_file()
