"""The pytest runner on a real project: counts equal pytest's own summary, exact reruns, errors."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from qaagent.model.outcomes import CaseStatus, Counts, TaskOutcome
from qaagent.model.results import TaskResult
from qaagent.model.task import Task
from qaagent.tools.base import RunContext
from qaagent.tools.registry import runner_for

FIXTURE = Path(__file__).parents[1] / "fixtures" / "pytest_project"
SUMMARY = re.compile(r"^=+ (?P<body>.*\d+ \w+.*) in [\d.]+s(?: \([\d:]+\))? =+$", re.MULTILINE)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "project"))


def make_task(project: Path, path: str | None, **changes: object) -> Task:
    fields: dict[str, object] = {
        "name": "unit",
        "suite": "unit",
        "kind": "pytest",
        "path": project / path if path else None,
        "cwd": project,
        "timeout": 120.0,
    }
    fields.update(changes)
    return Task.model_validate(fields)


def run(task: Task, tmp_path: Path, stop: threading.Event | None = None) -> TaskResult:
    context = RunContext(output_dir=tmp_path / "artifacts" / task.name)
    if stop is not None:
        context.stop = stop
    return runner_for("pytest").run(task, context)


def pytest_summaries(result: TaskResult) -> list[str]:
    """pytest's closing lines, one per attempt, read from the task's log."""
    assert result.log_path is not None
    return [m["body"] for m in SUMMARY.finditer(result.log_path.read_text(errors="replace"))]


def counts_from_summary(summary: str) -> Counts:
    """pytest's words mapped onto qaagent's counters, which have one for each."""
    found = {word: int(number) for number, word in re.findall(r"(\d+) (\w+)", summary)}
    return Counts(
        passed=found.get("passed", 0),
        failed=found.get("failed", 0),
        errors=found.get("error", 0) + found.get("errors", 0),
        skipped=found.get("skipped", 0),
        xfailed=found.get("xfailed", 0),
        xpassed=found.get("xpassed", 0),
    )


def own_pytest_summary(project: Path, path: str) -> str:
    """The closing line of a plain `python -m pytest` run of the same tests, without qaagent."""
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", path],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = SUMMARY.search(completed.stdout)
    assert found is not None, completed.stdout
    return found["body"]


def line_of(path: Path, text: str) -> int:
    """1-based number of the line holding `text`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_counts_equal_pytest_summary_and_retry_reruns_exact_node_ids(
    project: Path, tmp_path: Path
) -> None:
    result = run(make_task(project, "tests", retry_count=1), tmp_path)

    first, second = result.attempts
    summaries = pytest_summaries(result)
    print(f"pytest: {summaries[0]!r} / qaagent: {Counts.of(first.cases)!r}")
    assert summaries[0] == "2 failed, 6 passed, 1 skipped, 1 xfailed, 1 xpassed, 1 error"
    assert Counts.of(first.cases) == counts_from_summary(summaries[0])
    assert Counts.of(first.cases) == Counts(
        passed=6, failed=2, errors=1, skipped=1, xfailed=1, xpassed=1
    )
    problems = {case.id for case in first.cases if case.status in ("failed", "error")}
    assert problems == {
        "tests/test_outcomes.py::test_fails",
        "tests/test_outcomes.py::test_fixture_error",
        "tests/test_outcomes.py::TestOuter::TestInner::test_nested_odd[2]",
    }
    assert {case.id for case in second.cases} == problems
    assert summaries[1] == "2 failed, 9 deselected, 1 error"
    assert result.outcome is TaskOutcome.failed
    assert result.counts == Counts(passed=6, failed=2, errors=1, skipped=1, xfailed=1, xpassed=1)
    assert result.exit_code == 1


