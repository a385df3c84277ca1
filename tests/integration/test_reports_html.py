"""The HTML report in Debian's headless Chromium: no console errors, timeline, escaped output."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from rundir_builder import Job, T, build_run, sample_run

from qaagent.reporting import write_reports

CHROMIUM = os.environ.get("QAAGENT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason=f"no Chromium at {CHROMIUM}"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_report(browser: Browser, report: Path, problems: list[str]) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"{message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(("file:", "data:"))
            else problems.append(f"network: {request.url}")
        ),
    )
    page.goto(report.as_uri())
    return page


def test_report_renders_without_errors_and_shows_the_timeline(
    browser: Browser, tmp_path: Path
) -> None:
    run_dir = sample_run(tmp_path / "runs")
    (report,) = write_reports(run_dir, ["html"], environ={})
    problems: list[str] = []
    page = open_report(browser, report, problems)
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert page.locator("#run-status").inner_text().lower() == "error"
    bars = page.locator("#timeline .bar")
    assert bars.count() == 3
    assert [bars.nth(index).get_attribute("data-task") for index in range(3)] == [
        "unit",
        "behave",
        "evals[model=haiku]",
    ]
    assert page.locator("#timeline .lane").count() == 2
    unit_box = bars.nth(0).bounding_box()
    evals_box = bars.nth(2).bounding_box()
    assert unit_box is not None and evals_box is not None
    assert evals_box["x"] > unit_box["x"] + unit_box["width"] * 0.8
    rows = page.locator("#tasks tr.task-row")
    assert rows.all_inner_texts()[0].startswith("unit")
    assert [rows.nth(index).get_attribute("data-outcome") for index in range(3)] == [
        "failed",
        "passed",
        "timed-out",
    ]
    failures = page.locator("#failures details.failure")
    assert failures.count() == 2
    assert "killed: timeout" in failures.nth(1).inner_text()
    assert page.locator("#flaky").inner_text().count("test_discount") == 1
    assert problems == []


def test_tool_output_is_shown_as_text_not_markup(browser: Browser, tmp_path: Path) -> None:
    hostile = '<script>console.error("injected")</script><img src="http://example.invalid/x.png">'
    run_dir = build_run(
        tmp_path / "runs",
        "r1",
        [
            Job(
                "unit",
                tests=[
                    T("t::x", ["failed"], message=hostile, output=hostile + "\x1b[31m red\x1b[0m")
                ],
            )
        ],
    )
    (report,) = write_reports(run_dir, ["html"], environ={})
    problems: list[str] = []
    page = open_report(browser, report, problems)
    assert page.locator("#failures pre.output").inner_text() == hostile + " red"
    assert page.locator("#failures img").count() == 0
    assert problems == []


def test_clicking_a_bar_highlights_its_task_and_the_filter_hides_passed(
    browser: Browser, tmp_path: Path
) -> None:
    (report,) = write_reports(sample_run(tmp_path / "runs"), ["html"], environ={})
    problems: list[str] = []
    page = open_report(browser, report, problems)
    page.locator('#timeline .bar[data-task="behave"]').click()
    assert page.locator("tr.task-row.highlight").get_attribute("data-task") == "behave"
    page.locator("#only-problems").check()
    assert page.locator("tr.task-row:visible").count() == 2
    assert problems == []
