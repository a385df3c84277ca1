"""Failure categories and suggestions."""

import pytest
from test_orchestrator import make_task, result_for

from qaagent.evidence.models import Category
from qaagent.runners.base import CaseStatus, SuiteResult, TaskOutcome, TestCase
from qaagent.runners.diagnostics import SUGGESTIONS, categorize, diagnose


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
    crashed = SuiteResult(
        task="e2e", suite="e2e", kind="command", outcome=TaskOutcome.error, error="no results"
    )
    timed_out = SuiteResult(
        task="slow", suite="slow", kind="command", outcome=TaskOutcome.timed_out
    )
    items = list(diagnose([failed, crashed, timed_out]))
    assert [(item.task, item.test_id, item.category) for item in items] == [
        ("unit", "t::bad", Category.assertion),
        ("unit", "t::flaky", Category.flaky),
        ("e2e", None, Category.unknown),
        ("slow", None, Category.timeout),
    ]
    assert all(item.suggestion == SUGGESTIONS[item.category] for item in items)