def test_counts_equal_pytests_own_summary_with_expected_failures_and_a_teardown_error(
    project: Path, tmp_path: Path
) -> None:
    result = run(make_task(project, "outcomes"), tmp_path)

    (summary,) = pytest_summaries(result)
    assert own_pytest_summary(project, "outcomes") == summary
    assert summary == "2 failed, 2 passed, 1 xfailed, 1 xpassed, 1 error"
    assert result.counts == counts_from_summary(summary)
    statuses = [(case.id.rpartition("::")[2], case.status) for case in result.cases]
    assert statuses == [
        ("test_passes", CaseStatus.passed),
        ("test_fails_below_its_decorators[7]", CaseStatus.failed),
        ("test_expected_failure", CaseStatus.xfailed),
        ("test_unexpected_pass", CaseStatus.xpassed),
        ("test_strict_unexpected_pass", CaseStatus.failed),
        ("test_passes_then_cleanup_fails", CaseStatus.passed),
        ("test_passes_then_cleanup_fails #2", CaseStatus.error),
    ]
    assert result.outcome is TaskOutcome.failed


def test_a_failure_is_located_at_its_failing_line_not_its_decorator(
    project: Path, tmp_path: Path
) -> None:
    result = run(make_task(project, "outcomes"), tmp_path)

    source = project / "outcomes" / "test_pytest_outcomes.py"
    failed = next(case for case in result.cases if "decorators" in case.id)
    assert (failed.file, failed.line) == (
        "outcomes/test_pytest_outcomes.py",
        line_of(source, '"total mismatch"'),
    )
    passed = next(case for case in result.cases if case.id.endswith("::test_passes"))
    assert passed.line == line_of(source, "def test_passes():")


def test_a_collection_error_is_an_infrastructure_error_not_a_test_failure(
    project: Path, tmp_path: Path
) -> None:
    result = run(make_task(project, "collection_error", retry_count=2), tmp_path)

    assert pytest_summaries(result) == ["1 error"]
    assert result.outcome is TaskOutcome.error
    assert result.exit_code == 2
    assert result.error == (
        "collection failed: collection_error/test_broken_import.py: "
        "ModuleNotFoundError: No module named 'module_that_does_not_exist'"
    )
    assert len(result.attempts) == 1


def test_parametrized_ids_with_spaces_and_brackets_are_rerun_exactly(
    project: Path, tmp_path: Path
) -> None:
    selected = (
        "tests/test_outcomes.py::test_parametrized[with [brackets]]",
        "tests/test_outcomes.py::test_parametrized[with space]",
        "tests/test_outcomes.py::TestOuter::TestInner::test_nested_odd[2]",
    )
    result = run(make_task(project, "tests", selected_tests=selected), tmp_path)

    assert sorted(case.id for case in result.cases) == sorted(selected)
    assert pytest_summaries(result) == ["1 failed, 2 passed, 9 deselected"]
    assert result.counts == Counts(passed=2, failed=1)


def test_flaky_tests_are_retried_alone_and_marked_flaky(project: Path, tmp_path: Path) -> None:
    marker = tmp_path / "flaky.marker"
    task = make_task(project, "flaky", retry_count=2, env={"FLAKY_MARKER": str(marker)})

    result = run(task, tmp_path)

    summaries = pytest_summaries(result)
    assert summaries == [
        "2 failed, 2 passed, 1 error",
        "1 failed, 2 passed, 1 deselected",
        "1 failed, 3 deselected",
    ]
    ids = [[case.id for case in attempt.cases] for attempt in result.attempts]
    assert sorted(ids[1]) == [
        "flaky/test_flaky.py::test_always_fails",
        "flaky/test_flaky.py::test_flaky_once",
        "flaky/test_teardown_flaky.py::test_teardown_fails_once",
    ]
    assert ids[2] == ["flaky/test_flaky.py::test_always_fails"]
    final = {case.id: case for case in result.cases}
    assert set(final) == {
        "flaky/test_flaky.py::test_stable",
        "flaky/test_flaky.py::test_flaky_once",
        "flaky/test_flaky.py::test_always_fails",
        "flaky/test_teardown_flaky.py::test_teardown_fails_once",
    }
    assert final["flaky/test_flaky.py::test_flaky_once"].flaky
    assert final["flaky/test_teardown_flaky.py::test_teardown_fails_once"].flaky
    assert not final["flaky/test_flaky.py::test_stable"].flaky
    assert result.counts == Counts(passed=1, failed=1, flaky=2)
    assert result.outcome is TaskOutcome.failed


