"""Each test's result the moment it finishes, and what finished kept when a run is cut short."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from test_run_all import checked_manifest, project, run_all, run_dirs, start_run_all

__all__ = ["project"]

HANGING_THIRD = """\
import time


def test_one():
    pass


def test_two():
    pass


def test_three_hangs():
    time.sleep(60)


def test_four():
    pass


def test_five():
    pass
"""
TWENTY_QUICK = """\
import time
import pytest


@pytest.mark.parametrize("number", range(20))
def test_quick(number):
    time.sleep(0.05)
"""
HUNG = "hang/test_hang.py::test_three_hangs"
EVENT_WAIT = 60


def add_suite(project: Path, test_file: str, timeout: float | None = None) -> str:
    """A profile with one pytest suite `hang` of one file; returns the profile's file name."""
    (project / "hang").mkdir()
    (project / "hang" / "test_hang.py").write_text(test_file, encoding="utf-8")
    limit = f"    timeout: {timeout}\n" if timeout is not None else ""
    (project / "live.yaml").write_text(
        "project: {name: live}\n"
        "tests:\n  unit: {enabled: false}\n"
        f"suites:\n  hang:\n    kind: pytest\n    path: hang\n{limit}",
        encoding="utf-8",
    )
    return "live.yaml"


def events(path: Path) -> list[dict[str, Any]]:
    """The complete lines of an `--events jsonl` file so far."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]


def reports(run_dir: Path) -> tuple[dict[str, Any], ElementTree.Element]:
    """summary.json's counts and junit.xml's only <testsuite>."""
    summary = json.loads((run_dir / "reports" / "summary.json").read_text(encoding="utf-8"))
    suite = ElementTree.parse(run_dir / "reports" / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    return summary["counts"], suite


def assert_cut_short(run_dir: Path, status: str, hung: str = HUNG) -> None:
    """2 passed, the hung test `status` and named, 2 not run, in the manifest and every report."""
    manifest = checked_manifest(run_dir)
    (task,) = manifest.tasks
    counts = task.counts
    assert (counts.passed, getattr(counts, status.replace("-", "_")), counts.not_run) == (2, 1, 2)
    assert counts.errors == 0
    assert hung in (task.error or "")
    summary_counts, suite = reports(run_dir)
    assert summary_counts["passed"] == 2
    assert summary_counts[status.replace("-", "_")] == 1
    assert summary_counts["not_run"] == 2
    assert summary_counts["errors"] == 0
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert len(cases) == 3
    (error,) = [case.find("error") for case in cases.values() if case.find("error") is not None]
    assert error is not None and error.get("type") == status
    properties = {item.get("name"): item.get("value") for item in suite.iter("property")}
    assert properties["qaagent.not_run"] == "2"
    assert (suite.get("tests"), suite.get("errors")) == ("3", "1")


def test_a_hung_test_times_out_by_name_and_the_tests_before_it_keep_their_results(
    project: Path,
) -> None:
    profile = add_suite(project, HANGING_THIRD, timeout=3)
    completed = run_all(project, "--config", profile)
    assert completed.returncode == 3, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    assert_cut_short(run_dir, "timed-out")
    assert f"timed out in {HUNG}" in (checked_manifest(run_dir).tasks[0].error or "")
    header = next(line for line in completed.stdout.splitlines() if line.startswith("task"))
    assert {"timed_out", "not_run"} <= set(header.split())


def test_ctrl_c_during_a_test_keeps_the_finished_ones_and_names_the_interrupted_one(
    project: Path,
) -> None:
    profile = add_suite(project, HANGING_THIRD)
    stream = project / "events.jsonl"
    process = start_run_all(project, "--config", profile, "--events", f"jsonl={stream}")
    deadline = time.monotonic() + EVENT_WAIT
    while not any(
        event["kind"] == "test-started" and event.get("test") == HUNG for event in events(stream)
    ):
        assert time.monotonic() < deadline, "the hanging test never started"
        assert process.poll() is None, process.communicate()[0]
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=EVENT_WAIT)
    assert process.returncode == 130, output
    (run_dir,) = run_dirs(project)
    assert_cut_short(run_dir, "interrupted")


def test_every_test_finishes_live_in_the_event_stream_before_its_task(project: Path) -> None:
    profile = add_suite(project, TWENTY_QUICK)
    stream = project / "events.jsonl"
    completed = run_all(project, "--config", profile, "--events", f"jsonl={stream}")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = events(stream)
    (collected,) = [event for event in lines if event["kind"] == "tests-collected"]
    assert collected["count"] == 20
    finished = [event for event in lines if event["kind"] == "test-finished"]
    assert [event["test"] for event in finished] == [
        f"hang/test_hang.py::test_quick[{number}]" for number in range(20)
    ]
    assert {event["outcome"] for event in finished} == {"passed"}
    (task_finished,) = [event for event in lines if event["kind"] == "task-finished"]
    assert all(event["time"] <= task_finished["time"] for event in finished)
    assert all(event["seq"] < task_finished["seq"] for event in finished)


OWN_FEED = """\
import json, os, sys

def say(line):
    with open(os.environ["QAAGENT_EVENTS"], "a", encoding="utf-8") as feed:
        feed.write(json.dumps(line) + "\\n")

say({"event": "collected", "count": 2})
say({"event": "started", "test": "evals::greeting"})
say({"test": "evals::greeting", "outcome": "passed", "duration": 0.2, "cost": 1.5})
say({"test": "evals::refund", "outcome": "failed", "message": "score 0.4", "cost": 2})
sys.exit(1)
"""


def test_a_command_that_writes_the_feed_has_its_tests_and_their_cost_in_every_report(
    project: Path,
) -> None:
    (project / "evals.py").write_text(OWN_FEED, encoding="utf-8")
    (project / "own.yaml").write_text(
        "project: {name: own}\ntests:\n  unit: {enabled: false}\n"
        "suites:\n  evals: {kind: command, command: [python, evals.py]}\n",
        encoding="utf-8",
    )
    stream = project / "events.jsonl"
    completed = run_all(project, "--config", "own.yaml", "--events", f"jsonl={stream}")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    finished = [event for event in events(stream) if event["kind"] == "test-finished"]
    assert [(event["test"], event["cost"]) for event in finished] == [
        ("evals::greeting", 1.5),
        ("evals::refund", 2),
    ]
    (run_dir,) = run_dirs(project)
    (task,) = checked_manifest(run_dir).tasks
    assert (task.counts.passed, task.counts.failed, task.cost) == (1, 1, 3.5)
    summary_counts, _ = reports(run_dir)
    assert summary_counts["cost"] == 3.5
    assert "cost 3.5" in (run_dir / "reports" / "summary.md").read_text(encoding="utf-8")
    assert 'class="card cost"' in (run_dir / "reports" / "report.html").read_text(encoding="utf-8")
    header = next(line for line in completed.stdout.splitlines() if line.startswith("task"))
    assert header.split()[-2:] == ["cost", "duration"]
