"""`reports/junit.xml`: every task of a run merged into one JUnit file that CI systems read.

Follows the Jenkins xUnit "junit-10" schema, which models the Maven Surefire rerun elements: a test
that passed on a retry has one `<flakyFailure>`/`<flakyError>` per failed attempt and no final
result; a test that failed every attempt has its last attempt as `<failure>`/`<error>` (so the kind
always matches the counts) and each earlier attempt as `<rerunFailure>`/`<rerunError>`.

Counts: one `<testsuite>` per task. A task that ended `error`, `timed-out`, `not-run` or `interrupted`
gets one extra `<testcase>` named after the task with an `<error>`, the task-level error that the
manifest's counts hold too, so the counts here equal the manifest's and summary.json's. JUnit has
no place for pytest's expected failures and unexpected passes: as pytest writes them, an xfailed
test is skipped and an xpassed one passed, and each `<testsuite>` has `qaagent.xfailed` and
`qaagent.xpassed` properties with the task's counts of them. A test that was running when its task
timed out or was stopped is an `<error>` (typed `timed-out` or `interrupted`) and stands for the
task's own error; tests collected but never started have no `<testcase>`, only the `qaagent.not_run`
property (beside `qaagent.timed_out` and `qaagent.interrupted`).

The file is written one test case at a time: a first pass over tests.jsonl notes where each test's
records are and counts the results each `<testsuite>` announces, a second reads each test's records
back, so a run of 50,000 tests is never one tree in memory.
"""

from __future__ import annotations

import io
import socket
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from qaagent.evidence.models import TaskEntry, TestRecord
from qaagent.evidence.stored import FAILING, RunBundle, as_utc
from qaagent.model.outcomes import TASK_PROBLEMS, UNFINISHED, CaseStatus, has_task_error
from qaagent.reporting.terminal import plain_text

MAX_TEXT = 64_000
DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"
INDENT = "  "
SUITE_LEVEL, CASE_LEVEL = 1, 2
UNFINISHED_ERRORS = (CaseStatus.error, *UNFINISHED)
FINAL_TAGS = {
    CaseStatus.failed: "failure",
    CaseStatus.error: "error",
    CaseStatus.timed_out: "error",
    CaseStatus.interrupted: "error",
}
RERUN_TAGS = {CaseStatus.failed: "rerunFailure"} | dict.fromkeys(UNFINISHED_ERRORS, "rerunError")
FLAKY_TAGS = {CaseStatus.failed: "flakyFailure"} | dict.fromkeys(UNFINISHED_ERRORS, "flakyError")
SKIPPED_TYPES = {CaseStatus.skipped: None, CaseStatus.xfailed: "pytest.xfail"}
UNSHOWN_COUNTS = ("xfailed", "xpassed", "timed_out", "interrupted", "not_run")


@dataclass
class _TestLines:
    """Where one test's records are in tests.jsonl, and the attempt and result that decided it."""

    offsets: list[int] = field(default_factory=list)
    final_attempt: int | None = None
    result: str | None = None


@dataclass
class _TaskTests:
    """A task's tests in the order they first ran, and how many ended with each final result."""

    tests: dict[str, _TestLines] = field(default_factory=dict)
    results: Counter[str | None] = field(default_factory=Counter)

    def decided(self) -> list[_TestLines]:
        """Tests that have a final record; an attempt cut short leaves none for its tests."""
        return [test for test in self.tests.values() if test.final_attempt is not None]


def render_junit(bundle: RunBundle) -> str:
    """The merged JUnit document as indented XML text."""
    buffer = io.StringIO()
    write_junit(bundle, buffer)
    return buffer.getvalue()


def write_junit(bundle: RunBundle, stream: TextIO) -> None:
    """Write the merged JUnit document, indented, one test case at a time."""
    tasks = _index_tests(bundle)
    hostname = socket.gethostname()
    suites = [
        (task, _suite_element(task, tasks.get(task.name, _TaskTests()), hostname))
        for task in bundle.manifest.tasks
    ]
    root = Element("testsuites", {"name": bundle.run_id})
    for name in ("tests", "failures", "errors"):
        root.set(name, str(sum(int(suite.get(name, "0")) for _, suite in suites)))
    root.set("time", str(_seconds(bundle.manifest.wall_time)))
    stream.write(DECLARATION)
    if not suites:
        stream.write(_element_text(root) + "\n")
        return
    stream.write(_open_tag(root))
    for task, suite in suites:
        stream.write("\n" + INDENT * SUITE_LEVEL)
        _write_suite(bundle, task, suite, tasks.get(task.name, _TaskTests()), stream)
    stream.write("\n</testsuites>\n")


def _index_tests(bundle: RunBundle) -> dict[str, _TaskTests]:
    """Each task's tests with the offsets of their records and their final results, in one pass."""
    tasks: dict[str, _TaskTests] = {}
    for offset, record in bundle.records_with_offsets():
        task = tasks.setdefault(record.task, _TaskTests())
        test = task.tests.setdefault(record.test_id, _TestLines())
        test.offsets.append(offset)
        if record.final and (test.final_attempt is None or record.attempt >= test.final_attempt):
            if test.final_attempt is not None:
                task.results[test.result] -= 1
            test.final_attempt, test.result = record.attempt, _final_result_tag(record)
            task.results[test.result] += 1
    return tasks