def test_xdist_arguments_pass_through(project: Path, tmp_path: Path) -> None:
    result = run(make_task(project, "tests", args=("-n", "2")), tmp_path)

    (summary,) = pytest_summaries(result)
    assert result.log_path is not None
    assert "2 workers" in result.log_path.read_text()
    assert result.counts == counts_from_summary(summary)


def test_no_tests_collected_is_an_error(project: Path, tmp_path: Path) -> None:
    result = run(make_task(project, "empty"), tmp_path)

    assert result.outcome is TaskOutcome.error
    assert result.exit_code == 5
    assert result.error == "pytest found no tests to run"


def test_usage_error_is_an_error(project: Path, tmp_path: Path) -> None:
    result = run(make_task(project, "tests", args=("--no-such-option",)), tmp_path)

    assert result.outcome is TaskOutcome.error
    assert result.exit_code == 4
    assert result.error is not None and "usage error" in result.error


def test_stale_junit_from_an_earlier_run_is_never_read(project: Path, tmp_path: Path) -> None:
    stale = tmp_path / "artifacts" / "unit" / "attempt-1" / "junit.xml"
    stale.parent.mkdir(parents=True)
    stale.write_text('<testsuite><testcase classname="old" name="passed_last_week"/></testsuite>')
    leftover = tmp_path / "artifacts" / "unit" / "attempt-2"
    leftover.mkdir()
    crashing = (sys.executable, "-c", "import sys; sys.exit(1)")

    result = run(make_task(project, "tests", command=crashing), tmp_path)

    assert result.outcome is TaskOutcome.error
    assert result.cases == []
    assert result.error == "exited with 1 without writing JUnit XML"
    assert not stale.exists()
    assert not leftover.exists()


def test_own_interpreter_command_replaces_python_m_pytest(project: Path, tmp_path: Path) -> None:
    command = (sys.executable, "-m", "pytest", "-p", "no:cacheprovider")
    marker = str(tmp_path / "marker")
    result = run(
        make_task(project, "flaky", command=command, env={"FLAKY_MARKER": marker}), tmp_path
    )

    assert result.attempts[0].command[:5] == list(command)
    assert result.counts == counts_from_summary(pytest_summaries(result)[0])
    assert result.counts.total == 5


def test_hanging_suite_is_killed_at_timeout_with_its_grandchild(
    project: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    task = make_task(
        project, "hang", timeout=10.0, retry_count=2, env={"GRANDCHILD_PID_FILE": str(pid_file)}
    )

    result = run(task, tmp_path)

    assert result.outcome is TaskOutcome.timed_out
    assert len(result.attempts) == 1
    assert result.attempts[0].timed_out
    assert not psutil.pid_exists(int(pid_file.read_text())) or (
        psutil.Process(int(pid_file.read_text())).status() == psutil.STATUS_ZOMBIE
    )


def test_stop_interrupts_the_run_and_leaves_nothing_running(project: Path, tmp_path: Path) -> None:
    stop = threading.Event()
    pid_file = tmp_path / "grandchild.pid"
    task = make_task(project, "hang", timeout=60.0, env={"GRANDCHILD_PID_FILE": str(pid_file)})
    context = RunContext(output_dir=tmp_path / "artifacts" / "unit", stop=stop)
    context.on_output = lambda line: stop.set() if line.startswith("collected 1 item") else None

    result = runner_for("pytest").run(task, context)

    assert result.outcome is TaskOutcome.interrupted
    assert result.attempts[0].cancelled
    if pid_file.exists():
        pid = int(pid_file.read_text())
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
