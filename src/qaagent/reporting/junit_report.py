"""`reports/junit.xml`: every task of a run merged into one JUnit file that CI systems read.

Written with junitparser's `xunit2` flavour (the Jenkins xUnit "junit-10" schema), which models the
Maven Surefire rerun elements: a test that passed on a retry has one `<flakyFailure>`/`<flakyError>`
per failed attempt and no final result; a test that failed every attempt has its last attempt as
`<failure>`/`<error>` (so the kind always matches the counts) and each earlier attempt as
`<rerunFailure>`/`<rerunError>`.

Counts: one `<testsuite>` per task. A task that ended `error`, `timed-out`, `not-run` or `interrupted`
gets one extra `<testcase>` named after the task with an `<error>`, the task-level error that the
manifest's counts hold too, so the counts here equal the manifest's and summary.json's.
"""

from __future__ import annotations

import io
import socket
from collections import defaultdict
from collections.abc import Iterable

import junitparser
from junitparser import Error, Failure, Skipped
from junitparser.xunit2 import (
    FlakyError,
    FlakyFailure,
    InterimResult,
    JUnitXml,
    RerunError,
    RerunFailure,
    TestCase,
    TestSuite,
)

from qaagent.evidence.models import TaskEntry, TestRecord
from qaagent.reporting.bundle import RunBundle, as_utc, plain_text
from qaagent.runners.base import TASK_PROBLEMS, CaseStatus

MAX_TEXT = 64_000


def build_junit(bundle: RunBundle) -> JUnitXml:
    """The merged JUnit document of a run."""
    document = JUnitXml(bundle.run_id)
    by_task = bundle.records_by_task()
    hostname = socket.gethostname()
    suites = [
        _task_suite(task, by_task.get(task.name, []), hostname) for task in bundle.manifest.tasks
    ]
    for suite in suites:
        document.add_testsuite(suite)
    document.tests = sum(suite.tests for suite in suites)
    document.failures = sum(suite.failures for suite in suites)
    document.errors = sum(suite.errors for suite in suites)
    document.time = _seconds(bundle.manifest.wall_time)
    return document


def render_junit(bundle: RunBundle) -> str:
    """The merged JUnit document as XML text."""
    buffer = io.BytesIO()
    build_junit(bundle).write(buffer, pretty=True)
    return buffer.getvalue().decode("utf-8")


def _task_suite(task: TaskEntry, records: list[TestRecord], hostname: str) -> TestSuite:
    suite = TestSuite(task.name)  # type: ignore[no-untyped-call]
    suite.hostname = hostname
    if task.started_at is not None:
        suite.timestamp = as_utc(task.started_at).isoformat(timespec="seconds")
    cases: list[junitparser.TestCase] = [
        _test_case(attempts) for attempts in _attempts_per_test(records)
    ]
    if task.outcome in TASK_PROBLEMS:
        cases.append(_task_error_case(task))
    suite.add_testcases(cases)
    suite.time = _seconds(task.duration)
    return suite


def _attempts_per_test(records: Iterable[TestRecord]) -> list[list[TestRecord]]:
    """Records of each test ordered by attempt, tests in the order they first ran."""
    grouped: dict[str, list[TestRecord]] = defaultdict(list)
    for record in records:
        grouped[record.test_id].append(record)
    return [
        sorted(group, key=lambda record: record.attempt)
        for group in grouped.values()
        if any(record.final for record in group)
    ]


def _test_case(attempts: list[TestRecord]) -> TestCase:
    final = next(record for record in reversed(attempts) if record.final)
    case = TestCase(final.name, final.classname or final.task, _seconds(final.duration))
    earlier = [
        record
        for record in attempts
        if record is not final and record.status in (CaseStatus.failed, CaseStatus.error)
    ]
    if final.status is CaseStatus.skipped:
        case.result = [Skipped(_first_line(final.message))]
    elif final.status in (CaseStatus.failed, CaseStatus.error) and not final.flaky:
        case.result = [_final_result(final)]
        for record in earlier:
            case.add_interim_result(_interim(record, rerun=True))
    else:
        for record in earlier:
            case.add_interim_result(_interim(record, rerun=False))
    if final.output:
        case.system_out = _clip(final.output)
    return case


def _final_result(record: TestRecord) -> Failure | Error:
    kind = Failure if record.status is CaseStatus.failed else Error
    result = kind(_first_line(record.message), record.status.value)
    result.text = _clip(record.message or "")
    return result


def _interim(record: TestRecord, *, rerun: bool) -> InterimResult:
    failed = record.status is CaseStatus.failed
    if rerun:
        kind: type[InterimResult] = RerunFailure if failed else RerunError
    else:
        kind = FlakyFailure if failed else FlakyError
    result = kind(_first_line(record.message), record.status.value)
    if record.message:
        result.stack_trace = _clip(record.message)
    if record.output:
        result.system_out = _clip(record.output)
    return result


def _task_error_case(task: TaskEntry) -> TestCase:
    case = TestCase(task.name, task.suite, _seconds(task.duration))
    reason = task.error or f"task {task.outcome.value}"
    error = Error(f"{task.outcome.value}: {_first_line(reason)}", task.outcome.value)
    error.text = _clip(reason)
    case.result = [error]
    return case


def _first_line(text: str | None) -> str | None:
    lines = plain_text(text or "").strip().splitlines()
    return lines[0][:500] if lines else None


def _clip(text: str) -> str:
    """Keep the end of very long output: the last lines say what went wrong."""
    cleaned = plain_text(text)
    return cleaned if len(cleaned) <= MAX_TEXT else "…" + cleaned[-MAX_TEXT:]


def _seconds(value: float) -> float:
    return round(max(value, 0.0), 3)
