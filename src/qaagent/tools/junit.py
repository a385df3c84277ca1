"""JUnit XML files, as pytest, behave, Playwright and other tools write them, read into test cases."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from qaagent.model.outcomes import CaseStatus, TestCase

MAX_OUTPUT_CHARS = 65536
SUITE_TAGS = ("testsuites", "testsuite")
NODEID_PROPERTY = "nodeid"
OUTCOME_PROPERTY = "qaagent.outcome"
RECORDED_OUTCOMES = {
    "xfailed": (CaseStatus.skipped, CaseStatus.xfailed),
    "xpassed": (CaseStatus.passed, CaseStatus.xpassed),
    "timed-out": (CaseStatus.error, CaseStatus.timed_out),
}
OWN_RESULTS = {"passed", "skipped", "xfailed", "xpassed"}
BEHAVE_LOCATION = re.compile(r"^Location: (?P<file>.+):(?P<line>\d+)$", re.MULTILINE)
STACK_LOCATION = re.compile(
    r"^\s*at (?:.*? \()?(?P<file>[^\s()]+):(?P<line>\d+):\d+\)?$", re.MULTILINE
)


@dataclass
class JunitReport:
    """Cases read from one or more files, and what could not be read, one line per file."""

    cases: list[TestCase] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


@dataclass
class _Suite:
    """An open <testsuite>: what its cases inherit."""

    properties: dict[str, str]
    file: str | None


def parse_junit(paths: Iterable[Path]) -> JunitReport:
    """Read every file; a broken file adds an error naming it and keeps the cases read before."""
    report = JunitReport()
    for path in paths:
        report.files.append(path)
        cases, error = parse_file(path)
        report.cases.extend(cases)
        if error is not None:
            report.errors.append(error)
    report.cases = unique_ids(report.cases)
    return report


def parse_file(path: Path) -> tuple[list[TestCase], str | None]:
    """Cases of one file, streamed so that a large file never sits whole in memory."""
    try:
        if path.stat().st_size == 0:
            return [], f"{path}: empty file, no test results"
    except OSError as exc:
        return [], f"{path}: cannot be read ({exc.strerror or exc})"
    cases: list[TestCase] = []
    suites: list[_Suite] = []
    open_tags: list[str] = []
    try:
        for event, element in ET.iterparse(path, events=("start", "end")):
            tag = _local(element.tag)
            if event == "start":
                if not open_tags and tag not in SUITE_TAGS:
                    return [], f"{path}: not JUnit XML (root element <{tag}>)"
                open_tags.append(tag)
                if tag == "testsuite":
                    suites.append(_Suite({}, element.get("file") or element.get("filepath")))
                continue
            open_tags.pop()
            if tag == "testcase":
                cases.extend(recorded_outcome(read_case(element, suites)))
                element.clear()
            elif tag == "properties" and open_tags and open_tags[-1] == "testsuite":
                suites[-1].properties.update(_properties(element))
            elif tag == "testsuite":
                suites.pop()
                element.clear()
    except ET.ParseError as exc:
        return cases, f"{path}: invalid or truncated XML ({exc})"
    except OSError as exc:
        return cases, f"{path}: cannot be read ({exc.strerror or exc})"
    return cases, None


def read_case(element: ET.Element, suites: list[_Suite]) -> TestCase:
    """One <testcase>, with the properties of the suites around it.

    `file` and `line` properties win over the failure's own location (behave's `Location:` line,
    Playwright's `at file:line:col` in the spec), which wins over attributes: pytest's `line`
    attribute counts from 0 and points at the test's first decorator.
    """
    properties = {name: value for suite in suites for name, value in suite.properties.items()}
    children = [(_local(child.tag), child) for child in element]
    for tag, child in children:
        if tag == "properties":
            properties.update(_properties(child))
    problems = [child for tag, child in children if tag in ("error", "failure")]
    skips = [child for tag, child in children if tag == "skipped"]
    classname = element.get("classname", "")
    name = element.get("name", "")
    failed_at = _failure_location(problems, classname)
    return TestCase(
        id=properties.get(NODEID_PROPERTY) or (f"{classname}::{name}" if classname else name),
        classname=classname,
        name=name,
        file=properties.get("file")
        or (failed_at and failed_at[0])
        or element.get("file")
        or next((suite.file for suite in reversed(suites) if suite.file), None),
        line=_integer(properties.get("line"))
        or (failed_at and failed_at[1])
        or _integer(element.get("line")),
        status=_status(tag for tag, _ in children),
        duration=_seconds(element.get("time")),
        message=_message(problems or skips),
        output=_output(problems, children),
        properties=properties,
    )


def recorded_outcome(case: TestCase) -> list[TestCase]:
    """The case as the tool's own summary counts it, from the `qaagent.outcome` property.

    JUnit shows an expected failure as a skip and an unexpected pass as a pass; and a test that
    passed before its teardown failed as one error, which pytest counts as a pass and an error.
    """
    outcome = case.properties.get(OUTCOME_PROPERTY)
    if outcome in RECORDED_OUTCOMES:
        shown, counted = RECORDED_OUTCOMES[outcome]
        return [case.model_copy(update={"status": counted})] if case.status is shown else [case]
    if case.status is CaseStatus.error and outcome in OWN_RESULTS:
        own = case.model_copy(
            update={"status": CaseStatus(outcome), "message": None, "output": None}
        )
        return [own, case]
    return [case]


def _failure_location(problems: list[ET.Element], classname: str) -> tuple[str, int] | None:
    """Where the failure happened, as the text of behave's or Playwright's failure says."""
    for problem in problems:
        text = problem.text or ""
        behave = BEHAVE_LOCATION.search(text)
        if behave is not None:
            return behave["file"], int(behave["line"])
        for frame in STACK_LOCATION.finditer(text):
            if classname and frame["file"].replace("\\", "/").endswith(f"/{classname}"):
                return frame["file"], int(frame["line"])
    return None


def unique_ids(cases: list[TestCase]) -> list[TestCase]:
    """Give repeated ids a ` #2`, ` #3` suffix so every case of a report has its own id."""
    seen: dict[str, int] = {}
    unique = []
    for case in cases:
        count = seen.get(case.id, 0) + 1
        seen[case.id] = count
        update = {"id": f"{case.id} #{count}", "repeat": count}
        unique.append(case if count == 1 else case.model_copy(update=update))
    return unique


def _status(tags: Iterable[str]) -> CaseStatus:
    """An error outranks a failure, which outranks a skip."""
    present = set(tags)
    if "error" in present:
        return CaseStatus.error
    if "failure" in present:
        return CaseStatus.failed
    if "skipped" in present:
        return CaseStatus.skipped
    return CaseStatus.passed


def _message(elements: list[ET.Element]) -> str | None:
    """The distinct messages of the failures, errors or skips, one per line."""
    messages: list[str] = []
    for element in elements:
        message = _attribute_message(element) or _first_line(element.text)
        if message and message not in messages:
            messages.append(message)
    return _truncate("\n".join(messages)) if messages else None


def _attribute_message(element: ET.Element) -> str | None:
    """The `message` attribute, unless it is a stray `None` (behave writes one for undefined steps)."""
    message = element.get("message")
    return None if message in (None, "", "None") else message


def _output(problems: list[ET.Element], children: list[tuple[str, ET.Element]]) -> str | None:
    """Failure details first, then what the test printed."""
    parts = [text.strip() for element in problems if (text := element.text) and text.strip()]
    for tag, child in children:
        if tag in ("system-out", "system-err") and child.text and child.text.strip():
            parts.append(f"--- {tag} ---\n{child.text.strip()}")
    return _truncate("\n".join(parts)) if parts else None


def _properties(element: ET.Element) -> Mapping[str, str]:
    """`<property name value>` entries; some tools put the value in the text instead."""
    found = {}
    for child in element:
        name = child.get("name")
        if _local(child.tag) == "property" and name:
            found[name] = child.get("value", child.text or "")
    return found


def _truncate(text: str) -> str:
    """Keep the start and the end of long text, which is where causes and summaries are."""
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    half = MAX_OUTPUT_CHARS // 2
    cut = len(text) - 2 * half
    return f"{text[:half]}\n[... {cut} characters cut ...]\n{text[-half:]}"


def _first_line(text: str | None) -> str | None:
    stripped = (text or "").strip()
    return stripped.splitlines()[0] if stripped else None


def _seconds(value: str | None) -> float:
    try:
        return max(float((value or "0").replace(",", "")), 0.0)
    except ValueError:
        return 0.0


def _integer(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _local(tag: str) -> str:
    """Tag name without an XML namespace."""
    return tag.rsplit("}", 1)[-1]
