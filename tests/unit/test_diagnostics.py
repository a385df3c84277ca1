"""Failure categories and suggestions."""

import pytest
from test_orchestrator import make_task, result_for

from qaagent.evidence.diagnostics import SUGGESTIONS, categorize, diagnose
from qaagent.evidence.models import Category
from qaagent.model.outcomes import CaseStatus, TaskOutcome, TestCase
from qaagent.model.results import TaskResult


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("AssertionError: assert 2 == 3", Category.assertion),
        ("expect(received).toBe(expected)", Category.assertion),
        ("TimeoutError: page.goto: Timeout 30000ms exceeded", Category.timeout),
        ("requests.exceptions.ConnectionError: Connection refused", Category.connection),
        ("net::ERR_CONNECTION_REFUSED at http://127.0.0.1:8000", Category.connection),
        ("HTTP 401 Unauthorized", Category.auth),
        ("KeyError: 'price'", Category.data),
        ("Fatal Python error: Segmentation fault", Category.crash),
        ("something odd happened", Category.unknown),
        ("ConnectionRefusedError: [Errno 111] Connection refused", Category.connection),
        ("Timeout 3000ms exceeded: connect ECONNREFUSED 127.0.0.1:3000", Category.connection),
        ("Read timed out. (read timeout=5)", Category.timeout),
        ("failed on setup with \"fixture 'db' not found\"", Category.setup),
        ("ERROR at setup of test_total", Category.setup),
        ("ZeroDivisionError: division by zero", Category.exception),
        ("Failing step: Given a cart ... undefined in 0.000s", Category.undefined),
        ("Undefined step: Given a cart", Category.undefined),
    ],
)
def test_messages_map_to_categories(message: str, expected: Category) -> None:
    assert categorize(message) is expected


def test_every_failed_test_and_errored_task_gets_a_category_and_suggestion() -> None:
    task = make_task("unit")
    cases = [
        TestCase(id="t::ok", name="ok", status=CaseStatus.passed),
        TestCase(id="t::bad", name="bad", status=CaseStatus.failed, message="assert 1 == 2"),
        TestCase(id="t::flaky", name="flaky", status=CaseStatus.passed, flaky=True),
    ]
    failed = result_for(task, TaskOutcome.failed, cases)
    crashed = TaskResult(
        task="e2e", suite="e2e", kind="command", outcome=TaskOutcome.error, error="no results"
    )
    timed_out = TaskResult(task="slow", suite="slow", kind="command", outcome=TaskOutcome.timed_out)
    items = list(diagnose([failed, crashed, timed_out]))
    assert [(item.task, item.test_id, item.category) for item in items] == [
        ("unit", "t::bad", Category.assertion),
        ("unit", "t::flaky", Category.flaky),
        ("e2e", None, Category.unknown),
        ("slow", None, Category.timeout),
    ]
    assert items[0].suggestion.startswith("Expected 2 but got 1: ")
    assert all(item.suggestion == SUGGESTIONS[item.category] for item in items[1:])


@pytest.mark.parametrize(
    ("message", "quoted"),
    [
        ("assert 3 == 4\n +  where 3 = add(1, 2)", "Expected 4 but got 3"),
        ("AssertionError: assert 'EUR' == 'USD'", "Expected 'USD' but got 'EUR'"),
        ("AssertionError: expected 200, but got 500.", "Expected 200 but got 500"),
        ("Expected: 4\nReceived: 3", "Expected 4 but got 3"),
    ],
)
def test_an_assertion_suggestion_quotes_the_values_compared(message: str, quoted: str) -> None:
    task = make_task("unit")
    case = TestCase(id="t::x", name="x", status=CaseStatus.failed, message=message)
    (item,) = diagnose([result_for(task, TaskOutcome.failed, [case])])
    assert item.category is Category.assertion
    assert item.suggestion.startswith(quoted + ": ")


def test_an_assertion_without_values_keeps_the_general_suggestion() -> None:
    task = make_task("unit")
    case = TestCase(id="t::x", name="x", status=CaseStatus.failed, message="assert not found")
    (item,) = diagnose([result_for(task, TaskOutcome.failed, [case])])
    assert item.suggestion == SUGGESTIONS[Category.assertion]
