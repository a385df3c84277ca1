"""Failure categories with a suggestion each, so people know where to look first."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from qaagent.evidence.models import Category, Diagnostic
from qaagent.model.outcomes import CaseStatus, TaskOutcome, TestCase
from qaagent.model.results import TaskResult

PATTERNS: list[tuple[Category, re.Pattern[str]]] = [
    (Category.connection, re.compile(r"connection ?refused|econnrefused", re.IGNORECASE)),
    (
        Category.setup,
        re.compile(
            r"(error|failed) (at|on) setup|fixture .* not found|error in fixture"
            r"|before_(all|feature|scenario|step|tag) hook",
            re.IGNORECASE,
        ),
    ),
    (
        Category.undefined,
        re.compile(r"\bundefined step|step (is )?undefined|\.\.\. undefined\b", re.IGNORECASE),
    ),
    (
        Category.timeout,
        re.compile(r"timed? ?out|timeout|deadline exceeded|took too long", re.IGNORECASE),
    ),
    (
        Category.auth,
        re.compile(
            r"\b(401|403)\b|unauthori[sz]ed|forbidden|permission denied|access denied"
            r"|invalid (api )?(key|token|credentials)|authentication",
            re.IGNORECASE,
        ),
    ),
    (
        Category.connection,
        re.compile(
            r"connection ?(reset|error|aborted)|econnreset|enotfound"
            r"|name or service not known|network is unreachable|no route to host"
            r"|net::err_|failed to establish|max retries exceeded|\b50[234]\b",
            re.IGNORECASE,
        ),
    ),
    (
        Category.crash,
        re.compile(
            r"segmentation fault|core dumped|killed|sigsegv|sigabrt|out of memory|memoryerror"
            r"|fatal error|internal error|exited with (code|status) -?\d+",
            re.IGNORECASE,
        ),
    ),
    (
        Category.exception,
        re.compile(
            r"\b(ZeroDivision|Type|Attribute|Name|UnboundLocal|Recursion|NotImplemented"
            r"|Overflow)Error\b"
        ),
    ),
    (
        Category.data,
        re.compile(
            r"keyerror|indexerror|valueerror|jsondecodeerror|no such file|filenotfounderror"
            r"|does not exist|unexpected (token|end of)|schema|decode",
            re.IGNORECASE,
        ),
    ),
    (
        Category.assertion,
        re.compile(r"assert|expect(ed)?\b|to(be|equal|have)|mismatch|!=|not equal", re.IGNORECASE),
    ),
]

EXPECTED_ACTUAL = [
    re.compile(
        r"expected:?\s+(?P<expected>.+?),?\s+(?:but\s+)?(?:got|received|was|actual):?\s+"
        r"(?P<actual>[^\n]+)",
        re.IGNORECASE,
    ),
    re.compile(r"^(?:AssertionError: )?assert (?P<actual>.+?) == (?P<expected>[^\n]+)$", re.M),
]
MAX_VALUE = 80

SUGGESTIONS: dict[Category, str] = {
    Category.assertion: "The code answered but not as expected: compare the expected and actual "
    "values in the message, then check the recent change to that code path.",
    Category.timeout: "Something took too long: look for a slow or stuck dependency, or raise the "
    "suite's timeout if the work is legitimately slow.",
    Category.connection: "A service could not be reached: check that the app or dependency is "
    "running, its URL and port (BASE_URL), and the network.",
    Category.auth: "Credentials were refused: check that the token or key is set in the "
    "environment of the run and has not expired.",
    Category.data: "The test data or a file it needs is missing or malformed: check fixtures, "
    "seeds and paths.",
    Category.flaky: "Failed, then passed on retry: look for timing, ordering or shared-state "
    "assumptions before trusting this test again.",
    Category.crash: "The tool or the code under test died: read the end of the task's log for "
    "the crash, and check memory and native dependencies.",
    Category.setup: "The test never ran: a fixture or setup step failed first; fix that "
    "fixture (or the service it needs) before looking at the test itself.",
    Category.undefined: "A step has no implementation: add a step definition matching its "
    "text, or fix the step's wording in the feature file.",
    Category.exception: "The code raised an unexpected exception: read the traceback's last "
    "frame in your code; this is usually a bug, not a test problem.",
    Category.unknown: "Read the message and the task's log; nothing matched a known pattern.",
}


def categorize(*texts: str | None) -> Category:
    """The first category whose pattern matches any of the texts, else unknown."""
    joined = "\n".join(text for text in texts if text)
    for category, pattern in PATTERNS:
        if pattern.search(joined):
            return category
    return Category.unknown


def diagnose(results: Iterable[TaskResult]) -> Iterator[Diagnostic]:
    """One diagnostic per failed or flaky test and per task that errored or timed out, as needed."""
    for result in results:
        task_item = diagnose_task(result)
        if task_item is not None:
            yield task_item
        yield from (diagnose_case(result.task, case) for case in result.cases if _notable(case))


def diagnose_task(result: TaskResult) -> Diagnostic | None:
    """A task that could not produce results, or was killed for taking too long."""
    if result.outcome is TaskOutcome.timed_out:
        category = Category.timeout
    elif result.outcome is TaskOutcome.error:
        category = categorize(result.error, "\n".join(result.tail))
        if category is Category.assertion:
            category = Category.crash
    else:
        return None
    return Diagnostic(
        task=result.task,
        name=result.task,
        category=category,
        message=result.error,
        suggestion=SUGGESTIONS[category],
    )


def diagnose_case(task: str, case: TestCase) -> Diagnostic:
    """A failed, errored or flaky test."""
    category = Category.flaky if case.flaky else categorize(case.message, case.output)
    return Diagnostic(
        task=task,
        test_id=case.id,
        name=case.name,
        category=category,
        message=case.message,
        suggestion=suggestion_for(category, case.message),
    )


def suggestion_for(category: Category, message: str | None) -> str:
    """The category's suggestion; an assertion's names the values compared when the tool gave them."""
    values = assertion_values(message) if category is Category.assertion else None
    if values is None:
        return SUGGESTIONS[category]
    expected, actual = values
    return (
        f"Expected {expected} but got {actual}: check the recent change to that code path, "
        "or the expectation if the new value is right."
    )


def assertion_values(message: str | None) -> tuple[str, str] | None:
    """The expected and actual values an assertion message states, if it states them."""
    for pattern in EXPECTED_ACTUAL:
        found = pattern.search(message or "")
        if found:
            return _clip(found["expected"]), _clip(found["actual"])
    return None


def _clip(value: str) -> str:
    value = value.strip().rstrip(".")
    return value if len(value) <= MAX_VALUE else value[: MAX_VALUE - 1] + "…"


def _notable(case: TestCase) -> bool:
    return case.flaky or case.status in (CaseStatus.failed, CaseStatus.error)
