"""behave run for real on the fixture project: counts equal behave's own summary, retries rerun failures."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from qaagent.model.outcomes import CaseStatus, Counts, TaskOutcome
from qaagent.model.results import TaskResult
from qaagent.model.task import Task
from qaagent.tools.base import RunContext
from qaagent.tools.behave_tool import BehaveAdapter
from qaagent.tools.registry import runner_for

FIXTURE = Path(__file__).parents[1] / "fixtures" / "behave_project"
SCENARIO_SUMMARY = re.compile(r"^\d+ scenarios? passed, .*$", re.MULTILINE)
SUMMARY_PART = re.compile(r"(\d+) (?:scenarios? )?(passed|failed|error|skipped|untested)")


def make_task(
    project: Path, marker: Path, retry_count: int = 0, args: tuple[str, ...] = ()
) -> Task:
    """The behave suite of the copied fixture project."""
    return Task(
        name="behave",
        suite="behave",
        kind="behave",
        path=project / "features",
        cwd=project,
        args=args,
        env={"QAAGENT_FLAKY_MARKER": str(marker)},
        timeout=120,
        retry_count=retry_count,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the fixture project, so runs never write into the repository."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "project"))


def run_behave(task: Task, output_dir: Path) -> TaskResult:
    return runner_for("behave").run(task, RunContext(output_dir=output_dir))


def behave_summaries(result: TaskResult) -> list[dict[str, int]]:
    """Each attempt's scenario summary line from the log, as counts per status."""
    assert result.log_path is not None
    log = result.log_path.read_text(encoding="utf-8", errors="replace")
    return [
        {status: int(count) for count, status in SUMMARY_PART.findall(line)}
        for line in SCENARIO_SUMMARY.findall(log)
    ]


def counts_of_summary(summary: dict[str, int]) -> Counts:
    return Counts(
        passed=summary.get("passed", 0),
        failed=summary.get("failed", 0),
        errors=summary.get("error", 0),
        skipped=summary.get("skipped", 0) + summary.get("untested", 0),
    )


def test_counts_equal_behaves_own_summary(project: Path, tmp_path: Path) -> None:
    result = run_behave(make_task(project, tmp_path / "marker"), tmp_path / "out")

    [summary] = behave_summaries(result)
    assert result.counts == counts_of_summary(summary)
    assert result.counts == Counts(passed=4, failed=2, errors=1, skipped=1)
    assert result.outcome is TaskOutcome.failed
    assert result.exit_code == 1


def test_outline_examples_are_separate_cases_and_undefined_step_is_an_error(
    project: Path, tmp_path: Path
) -> None:
    result = run_behave(make_task(project, tmp_path / "marker"), tmp_path / "out")

    statuses = {case.name.strip(): case.status for case in result.cases}
    assert [name for name in statuses if name.startswith("Doubling")] == [
        "Doubling 1 -- @1.1",
        "Doubling 4 -- @1.2",
        "Doubling 10 -- @1.3",
    ]
    assert statuses["A step nobody wrote is undefined"] is CaseStatus.error
    assert statuses["A wrong expectation fails"] is CaseStatus.failed
    assert statuses["A scenario tagged to be skipped"] is CaseStatus.skipped


def test_a_failing_or_undefined_step_locates_its_scenario_at_that_step(
    project: Path, tmp_path: Path
) -> None:
    result = run_behave(make_task(project, tmp_path / "marker"), tmp_path / "out")

    located = {case.name.strip(): (case.file, case.line) for case in result.cases}
    lines = (project / "features" / "calculator.feature").read_text().splitlines()
    scenario = lines.index("  Scenario: A wrong expectation fails")
    failing_step = lines.index("    Then the calculator shows 5", scenario) + 1
    undefined_step = lines.index("    When I take the square root") + 1
    feature = "features/calculator.feature"
    assert located["A wrong expectation fails"] == (feature, failing_step)
    assert located["A step nobody wrote is undefined"] == (feature, undefined_step)
    assert located["Adding two numbers"] == (None, None)