def _suite_element(task: TaskEntry, tests: _TaskTests, hostname: str) -> Element:
    """The `<testsuite>` of a task with its counts, still without its test cases."""
    suite = Element("testsuite", {"name": task.name, "hostname": hostname})
    if task.started_at is not None:
        suite.set("timestamp", as_utc(task.started_at).isoformat(timespec="seconds"))
    task_error = has_task_error(task.outcome, task.counts)
    suite.set("tests", str(len(tests.decided()) + task_error))
    suite.set("errors", str(tests.results["error"] + task_error))
    suite.set("failures", str(tests.results["failure"]))
    suite.set("skipped", str(tests.results["skipped"]))
    suite.set("time", str(_seconds(task.duration)))
    return suite


def _write_suite(
    bundle: RunBundle, task: TaskEntry, suite: Element, tests: _TaskTests, stream: TextIO
) -> None:
    """One `<testsuite>`: its test cases read back a test at a time, then the task's own error."""
    decided = tests.decided()
    properties = _count_properties(task)
    if not decided and task.outcome not in TASK_PROBLEMS:
        suite.append(properties)
        stream.write(_element_text(suite))
        return
    stream.write(_open_tag(suite))
    _write_case(properties, stream)
    for test in decided:
        attempts = sorted(bundle.records_at(test.offsets), key=lambda record: record.attempt)
        _write_case(_test_case(attempts, task), stream)
    if has_task_error(task.outcome, task.counts):
        _write_case(_task_error_case(task), stream)
    stream.write("\n" + INDENT * SUITE_LEVEL + "</testsuite>")


def _count_properties(task: TaskEntry) -> Element:
    """`qaagent.xfailed`, `qaagent.not_run`, …: the task's counts that JUnit has no place for.

    A cached task's cases are the earlier run's; `qaagent.cached_from` names that run.
    """
    properties = Element("properties")
    for label in UNSHOWN_COUNTS:
        value = str(getattr(task.counts, label))
        SubElement(properties, "property", {"name": f"qaagent.{label}", "value": value})
    if task.cached_from is not None:
        SubElement(
            properties, "property", {"name": "qaagent.cached_from", "value": task.cached_from}
        )
    return properties


def _write_case(case: Element, stream: TextIO) -> None:
    indent(case, space=INDENT, level=CASE_LEVEL)
    stream.write("\n" + INDENT * CASE_LEVEL + _element_text(case))


def junit_classname(record: TestRecord, task: TaskEntry) -> str:
    """The testcase's classname, led by a matrix task's name: GitLab keeps only the first test of
    a classname and name, so `evals[model=a]` and `evals[model=b]` must not share theirs."""
    classname = record.classname or task.name
    if task.matrix and classname != task.name:
        return f"{task.name}.{classname}"
    return classname


def _test_case(attempts: list[TestRecord], task: TaskEntry) -> Element:
    final = next(record for record in reversed(attempts) if record.final)
    case = _case_element(final.name, junit_classname(final, task), final.duration)
    earlier = [record for record in attempts if record is not final and record.status in FAILING]
    result = _final_result_tag(final)
    if result == "skipped":
        _result(case, "skipped", final.message, SKIPPED_TYPES[final.status])
    elif result is not None:
        _result(case, result, final.message, final.status.value).text = _clip(final.message or "")
        for record in earlier:
            _interim(case, RERUN_TAGS[record.status], record)
    else:
        for record in earlier:
            _interim(case, FLAKY_TAGS[record.status], record)
    if final.output:
        SubElement(case, "system-out").text = _clip(final.output)
    return case


def _final_result_tag(record: TestRecord) -> str | None:
    """`failure`, `error` or `skipped` (also an xfail) for a final record, None for a pass."""
    if record.status in SKIPPED_TYPES:
        return "skipped"
    if record.status in FAILING and not record.flaky:
        return FINAL_TAGS[record.status]
    return None


def _interim(case: Element, tag: str, record: TestRecord) -> None:
    result = _result(case, tag, record.message, record.status.value)
    if record.message:
        SubElement(result, "stackTrace").text = _clip(record.message)
    if record.output:
        SubElement(result, "system-out").text = _clip(record.output)


def _task_error_case(task: TaskEntry) -> Element:
    case = _case_element(task.name, task.suite, task.duration)
    reason = task.error or f"task {task.outcome.value}"
    message = f"{task.outcome.value}: {_first_line(reason)}"
    _result(case, "error", message, task.outcome.value).text = _clip(reason)
    return case


def _case_element(name: str, classname: str, duration: float) -> Element:
    return Element(
        "testcase", {"name": name, "classname": classname, "time": str(_seconds(duration))}
    )


def _result(case: Element, tag: str, message: str | None, kind: str | None) -> Element:
    """A result element; its message is the first line of the test's message."""
    result = SubElement(case, tag)
    if first_line := _first_line(message):
        result.set("message", first_line)
    if kind:
        result.set("type", kind)
    return result


def _element_text(element: Element) -> str:
    return tostring(element, encoding="unicode")


def _open_tag(element: Element) -> str:
    """An element's start tag, escaped as ElementTree escapes it."""
    whole = tostring(element, encoding="unicode", short_empty_elements=False)
    return whole.removesuffix(f"</{element.tag}>")


def _first_line(text: str | None) -> str | None:
    lines = plain_text(text or "").strip().splitlines()
    return lines[0][:500] if lines else None


def _clip(text: str) -> str:
    """Keep the end of very long output: the last lines say what went wrong.

    Line ends are `\\n`, as an XML reader would see them anyway.
    """
    cleaned = plain_text(text)
    clipped = cleaned if len(cleaned) <= MAX_TEXT else "…" + cleaned[-MAX_TEXT:]
    return clipped.replace("\r\n", "\n").replace("\r", "\n")


def _seconds(value: float) -> float:
    return round(max(value, 0.0), 3)
