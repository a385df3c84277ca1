"""Failure categories with a suggestion each, so people know where to look first."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from qaagent.evidence.models import Category, Diagnostic
from qaagent.runners.base import CaseStatus, SuiteResult, TaskOutcome, TestCase

PATTERNS: list[tuple[Category, re.Pattern[str]]] = [
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
            r"connection ?(refused|reset|error|aborted)|econnrefused|econnreset|enotfound"
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
        Category.data,
        re.compile(
            r"keyerror|indexerror|valueerror|jsondecodeerror|no such file|filenotfounderror"
            r"|fixture .* not found|does not exist|unexpected (token|end of)|schema|decode",
            re.IGNORECASE,
        ),
    ),
    (
        Category.assertion,
        re.compile(r"assert|expect(ed)?\b|to(be|equal|have)|mismatch|!=|not equal", re.IGNORECASE),
    ),
]

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
    Category.unknown: "Read the message and the task's log; nothing matched a known pattern.",
}


def categorize(*texts: str | None) -> Category:
    """The first category whose pattern matches any of the texts, else unknown."""
    joined = "\n".join(text for text in texts if text)
    for category, pattern in PATTERNS:
        if pattern.search(joined):
            return category
    return Category.unknown


def diagnose(results: Iterable[SuiteResult]) -> Iterator[Diagnostic]:
    """One diagnostic per failed or flaky test and per task that errored or timed out, as needed."""
    for result in results:
        task_item = diagnose_task(result)
        if task_item is not None:
            yield task_item
        yield from (diagnose_case(result.task, case) for case in result.cases if _notable(case))


def diagnose_task(result: SuiteResult) -> Diagnostic | None:
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
        suggestion=SUGGESTIONS[category],
    )


def _notable(case: TestCase) -> bool:
    return case.flaky or case.status in (CaseStatus.failed, CaseStatus.error)
