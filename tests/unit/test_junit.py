"""The JUnit parser on files written by real pytest, behave and Playwright runs, and broken ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qaagent.model.outcomes import CaseStatus, Counts
from qaagent.tools.junit import MAX_OUTPUT_CHARS, parse_junit

SAMPLES = Path(__file__).parents[1] / "fixtures" / "junit"
ARROW = "\u203a"  # Playwright joins describe titles with " \u203a "


def sample(name: str) -> Path:
    return SAMPLES / name


def statuses(path: Path) -> dict[str, str]:
    report = parse_junit([path])
    assert report.errors == []
    return {case.id: case.status.value for case in report.cases}


def test_pytest_with_plugin_uses_node_ids_and_counts_like_pytest() -> None:
    report = parse_junit([sample("pytest-qaagent-plugin.xml")])

    # pytest's summary: 2 failed, 6 passed, 1 skipped, 1 xfailed, 1 xpassed, 1 error
    assert Counts.of(report.cases) == Counts(passed=7, failed=2, errors=1, skipped=2)
    ids = [case.id for case in report.cases]
    assert "tests/test_outcomes.py::test_parametrized[with [brackets]]" in ids
    assert "tests/test_outcomes.py::test_parametrized[with space]" in ids
    assert "tests/test_outcomes.py::TestOuter::TestInner::test_nested_odd[2]" in ids


def test_pytest_line_property_wins_over_zero_based_attribute() -> None:
    cases = {case.name: case for case in parse_junit([sample("pytest-qaagent-plugin.xml")]).cases}

    assert cases["test_passes"].line == 4
    assert cases["test_passes"].file == "tests/test_outcomes.py"
    assert cases["test_passes"].properties["owner"] == "team-a"


def test_pytest_failure_message_and_output() -> None:
    cases = {case.name: case for case in parse_junit([sample("pytest-qaagent-plugin.xml")]).cases}

    failed = cases["test_fails"]
    assert failed.status is CaseStatus.failed
    assert failed.message is not None and failed.message.startswith("AssertionError: fruit")
    assert failed.output is not None and "tests/test_outcomes.py:9: AssertionError" in failed.output
    assert cases["test_fixture_error"].status is CaseStatus.error
    assert cases["test_expected_failure"].message == "known bug 12"


def test_pytest_without_plugin_falls_back_to_classname_and_name() -> None:
    found = statuses(sample("pytest-plain-xunit2.xml"))

    assert found["tests.test_outcomes.TestOuter.TestInner::test_nested_odd[2]"] == "failed"
    assert found["tests.test_outcomes::test_parametrized[with::colons]"] == "passed"


def test_collection_error_and_duplicate_names_from_teardown() -> None:
    report = parse_junit([sample("pytest-collection-and-teardown-errors.xml")])

    # pytest's summary: 1 failed, 2 errors
    assert Counts.of(report.cases) == Counts(failed=1, errors=2)
    ids = [case.id for case in report.cases]
    assert len(set(ids)) == len(ids)
    teardown = report.cases[-1]
    assert teardown.id == "tests.test_teardown::test_fails_and_teardown_errors #2"
    assert teardown.repeat == 2
    assert teardown.test_key == report.cases[-2].id
    assert "tests.test_broken_import" in ids


def test_behave_one_file_per_feature() -> None:
    report = parse_junit(sorted(SAMPLES.glob("behave-*.xml")))

    # behave's summary: 4 scenarios passed, 1 failed, 1 error, 1 skipped
    assert report.errors == []
    assert Counts.of(report.cases) == Counts(passed=4, failed=1, errors=1, skipped=1)
    by_name = {case.name: case for case in report.cases}
    assert by_name["Wrong total"].message == "expected 3, got 2"
    undefined = by_name["Checkout"]
    assert undefined.status is CaseStatus.error
    assert undefined.message == "Failing step: When I pay with bitcoin ... undefined in 0.000s"
    assert by_name["Add one item"].output is not None
    assert "adding 1" in by_name["Add one item"].output


def test_playwright_node_names_joined_with_arrows() -> None:
    report = parse_junit([sample("playwright-node.xml")])

    # Playwright's summary: 1 failed, 1 skipped, 3 passed
    assert Counts.of(report.cases) == Counts(passed=3, failed=1, skipped=1)
    failed = next(case for case in report.cases if case.status is CaseStatus.failed)
    assert failed.id == f"shop.spec.js::cart {ARROW} checkout {ARROW} shows total"
    assert failed.name == f"cart {ARROW} checkout {ARROW} shows total"
    assert failed.output is not None and "test-failed-1.png" in failed.output
    annotated = next(case for case in report.cases if case.name == "annotated")
    assert annotated.properties == {"issue": "SHOP-12"}


def test_pytest_playwright_records_screenshot_property() -> None:
    report = parse_junit([sample("pytest-playwright.xml")])

    # pytest's summary: 1 failed, 1 passed, 1 skipped
    assert Counts.of(report.cases) == Counts(passed=1, failed=1, skipped=1)
    failed = next(case for case in report.cases if case.status is CaseStatus.failed)
    assert failed.id == "test_page.py::test_total[chromium]"
    assert failed.properties["playwright_screenshot"].endswith("test-failed-1.png")


def test_nested_suites_properties_and_several_failures() -> None:
    report = parse_junit([sample("handmade-nested-suites.xml")])

    assert report.errors == []
    cases = {case.id: case for case in report.cases}
    bad = cases["api.orders::rejects a bad order"]
    assert bad.status is CaseStatus.failed
    assert bad.message == "status was 500\nbody was empty"
    assert bad.output is not None
    assert "expected 400" in bad.output and "expected an error body" in bad.output
    assert "--- system-err ---\nwarning: slow response" in bad.output
    assert bad.properties == {"browser": "none", "region": "us", "ticket": "SHOP-7"}
    assert bad.duration == 1234.5
    assert bad.file == "tests/api.test.ts"
    assert cases["api::health"].properties["region"] == "eu"
    assert cases["api::health"].duration == 0.0
    assert cases["api.orders::same name #2"].status is CaseStatus.error
    assert cases["api.orders::creates an order"].line == 12


def test_several_files_merge_and_keep_ids_unique() -> None:
    path = sample("pytest-qaagent-plugin.xml")
    report = parse_junit([path, path])

    ids = [case.id for case in report.cases]
    assert len(ids) == 24
    assert len(set(ids)) == 24
    assert report.files == [path, path]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("broken-empty.xml", "empty file"),
        ("broken-not-xml.xml", "invalid or truncated XML"),
        ("broken-html.xml", "not JUnit XML (root element <html>)"),
        ("missing.xml", "cannot be read"),
    ],
)
def test_broken_files_are_errors_naming_the_file(name: str, expected: str) -> None:
    report = parse_junit([sample(name)])

    assert report.cases == []
    assert len(report.errors) == 1
    assert name in report.errors[0]
    assert expected in report.errors[0]


def test_truncated_file_keeps_complete_cases_and_reports_error() -> None:
    report = parse_junit([sample("broken-truncated.xml")])

    assert len(report.errors) == 1
    assert "broken-truncated.xml: invalid or truncated XML" in report.errors[0]
    assert 0 < len(report.cases) < 12


def test_a_broken_file_does_not_hide_a_good_one() -> None:
    report = parse_junit([sample("broken-empty.xml"), sample("playwright-node.xml")])

    assert len(report.errors) == 1
    assert len(report.cases) == 5


def test_large_output_is_cut_in_the_middle(tmp_path: Path) -> None:
    body = "START" + "x" * (MAX_OUTPUT_CHARS * 3) + "END"
    path = tmp_path / "big.xml"
    path.write_text(
        f'<testsuite><testcase classname="c" name="n"><failure message="m">{body}'
        "</failure></testcase></testsuite>",
        encoding="utf-8",
    )

    (case,) = parse_junit([path]).cases

    assert case.output is not None
    assert case.output.startswith("START")
    assert case.output.endswith("END")
    assert "characters cut" in case.output
    assert len(case.output) < MAX_OUTPUT_CHARS + 100


def test_bare_testsuite_with_namespace_and_text_property(tmp_path: Path) -> None:
    path = tmp_path / "ns.xml"
    shutil.copy(sample("behave-TESTS-login.xml"), tmp_path / "plain.xml")
    path.write_text(
        '<testsuite xmlns="urn:x"><testcase name="lonely"><skipped/></testcase></testsuite>',
        encoding="utf-8",
    )

    report = parse_junit([path, tmp_path / "plain.xml"])

    assert [(case.id, case.status.value) for case in report.cases] == [
        ("lonely", "skipped"),
        ("login.Login::Good password", "passed"),
    ]