@pytest.mark.parametrize("args", [(), ("--show-skipped",)], ids=["plain", "suite-shows-skipped"])
def test_retry_reruns_only_failed_scenarios_and_marks_flaky(
    project: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    task = make_task(project, tmp_path / "marker", retry_count=1, args=args)

    result = run_behave(task, tmp_path / "out")

    first, retry = result.attempts
    failed_first = {case.id for case in first.cases if case.status in ("failed", "error")}
    assert {case.id for case in retry.cases} == failed_first
    assert len(failed_first) == 3
    flaky = [case.name for case in result.cases if case.flaky]
    assert flaky == ["Passes once a marker file exists"]
    assert result.counts == Counts(passed=4, failed=1, errors=1, skipped=1, flaky=1)
    first_summary, retry_summary = behave_summaries(result)
    assert counts_of_summary(first_summary) == Counts.of(first.cases)
    assert retry_summary["passed"] == 1
    assert retry_summary["failed"] + retry_summary["error"] == 2


def test_each_attempt_writes_its_own_junit_and_rerun_file(project: Path, tmp_path: Path) -> None:
    result = run_behave(make_task(project, tmp_path / "marker", retry_count=1), tmp_path / "out")

    first, retry = result.attempts
    assert {path.name for path in first.junit_paths} == {"TESTS-calculator.xml", "TESTS-flaky.xml"}
    assert all(path.parent.parent.name == "attempt-1" for path in first.junit_paths)
    assert all(path.parent.parent.name == "attempt-2" for path in retry.junit_paths)
    rerun_files = [path for path in result.artifacts if path.name == "rerun.txt"]
    assert [path.parent.name for path in rerun_files] == ["attempt-1", "attempt-2"]
    assert all(path.is_file() for path in result.artifacts)


def test_unknown_option_is_an_error_with_a_reason(project: Path, tmp_path: Path) -> None:
    task = make_task(project, tmp_path / "marker", args=("--no-such-option",))

    result = run_behave(task, tmp_path / "out")

    assert result.outcome is TaskOutcome.error
    assert result.error is not None
    assert "command line" in result.error


OUTLINE_ROW = "calculator.Calculator::Doubling 4 -- @1.2 "
WRONG = "calculator.Calculator::A wrong expectation fails"
UNDEFINED = "calculator.Calculator::A step nobody wrote is undefined"


def move_scenarios_down(project: Path) -> None:
    """Lines added above every scenario, as an edit since the selected run would."""
    feature = project / "features" / "calculator.feature"
    text = feature.read_text(encoding="utf-8")
    feature.write_text(text.replace("\n  Scenario", "\n  # moved\n\n  Scenario"), encoding="utf-8")


def test_selected_scenarios_run_alone_after_their_lines_moved(
    project: Path, tmp_path: Path
) -> None:
    move_scenarios_down(project)
    task = make_task(project, tmp_path / "marker").model_copy(
        update={"selected_tests": (OUTLINE_ROW, WRONG)}
    )

    result = run_behave(task, tmp_path / "out")

    assert [case.id for case in result.cases] == [OUTLINE_ROW, WRONG]
    assert result.counts == Counts(passed=1, failed=1)
    [selection] = [path for path in result.artifacts if path.name == "rerun-selection.txt"]
    feature = project / "features" / "calculator.feature"
    assert selection.read_text().splitlines() == [f"{feature}:20", f"{feature}:25"]
    assert result.log_path is not None
    assert "running 2 selected scenario(s) by location" in result.log_path.read_text()


def test_retry_of_a_narrowed_run_reruns_its_failures_from_the_rerun_file(
    project: Path, tmp_path: Path
) -> None:
    task = make_task(project, tmp_path / "marker", retry_count=1).model_copy(
        update={"selected_tests": (OUTLINE_ROW, WRONG, UNDEFINED)}
    )

    result = run_behave(task, tmp_path / "out")

    first, retry = result.attempts
    assert [case.id for case in first.cases] == [OUTLINE_ROW, WRONG, UNDEFINED]
    assert [case.id for case in retry.cases] == [WRONG, UNDEFINED]
    assert result.counts == Counts(passed=1, failed=1, errors=1)


def test_a_selected_scenario_renamed_since_runs_the_whole_suite(
    project: Path, tmp_path: Path
) -> None:
    task = make_task(project, tmp_path / "marker").model_copy(
        update={"selected_tests": (WRONG, "calculator.Calculator::Renamed since")}
    )

    result = run_behave(task, tmp_path / "out")

    assert result.counts == Counts(passed=4, failed=2, errors=1, skipped=1)
    assert result.log_path is not None
    log = result.log_path.read_text()
    assert "1 selected scenario(s) not found" in log
    assert "Renamed since" in log


def test_scenarios_that_cannot_be_listed_leave_the_whole_suite_selected(
    project: Path, tmp_path: Path
) -> None:
    task = make_task(project, tmp_path / "marker").model_copy(
        update={"command": (sys.executable, "-c", "pass"), "selected_tests": (WRONG,)}
    )
    attempt = tmp_path / "attempt-1"
    attempt.mkdir()

    invocation = BehaveAdapter().invocation(task, RunContext(output_dir=tmp_path), attempt, [])

    assert str(project / "features") in invocation.argv
    assert invocation.argv[-1] == "--show-skipped"
    assert any("could not list the scenarios" in note for note in invocation.notes)
