"""A run of tens of thousands of failed tests: evidence and reports keep a few numbers per test.

Each test measures how much the peak memory of writing one file grows per further failed test;
a file built whole in memory first costs a kilobyte or more per test.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from peak_memory import bytes_per_test, failing_run, message

from qaagent.evidence.stored import load_run
from qaagent.evidence.writer import RunFacts, RunInfo, write_evidence
from qaagent.model.outcomes import CaseStatus, Counts, TaskOutcome, TestCase
from qaagent.model.results import TaskResult
from qaagent.model.run import RunStatus
from qaagent.reporting import write_reports
from qaagent.reporting.junit_report import write_junit
from qaagent.reporting.summary import build_summary

INDEX_BYTES = 400
NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def test_diagnostics_are_written_one_at_a_time(tmp_path: Path) -> None:
    def prepare(tests: int) -> Callable[[], object]:
        run_dir = tmp_path / f"run-{tests}"
        run_dir.mkdir()
        info = RunInfo(
            run_id=run_dir.name,
            status=RunStatus.failed,
            exit_code=1,
            started_at=NOW,
            finished_at=NOW,
            cwd=tmp_path,
            facts=RunFacts(None, None, {}),
        )
        results = [failed_task(tests)]
        return lambda: write_evidence(run_dir, info, results)

    per_test = bytes_per_test(prepare)
    assert per_test < INDEX_BYTES, f"{per_test:.0f} bytes per test"


def test_merged_junit_is_written_a_test_case_at_a_time(tmp_path: Path) -> None:
    def prepare(tests: int) -> Callable[[], object]:
        bundle = load_run(failing_run(tmp_path, tests))

        def write() -> None:
            with (tmp_path / "junit.xml").open("w", encoding="utf-8") as stream:
                write_junit(bundle, stream)

        return write

    per_test = bytes_per_test(prepare)
    assert per_test < INDEX_BYTES, f"{per_test:.0f} bytes per test"


def test_summary_json_is_written_a_failure_at_a_time(tmp_path: Path) -> None:
    def summary_of(tests: int) -> Callable[[], object]:
        run_dir = failing_run(tmp_path / "summaries", tests)
        return lambda: build_summary(load_run(run_dir))

    def summary_json_of(tests: int) -> Callable[[], object]:
        run_dir = failing_run(tmp_path / "reports", tests)
        return lambda: write_reports(run_dir, ["json"], environ={})

    per_test = bytes_per_test(summary_json_of) - bytes_per_test(summary_of)
    assert per_test < INDEX_BYTES, f"{per_test:.0f} bytes per test beyond the summary"


def failed_task(tests: int) -> TaskResult:
    cases = [
        TestCase(
            id=f"tests/test_big.py::test_{number}",
            name=f"test_{number}",
            status=CaseStatus.failed,
            message=message(number),
        )
        for number in range(tests)
    ]
    return TaskResult(
        task="unit",
        suite="unit",
        kind="pytest",
        outcome=TaskOutcome.failed,
        counts=Counts.of(cases),
        cases=cases,
        started_at=NOW,
        finished_at=NOW,
    )
