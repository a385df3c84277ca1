"""The merged JUnit file: Surefire retry elements, task errors, counts equal to the manifest's."""

from pathlib import Path

import xmlschema
from junitparser.xunit2 import JUnitXml
from rundir_builder import Job, T, build_run, sample_run

from qaagent.evidence.models import TaskEntry, TestRecord
from qaagent.evidence.stored import load_run
from qaagent.model.outcomes import CaseStatus, TaskOutcome
from qaagent.reporting import write_reports
from qaagent.reporting.junit_report import junit_classname

XSD = Path(__file__).parents[1] / "fixtures" / "xsd" / "junit-10.xsd"


def junit_of(run_dir: Path) -> Path:
    (path,) = write_reports(run_dir, ["junit"], environ={})
    return path


def test_merged_junit_is_valid_against_the_jenkins_surefire_schema(tmp_path: Path) -> None:
    path = junit_of(sample_run(tmp_path))
    xmlschema.XMLSchema(XSD).validate(path)


def test_counts_per_suite_and_in_total_equal_the_manifest(tmp_path: Path) -> None:
    run_dir = sample_run(tmp_path)
    manifest = load_run(run_dir).manifest
    document = JUnitXml.fromfile(str(junit_of(run_dir)))
    suites = {suite.name: suite for suite in document}
    assert list(suites) == [task.name for task in manifest.tasks]
    for task in manifest.tasks:
        suite = suites[task.name]
        assert suite.tests == task.counts.total
        assert suite.failures == task.counts.failed
        assert suite.errors == task.counts.errors
        assert (suite.skipped or 0) == task.counts.skipped
    assert document.tests == manifest.counts.total
    assert document.failures == manifest.counts.failed
    assert document.errors == manifest.counts.errors


def test_flaky_and_rerun_attempts_are_surefire_elements(tmp_path: Path) -> None:
    document = JUnitXml.fromfile(str(junit_of(sample_run(tmp_path))))
    cases = {case.name: case for suite in document for case in suite}
    flaky = cases["test_discount"]
    assert flaky.is_flaky and flaky.is_passed
    assert [result.message for result in flaky.flaky_failures()] == ["flaky network"]
    failed = cases["test_total"]
    assert failed.is_failure and failed.is_rerun
    assert len(failed.rerun_failures()) == 1
    assert failed.result[0].message == "AssertionError: assert 41 == 42"
    assert cases["test_skip"].is_skipped


def test_timed_out_task_is_one_error_case_with_the_reason(tmp_path: Path) -> None:
    document = JUnitXml.fromfile(str(junit_of(sample_run(tmp_path))))
    suite = next(suite for suite in document if suite.name == "evals[model=haiku]")
    (case,) = list(suite)
    assert case.is_error
    assert case.result[0].type == "timed-out"
    assert "timed out after 2.5s" in (case.result[0].text or "")


def test_not_run_task_and_tool_output_with_control_characters_stay_valid(tmp_path: Path) -> None:
    jobs = [
        Job(
            "unit",
            tests=[T("t.py::test_colour", ["error"], message="\x1b[31mboom\x1b[0m\x00 <&>")],
        ),
        Job("e2e", start=None, outcome=TaskOutcome.not_run, error="not started: fail-fast"),
    ]
    run_dir = build_run(tmp_path, "r1", jobs)
    path = junit_of(run_dir)
    xmlschema.XMLSchema(XSD).validate(path)
    document = JUnitXml.fromfile(str(path))
    cases = {case.name: case for suite in document for case in suite}
    assert cases["test_colour"].result[0].text == "boom <&>"
    assert cases["e2e"].result[0].type == "not-run"
    assert document.errors == load_run(run_dir).manifest.counts.errors == 2


def test_the_last_attempt_decides_failure_or_error(tmp_path: Path) -> None:
    jobs = [Job("unit", tests=[T("t::x", ["error", "failed"], message="boom")])]
    run_dir = build_run(tmp_path, "r1", jobs)
    document = JUnitXml.fromfile(str(junit_of(run_dir)))
    (case,) = [case for suite in document for case in suite]
    assert case.is_failure and not case.is_error
    assert len(case.rerun_errors()) == 1
    assert (document.failures, document.errors) == (1, 0)


def test_a_matrix_tasks_classnames_lead_with_the_task_name() -> None:
    def record(task: str) -> TestRecord:
        return TestRecord(
            id=f"{task}::1::tests/test_x.py::test_y",
            task=task,
            suite="evals",
            attempt=1,
            test_id="tests/test_x.py::test_y",
            classname="tests.test_x",
            name="test_y",
            status=CaseStatus.passed,
            final=True,
        )

    small = TaskEntry(
        name="evals[model=small]",
        suite="evals",
        kind="pytest",
        matrix={"model": "small"},
        outcome=TaskOutcome.passed,
    )
    plain = TaskEntry(name="unit", suite="unit", kind="pytest", outcome=TaskOutcome.passed)
    assert junit_classname(record(small.name), small) == "evals[model=small].tests.test_x"
    assert junit_classname(record("unit"), plain) == "tests.test_x"
    nameless = record(small.name).model_copy(update={"classname": ""})
    assert junit_classname(nameless, small) == "evals[model=small]"
